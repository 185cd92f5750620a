package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.nd4j.linalg.activations.IActivation;

/**
 * Two-branch downsampling block (TDB): [B, Ci, H, W] -&gt; [B, Co, ceil(H/2), ceil(W/2)].
 *
 * <pre>y = act( BN1(Conv3x3 s2 p1 (Ci -&gt; Co, bias)(x)) + BN2(Conv1x1 (Ci -&gt; Co, bias)(MaxPool 2x2 s2 (x))) )</pre>
 * Odd H or W (which the official code cannot take): the convolution rounds up, and the max pool keeps the partial
 * window at the bottom/right edge (ceil mode, maximum over its real pixels), so both branches agree. For even maps
 * this is exactly the official block.
 * Vertex names (official {@code dsN}): {@code .conv}, {@code .norm1}, {@code .pool}, {@code .residual},
 * {@code .norm2}, {@code .add}, and the block name itself for the activated output.
 */
public final class TwoBranchDownsample {

    private final int inChannels;
    private final int outChannels;
    private final IActivation activation;

    public TwoBranchDownsample(int inChannels, int outChannels, IActivation activation) {
        Layers.requirePositive(inChannels, "TDB input channels");
        Layers.requirePositive(outChannels, "TDB output channels");
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.activation = activation;
    }

    /** Adds the TDB named {@code name}, reading {@code input}; returns {@code name}, its output vertex. */
    public String addTo(GraphBuilder g, String name, String input) {
        g.addLayer(name + ".conv", Layers.conv(inChannels, outChannels, 3, 2, true), input);
        g.addLayer(name + ".norm1", Layers.batchNorm(outChannels), name + ".conv");
        g.addLayer(name + ".pool", Layers.pool(PoolingType.MAX, 2, ConvolutionMode.Same), input);
        g.addLayer(name + ".residual", Layers.conv(inChannels, outChannels, 1, 1, true), name + ".pool");
        g.addLayer(name + ".norm2", Layers.batchNorm(outChannels), name + ".residual");
        Layers.add(g, name + ".add", name + ".norm1", name + ".norm2");
        g.addLayer(name, Layers.activation(activation), name + ".add");
        return name;
    }

    /** Trainable parameters: 10*Ci*Co + 6*Co. */
    public long parameters() {
        return 10L * inChannels * outChannels + 6L * outChannels;
    }
}
