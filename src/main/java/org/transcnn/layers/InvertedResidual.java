package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.nd4j.linalg.activations.IActivation;

/**
 * Inverted residual bottleneck (IRB) of TransCNN, without its outer residual: [B, C, H, W] -&gt; [B, C, H, W].
 *
 * <pre>
 * conv1: Conv1x1(C -&gt; eC, no bias) BN act
 * conv2: depthwise Conv kxk(eC, pad (k-1)/2, no bias) BN act, Dropout2d(dropRate)
 * conv3: Conv1x1(eC -&gt; C, no bias) BN, Dropout2d(dropRate)
 * </pre>
 * Vertex names under the prefix (official {@code blocks.s.i.conv}): {@code .conv1.0} conv, {@code .conv1.1} BN with
 * the activation fused into it (the official {@code .conv1.2} has no vertex of its own), likewise for conv2, and
 * {@code .conv3.0}, {@code .conv3.1} (no activation). Models saved by 0.1.0 have separate {@code .conv1.2} and
 * {@code .conv2.2} activation vertices; they still load and compute the same.
 */
public final class InvertedResidual {

    private final int channels;
    private final int hidden;
    private final int kernelSize;
    private final double dropRate;
    private final IActivation activation;

    /**
     * @param channels   C, input and output channels
     * @param expansion  e, hidden channels = e * C
     * @param kernelSize k, odd depthwise kernel size
     * @param dropRate   Dropout2d rate after the depthwise stage and after conv3, in [0, 1)
     * @param activation SiLU in the official model
     */
    public InvertedResidual(int channels, int expansion, int kernelSize, double dropRate, IActivation activation) {
        Layers.requirePositive(channels, "IRB channels");
        Layers.requirePositive(expansion, "IRB expansion");
        Layers.requirePositive(kernelSize, "IRB kernel size");
        if (kernelSize % 2 == 0) {
            throw new IllegalArgumentException("IRB kernel size must be odd, got " + kernelSize);
        }
        Layers.requireRate(dropRate, "IRB dropRate");
        this.channels = channels;
        this.hidden = channels * expansion;
        this.kernelSize = kernelSize;
        this.dropRate = dropRate;
        this.activation = activation;
    }

    /** Adds the IRB under {@code prefix}, reading {@code input}; returns the name of its output vertex. */
    public String addTo(GraphBuilder g, String prefix, String input) {
        g.addLayer(prefix + ".conv1.0", Layers.conv(channels, hidden, 1, 1, false), input);
        g.addLayer(prefix + ".conv1.1", BatchNorm.of(hidden, activation), prefix + ".conv1.0");
        g.addLayer(prefix + ".conv2.0", Layers.depthwise(hidden, kernelSize), prefix + ".conv1.1");
        g.addLayer(prefix + ".conv2.1", BatchNorm.of(hidden, activation), prefix + ".conv2.0");
        String mid = Layers.dropout2d(g, prefix + ".conv2.drop", prefix + ".conv2.1", dropRate);
        g.addLayer(prefix + ".conv3.0", Layers.conv(hidden, channels, 1, 1, false), mid);
        g.addLayer(prefix + ".conv3.1", Layers.batchNorm(channels), prefix + ".conv3.0");
        return Layers.dropout2d(g, prefix + ".conv3.drop", prefix + ".conv3.1", dropRate);
    }

    /** Trainable parameters (PyTorch count): 2*C*h + h*(k^2 + 4) + 2C. */
    public long parameters() {
        return 2L * channels * hidden + (long) hidden * (kernelSize * kernelSize + 4) + 2L * channels;
    }
}
