package org.transcnn.layers;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.layers.runtime.HMHSALayer;
import org.transcnn.layers.runtime.HMHSALayer;
import org.transcnn.layers.runtime.HMHSAParams;
import org.transcnn.layers.runtime.HMHSAParams;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Hierarchical multi-head self-attention (H-MHSA), the official {@code blocks.s.i.attn}, as one DL4J layer:
 * [B, C, H, W] -&gt; [B, C, H, W], n = C / headDim heads.
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
 * BatchNorm as PyTorch's BatchNorm2d (eps {@value BatchNorm#EPS}, momentum 0.1): batch statistics and the
 * running-statistics update in training, running statistics in inference; Dropout2d and drop path in training only
 * (masks drawn as DL4J's SpatialDropout and {@link DropPath} draw theirs). {@link #withResidual} makes it the official
 * block's first half, {@code x + DropPath(HMHSA(x))}, as TransCNN's blocks and {@link #insertAfter} use it.
 *
 * <p>Add it to any ComputationGraph with one call: {@code g.addLayer("attn", HMHSA.builder().channels(64)
 * .gridSize(8).dsRatio(8).inputSize(64, 64).build(), "in")}. Parameters (keys as the official module's,
 * {@code running_mean} and {@code running_var} shortened to {@code mean} and {@code var}), torch layouts, in this
 * order in the layer's parameter view:
 * <pre>
 * norm.weight, norm.bias [C]        qkv.weight [3C, C, 1, 1], qkv.bias [3C]
 * grid-norm.weight, grid-norm.bias [C]   q.weight [C, C, 1, 1], q.bias [C]      (grid &gt; 1 only)
 * ds-norm.weight, ds-norm.bias [C]   kv.weight [2C, C, 1, 1], kv.bias [2C]      (grid &gt; 1 only)
 * proj.weight [C, C, 1, 1], proj.bias [C]
 * norm.mean, norm.var, grid-norm.mean, grid-norm.var, ds-norm.mean, ds-norm.var [C]  (the last four grid &gt; 1 only)
 * </pre>
 * DL4J parameter keys cannot hold an underscore (DL4J splits {@code vertex_key} at the last one), so the official
 * {@code grid_norm} and {@code ds_norm} are written {@code grid-norm} and {@code ds-norm} ({@link #torchKey}).
 * With the residual the keys carry the official sub-module's prefix, {@code attn.norm.weight} ...; the running
 * statistics come last under a NoOp updater; weight decay applies to the four convolution weights only.
 *
 * <p>Why one layer, not eleven vertices: the fused runtime ({@link HMHSALayer}) keeps 6C values per pixel for the
 * backward pass instead of about 13C, and copies each map once into and out of Java instead of at every vertex.
 * {@link #addComposed} still builds the eleven vertices ({@code .norm}, {@code .qkv}, {@code .local},
 * {@code .local.add}, {@code .grid_norm}, {@code .q}, {@code .pool}, {@code .ds_norm}, {@code .kv}, {@code .global},
 * {@code .global.add}, {@code .proj}), which models saved before this layer hold.
 *
 * <p>To put H-MHSA into any CNN graph, use {@link #insertAfter}: it adds {@code x + HMHSA(x)} after a vertex and
 * reconnects that vertex's consumers.
 */
public class HMHSA extends FusedBlock {

    /** Parameter keys (see the class javadoc for the order). */
    public static final String NORM_W = "norm.weight";
    public static final String NORM_B = "norm.bias";
    public static final String QKV_W = "qkv.weight";
    public static final String QKV_B = "qkv.bias";
    public static final String GRID_NORM_W = "grid-norm.weight";
    public static final String GRID_NORM_B = "grid-norm.bias";
    public static final String Q_W = "q.weight";
    public static final String Q_B = "q.bias";
    public static final String DS_NORM_W = "ds-norm.weight";
    public static final String DS_NORM_B = "ds-norm.bias";
    public static final String KV_W = "kv.weight";
    public static final String KV_B = "kv.bias";
    public static final String PROJ_W = "proj.weight";
    public static final String PROJ_B = "proj.bias";
    public static final String NORM_M = "norm.mean";
    public static final String NORM_V = "norm.var";
    public static final String GRID_NORM_M = "grid-norm.mean";
    public static final String GRID_NORM_V = "grid-norm.var";
    public static final String DS_NORM_M = "ds-norm.mean";
    public static final String DS_NORM_V = "ds-norm.var";

    private int channels;
    private int headDim;
    private int gridSize;
    private int dsRatio;
    private int height;
    private int width;
    private double dropRate;
    /** Whether the layer adds its input to its output, {@code x + DropPath(HMHSA(x))}: the official block's start. */
    private boolean residual;
    private double dropPathRate;
    private double eps = BatchNorm.EPS;
    private double decay = BatchNorm.DECAY;

    /** For JSON deserialisation. */
    public HMHSA() {
    }

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

    /** Adds this layer (H-MHSA) as {@code name}, reading {@code input}; returns {@code name}. */
    public String addTo(GraphBuilder g, String name, String input) {
        g.addLayer(name, clone(), input);
        return name;
    }

    /**
     * A copy that adds its input to its output, {@code x + DropPath(HMHSA(x))} with the given drop path rate (per
     * sample, training only), as the official block's first half; its parameter keys then start with {@code attn.}.
     */
    public HMHSA withResidual(double dropPathRate) {
        Layers.requireRate(dropPathRate, "H-MHSA drop path rate");
        HMHSA copy = clone();
        copy.residual = true;
        copy.dropPathRate = dropPathRate;
        return copy;
    }

    /** A copy with other BatchNorm settings (eps, DL4J decay = 1 - PyTorch momentum) for all its norms. */
    public HMHSA withNorm(double eps, double decay) {
        if (!(eps > 0) || !(decay >= 0 && decay < 1)) {
            throw new IllegalArgumentException("H-MHSA BatchNorm needs eps > 0 and decay in [0, 1), got " + eps
                    + ", " + decay);
        }
        HMHSA copy = clone();
        copy.eps = eps;
        copy.decay = decay;
        return copy;
    }

    /**
     * The same H-MHSA as single-operation vertices under {@code prefix}, as releases up to 0.1.0 built it (see the
     * class javadoc), without the residual; returns the name of its output vertex.
     */
    String addComposed(GraphBuilder g, String prefix, String input) {
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
     * vertex (and network output) that read {@code after} reads {@code name} instead. {@code name} is one layer, this
     * H-MHSA with the residual (parameter keys {@code attn.*}, so {@code name + ".attn.norm.weight"} ... as the
     * official keys of a block named {@code name}). The block's channels, height and width must match the
     * activations of {@code after}.
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
        g.addLayer(name, withResidual(0), after);
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

    /** The parameter keys, in the order of the layer's parameter view ({@code attn.}-prefixed with the residual). */
    public List<String> parameterKeys() {
        return HMHSAParams.keys(this);
    }

    /** The key of the parameter {@code base} ({@link #NORM_W} ...) here: {@code attn.}-prefixed if residual. */
    public String key(String base) {
        return residual ? HMHSAParams.PREFIX + base : base;
    }

    /** The torch shape of the parameter {@code key} (one of {@link #parameterKeys()}). */
    public long[] parameterShape(String key) {
        if (!parameterKeys().contains(key)) {
            throw new IllegalArgumentException("H-MHSA has no parameter '" + key + "'; its keys are "
                    + parameterKeys());
        }
        return HMHSAParams.shape(this, key);
    }

    /**
     * The official state-dict key suffix of the parameter {@code key}: {@code -} back to {@code _}, and the running
     * statistics {@code .mean}, {@code .var} as {@code .running_mean}, {@code .running_var}.
     */
    public static String torchKey(String key) {
        return InvertedResidual.torchKey(key).replace('-', '_');
    }

    /** Multiply-adds per image of the 1x1 convolutions (qkv, q, kv, proj). */
    public long convolutionMultiplyAdds() {
        long c = channels;
        long pixels = (long) height * width;
        if (gridSize == 1) {
            return 4 * c * c * pixels;
        }
        return 5 * c * c * pixels + 2 * c * c * (long) (height / dsRatio) * (width / dsRatio);
    }

    /** Multiply-adds per image: the 1x1 convolutions and the attention products (windows cut by an edge as held). */
    public long multiplyAdds() {
        long c = channels;
        long pixels = (long) height * width;
        if (gridSize == 1) {
            return convolutionMultiplyAdds() + 2 * c * pixels * pixels;
        }
        long pooled = (long) (height / dsRatio) * (width / dsRatio);
        long windowTokens = 0;
        for (int y = 0; y < height; y += gridSize) {
            for (int x = 0; x < width; x += gridSize) {
                long n = (long) Math.min(gridSize, height - y) * Math.min(gridSize, width - x);
                windowTokens += n * n;
            }
        }
        return convolutionMultiplyAdds() + 2 * c * windowTokens + 2 * c * pixels * pooled;
    }

    /** Whether windows are cut by the bottom or right edge (H or W not a multiple of the grid size). */
    public boolean cutsEdgeWindows() {
        return gridSize > 1 && (height % gridSize != 0 || width % gridSize != 0);
    }

    public int getChannels() {
        return channels;
    }

    public int getHeadDim() {
        return headDim;
    }

    public int getGridSize() {
        return gridSize;
    }

    public int getDsRatio() {
        return dsRatio;
    }

    public int getHeight() {
        return height;
    }

    public int getWidth() {
        return width;
    }

    public double getDropRate() {
        return dropRate;
    }

    public boolean isResidual() {
        return residual;
    }

    public double getDropPathRate() {
        return dropPathRate;
    }

    public double getEps() {
        return eps;
    }

    /** DL4J decay of the running statistics (PyTorch momentum = 1 - decay). */
    public double getDecay() {
        return decay;
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
            Collection<TrainingListener> listeners, int layerIndex, INDArray paramsView, boolean initializeParams,
            DataType networkDataType) {
        return Layers.instantiate(new HMHSALayer(conf, networkDataType), conf, listeners, layerIndex, paramsView,
                initializeParams, initializer());
    }

    @Override
    public ParamInitializer initializer() {
        return HMHSAParams.INSTANCE;
    }

    @Override
    void requireInput(InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeConvolutional)) {
            throw new IllegalArgumentException("H-MHSA " + getLayerName() + " expects convolutional input [" + channels
                    + ", " + height + ", " + width + "], got " + inputType);
        }
        InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) inputType;
        if (c.getChannels() != channels || c.getHeight() != height || c.getWidth() != width) {
            throw new IllegalArgumentException("H-MHSA " + getLayerName() + " expects input [C, H, W] = [" + channels
                    + ", " + height + ", " + width + "], got [" + c.getChannels() + ", " + c.getHeight() + ", "
                    + c.getWidth() + "]");
        }
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        long pixels = (long) height * width;
        long params = initializer().numParams(this);
        return new LayerMemoryReport.Builder(getLayerName(), HMHSA.class, inputType, inputType)
                .standardMemory(params, 2 * params)
                .workingMemory(0, 6L * channels * pixels, 0, 12L * channels * pixels)
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
    }

    @Override
    public HMHSA clone() {
        return (HMHSA) super.clone();
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
