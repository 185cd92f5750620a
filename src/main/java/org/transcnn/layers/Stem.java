package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.nd4j.linalg.activations.IActivation;

/**
 * Patch embedding stem: [B, Cin, H, W] -&gt; [B, C1, H/4, W/4] (official), or [B, C1, H/2, W/2] with the first
 * convolution at stride 1 (for small images; same parameters).
 *
 * <pre>Conv3x3 s2 p1 (Cin -&gt; 16, bias) BN act Conv3x3 s2 p1 (16 -&gt; C1, bias)</pre>
 * Vertex names (official {@code patch_embed}): {@code .0} conv, {@code .1} BN with the activation fused into it (the
 * official {@code .2}; 0.1.0 models have it as a vertex of its own), {@code .3} conv.
 */
public final class Stem {

    /** Channels between the two stem convolutions in the official model. */
    public static final int HIDDEN = 16;

    private final int inChannels;
    private final int outChannels;
    private final IActivation activation;
    private final int stride;

    /** The official stem, of stride 4. */
    public Stem(int inChannels, int outChannels, IActivation activation) {
        this(inChannels, outChannels, activation, 4);
    }

    /** A stem of total stride {@code stride}: 4 (official) or 2 (the first convolution at stride 1). */
    public Stem(int inChannels, int outChannels, IActivation activation, int stride) {
        Layers.requirePositive(inChannels, "stem input channels");
        Layers.requirePositive(outChannels, "stem output channels");
        if (stride != 2 && stride != 4) {
            throw new IllegalArgumentException("stem stride must be 4 (official) or 2, got " + stride);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.activation = activation;
        this.stride = stride;
    }

    /** Adds the stem under {@code prefix}, reading {@code input}; returns the name of its output vertex. */
    public String addTo(GraphBuilder g, String prefix, String input) {
        g.addLayer(prefix + ".0", Layers.conv(inChannels, HIDDEN, 3, stride / 2, true), input);
        g.addLayer(prefix + ".1", BatchNorm.of(HIDDEN, activation), prefix + ".0");
        g.addLayer(prefix + ".3", Layers.conv(HIDDEN, outChannels, 3, 2, true), prefix + ".1");
        return prefix + ".3";
    }

    /** Trainable parameters: 9*16*Cin + 16 + 32 + 9*16*C1 + C1 (= 480 + 145*C1 for RGB). */
    public long parameters() {
        return 9L * HIDDEN * inChannels + HIDDEN + 2L * HIDDEN + 9L * HIDDEN * outChannels + outChannels;
    }
}
