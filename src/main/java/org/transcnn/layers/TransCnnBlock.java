package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;

/**
 * One TransCNN block: {@code x = x + DropPath(HMHSA(x)); x = x + DropPath(IRB(x))}, [B, C, H, W] -&gt; same.
 *
 * <p>Vertex names under the block name (official {@code blocks.s.i}): {@code .res1}, the fused {@link HMHSA} with
 * its residual and drop path ({@link HMHSA#withResidual}), whose parameter keys start with {@code attn.}, and the
 * block name itself for the output: the fused {@link InvertedResidual} with its residual and drop path
 * ({@link InvertedResidual#withResidual}), whose parameter keys start with {@code conv.}. With another activation than
 * SiLU the IRB is composed instead: {@code .conv.*},
 * {@code .conv.drop_path} and the sum named after the block.
 */
public final class TransCnnBlock {

    /** The suffix of the block's first half, {@code x + DropPath(HMHSA(x))}, after the block name. */
    public static final String RES1 = ".res1";

    private final HMHSA attention;
    private final InvertedResidual conv;
    private final double dropPathRate;

    /** @param attention the H-MHSA of the block, or null for an IRB-only block (the ablation, or a stage without it) */
    public TransCnnBlock(HMHSA attention, InvertedResidual conv, double dropPathRate) {
        Layers.requireRate(dropPathRate, "drop path rate");
        this.attention = attention;
        this.conv = conv;
        this.dropPathRate = dropPathRate;
    }

    /** Adds the block named {@code name}, reading {@code input}; returns {@code name}, its output vertex. */
    public String addTo(GraphBuilder g, String name, String input) {
        String x = input;
        if (attention != null) {
            // one layer: x + DropPath(HMHSA(x)), its keys attn.* (official blocks.s.i.attn.*)
            x = name + RES1;
            g.addLayer(x, attention.withResidual(dropPathRate), input);
        }
        if (InvertedResidual.supports(conv.getActivation())) {
            // one layer: x + DropPath(IRB(x))
            g.addLayer(name, conv.withResidual(dropPathRate), x);
            return name;
        }
        String c = conv.addTo(g, name + ".conv", x);
        c = Layers.dropPath(g, name + ".conv.drop_path", c, dropPathRate);
        return Layers.add(g, name, x, c);
    }

    public long parameters() {
        return (attention == null ? 0 : attention.parameters()) + conv.parameters();
    }
}
