package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.layers.PoolingType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Hierarchical multi-head self-attention (H-MHSA): [B, C, H, W] -&gt; [B, C, H, W], n = C / headDim heads.
 *
 * <pre>
 * grid size G &gt; 1:
 *   qkv = Conv1x1(C -&gt; 3C)(BN[norm](x));  L = window attention over G x G windows (WindowAttentionCore)
 *   X1  = BN[grid_norm](x + L)
 *   A   = attention of Conv1x1[q](X1) to Conv1x1[kv](BN[ds_norm](AvgPool r (X1)))  (GlobalAttentionCore)
 *   out = Dropout2d(Conv1x1[proj](A + X1))
 * grid size 1 (plain global attention):
 *   out = Dropout2d(Conv1x1[proj](self-attention of Conv1x1[qkv](BN[norm](x))))
 * </pre>
 * Any input size: when H or W is not a multiple of G, the window step pads the map and masks the padding (see
 * {@link WindowAttentionCore}); the global step pools the unpadded X1 as the official code does (AvgPool r x r,
 * remainder rows/columns dropped), so no padded token ever reaches it.
 *
 * <p>Vertex names under the prefix mirror the official {@code blocks.s.i.attn}: {@code .norm}, {@code .qkv},
 * {@code .grid_norm}, {@code .q}, {@code .ds_norm}, {@code .kv}, {@code .proj}, plus the parameter-free
 * {@code .local}, {@code .local.add}, {@code .pool}, {@code .global}, {@code .global.add}.
 *
 * <p>To put H-MHSA into any CNN graph, use {@link #insertAfter}: it adds {@code x + HMHSA(x)} after a vertex and
 * reconnects that vertex's consumers.
 */
public final class HMHSA {

    private final int channels;
    private final int headDim;
    private final int gridSize;
    private final int dsRatio;
    private final int height;
    private final int width;
    private final double dropRate;

    private HMHSA(Builder b) {
        Layers.requirePositive(b.channels, "H-MHSA channels");
        Layers.requirePositive(b.headDim, "H-MHSA headDim");
        Layers.requirePositive(b.gridSize, "H-MHSA gridSize");
        Layers.requirePositive(b.dsRatio, "H-MHSA dsRatio");
        Layers.requirePositive(b.height, "H-MHSA input height");
        Layers.requirePositive(b.width, "H-MHSA input width");
        Layers.requireRate(b.dropRate, "H-MHSA dropRate");
        if (b.channels % b.headDim != 0) {
            throw new IllegalArgumentException("H-MHSA channels " + b.channels + " are not divisible by headDim "
                    + b.headDim);
        }
        if (b.gridSize > 1 && (b.height / b.dsRatio < 1 || b.width / b.dsRatio < 1)) {
            throw new IllegalArgumentException("H-MHSA pooling ratio " + b.dsRatio
                    + " is larger than the input " + b.height + "x" + b.width + " (HxW)");
        }
        this.channels = b.channels;
        this.headDim = b.headDim;
        this.gridSize = b.gridSize;
        this.dsRatio = b.dsRatio;
        this.height = b.height;
        this.width = b.width;
        this.dropRate = b.dropRate;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Adds H-MHSA under {@code prefix}, reading {@code input}; returns the name of its output vertex. */
    public String addTo(GraphBuilder g, String prefix, String input) {
        int c = channels;
        int heads = c / headDim;
        g.addLayer(prefix + ".norm", Layers.batchNorm(c), input);
        g.addLayer(prefix + ".qkv", Layers.conv(c, 3 * c, 1, 1, true), prefix + ".norm");
        String attended;
        if (gridSize == 1) {
            g.addVertex(prefix + ".global", GlobalAttentionCore.fused(heads, headDim, height, width), prefix + ".qkv");
            attended = prefix + ".global";
        } else {
            g.addVertex(prefix + ".local", new WindowAttentionCore(heads, headDim, gridSize, height, width),
                    prefix + ".qkv");
            Layers.add(g, prefix + ".local.add", input, prefix + ".local");
            g.addLayer(prefix + ".grid_norm", Layers.batchNorm(c), prefix + ".local.add");
            String x1 = prefix + ".grid_norm";
            g.addLayer(prefix + ".q", Layers.conv(c, c, 1, 1, true), x1);
            String pooled = x1;
            if (dsRatio > 1) {
                g.addLayer(prefix + ".pool", Layers.pool(PoolingType.AVG, dsRatio), x1);
                pooled = prefix + ".pool";
            }
            g.addLayer(prefix + ".ds_norm", Layers.batchNorm(c), pooled);
            g.addLayer(prefix + ".kv", Layers.conv(c, 2 * c, 1, 1, true), prefix + ".ds_norm");
            g.addVertex(prefix + ".global", GlobalAttentionCore.pooled(heads, headDim, height, width,
                    height / dsRatio, width / dsRatio), prefix + ".q", prefix + ".kv");
            attended = Layers.add(g, prefix + ".global.add", prefix + ".global", x1);
        }
        g.addLayer(prefix + ".proj", Layers.conv(c, c, 1, 1, true), attended);
        return Layers.dropout2d(g, prefix + ".drop", prefix + ".proj", dropRate);
    }

    /**
     * Inserts the residual block {@code y = x + HMHSA(x)} after vertex {@code after} of an existing graph: every
     * vertex (and network output) that read {@code after} reads {@code name} instead. The H-MHSA vertices are
     * named {@code name + ".attn.*"}; {@code name} is the residual sum. The block's channels, height and width must
     * match the activations of {@code after}.
     */
    public String insertAfter(GraphBuilder g, String after, String name) {
        Map<String, List<String>> inputs = g.getVertexInputs();
        if (!g.getVertices().containsKey(after) && !g.getNetworkInputs().contains(after)) {
            throw new IllegalArgumentException("cannot insert H-MHSA after '" + after
                    + "': no such vertex or input in the graph");
        }
        if (g.getVertices().containsKey(name)) {
            throw new IllegalArgumentException("cannot insert H-MHSA as '" + name + "': the name is taken");
        }
        List<String> consumers = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : inputs.entrySet()) {
            if (e.getValue().contains(after)) {
                consumers.add(e.getKey());
            }
        }
        String out = addTo(g, name + ".attn", after);
        Layers.add(g, name, after, out);
        for (String consumer : consumers) {
            List<String> in = new ArrayList<>(inputs.get(consumer));
            in.replaceAll(s -> s.equals(after) ? name : s);
            inputs.put(consumer, in);
        }
        List<String> outputs = g.getNetworkOutputs();
        outputs.replaceAll(s -> s.equals(after) ? name : s);
        return name;
    }

    /** Trainable parameters: 7C^2 + 13C (G &gt; 1) or 4C^2 + 6C (G = 1). */
    public long parameters() {
        long c = channels;
        return gridSize > 1 ? 7 * c * c + 13 * c : 4 * c * c + 6 * c;
    }

    /** Builder; channels, height and width are required, headDim defaults to 64, gridSize to 1 (global). */
    public static final class Builder {
        private int channels;
        private int headDim = 64;
        private int gridSize = 1;
        private int dsRatio = 1;
        private int height;
        private int width;
        private double dropRate;

        private Builder() {
        }

        /** Channels C of the input and output. */
        public Builder channels(int channels) {
            this.channels = channels;
            return this;
        }

        /** Channels per head d (heads = C / d). */
        public Builder headDim(int headDim) {
            this.headDim = headDim;
            return this;
        }

        /** Window side G of the grid attention step; 1 means plain global attention only. */
        public Builder gridSize(int gridSize) {
            this.gridSize = gridSize;
            return this;
        }

        /**
         * Average-pooling ratio r for the keys/values of the global step (used when gridSize &gt; 1): the official
         * {@code ds_ratios} entry of the stage, as {@code TransCnnConfig.dsRatios}.
         */
        public Builder dsRatio(int dsRatio) {
            this.dsRatio = dsRatio;
            return this;
        }

        /** @deprecated the same as {@link #dsRatio}, named as the official code and TransCnnConfig name it. */
        @Deprecated
        public Builder poolRatio(int poolRatio) {
            return dsRatio(poolRatio);
        }

        /** Height and width of the input map. */
        public Builder inputSize(int height, int width) {
            this.height = height;
            this.width = width;
            return this;
        }

        /** Dropout2d rate on the output projection. */
        public Builder dropRate(double dropRate) {
            this.dropRate = dropRate;
            return this;
        }

        public HMHSA build() {
            return new HMHSA(this);
        }
    }
}
