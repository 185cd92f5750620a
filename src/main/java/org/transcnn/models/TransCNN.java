package org.transcnn.models;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.IWeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.transcnn.layers.HMHSA;
import org.transcnn.layers.InputCheckVertex;
import org.transcnn.layers.InvertedResidual;
import org.transcnn.layers.Stem;
import org.transcnn.layers.TransCnnBlock;
import org.transcnn.layers.TruncatedNormalInit;
import org.transcnn.layers.TwoBranchDownsample;

/**
 * Zoo-style builder of TransCNN as a DL4J {@link ComputationGraph}.
 *
 * <pre>{@code
 * ComputationGraph net = TransCNN.builder(Preset.SMALL).numClasses(10).inputSize(256, 256).seed(42).build().init();
 * }</pre>
 *
 * <p>Input {@value #INPUT}: [B, inChannels, H, W] (NCHW). Vertex names mirror the official module paths:
 * {@code patch_embed.0..3}, {@code blocks.s.i.res1} (the fused H-MHSA with its residual, keys {@code attn.*}),
 * {@code blocks.s.i} (the fused IRB with its residual, keys {@code conv.*}), {@code ds2..ds4}, and the
 * classifier {@value #LOGITS} (logits) followed by the softmax cross-entropy output {@value #OUTPUT} (all in
 * {@link VertexNames}). The output of the stage with index s (0..3) is the vertex {@link #stageVertex(int)};
 * without a head (0 classes) the network output is the pooled embedding {@value #POOL}.
 */
public final class TransCNN {

    /** Vertex names, as {@link VertexNames} defines them. */
    public static final String INPUT = VertexNames.INPUT;
    public static final String INPUT_CHECK = VertexNames.INPUT_CHECK;
    public static final String STEM = VertexNames.STEM;
    public static final String POOL = VertexNames.POOL;
    public static final String HEAD_DROPOUT = VertexNames.HEAD_DROPOUT;
    public static final String LOGITS = VertexNames.LOGITS;
    public static final String OUTPUT = VertexNames.OUTPUT;

    private final TransCnnConfig config;
    private final long seed;
    private final IUpdater updater;
    private final IWeightInit weightInit;
    private final double weightDecay;
    private final DataType dataType;
    private final WorkspaceMode workspaceMode;
    private final int[] outIndices;

    /**
     * One output of a features-only network (timm's {@code feature_info}): stage index (0..3, as in
     * {@link Builder#featuresOnly}), vertex name, channels and total stride.
     */
    public record FeatureInfo(int index, String vertex, int channels, int reduction) {

        /** @deprecated 1-based; use {@link #index()} (0-based, as every stage index of this library). */
        @Deprecated
        public int stage() {
            return index + 1;
        }
    }

    private TransCNN(Builder b) {
        this.config = b.toConfig();
        this.seed = b.seed;
        this.updater = b.updater;
        this.weightInit = b.weightInit;
        this.weightDecay = b.weightDecay;
        this.dataType = b.dataType;
        this.workspaceMode = b.workspaceMode;
        this.outIndices = b.outIndices == null ? null : b.outIndices.clone();
        if (outIndices != null) {
            if (outIndices.length == 0) {
                throw new IllegalArgumentException("featuresOnly needs at least one stage index (0..3)");
            }
            for (int i = 0; i < outIndices.length; i++) {
                if (outIndices[i] < 0 || outIndices[i] > 3 || (i > 0 && outIndices[i] <= outIndices[i - 1])) {
                    throw new IllegalArgumentException("featuresOnly stage indices must be ascending, distinct and in "
                            + "0..3 (stride 4, 8, 16, 32), got " + java.util.Arrays.toString(outIndices));
                }
            }
        }
        if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) {
            throw new IllegalArgumentException("dataType must be FLOAT or DOUBLE, got " + dataType);
        }
        if (updater == null || weightInit == null || workspaceMode == null) {
            throw new IllegalArgumentException("updater, weightInit, dataType and workspaceMode must not be null");
        }
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay);
        }
    }

    /** Builder starting from a preset's official configuration (1000 classes, RGB, 256x256). */
    public static Builder builder(Preset preset) {
        return new Builder(preset.config());
    }

    /** Builder starting from any configuration. */
    public static Builder builder(TransCnnConfig config) {
        return new Builder(config);
    }

    public TransCnnConfig config() {
        return config;
    }

    /** Whether this is a features-only backbone (see {@link Builder#featuresOnly}): no pooling, no head. */
    public boolean isFeaturesOnly() {
        return outIndices != null;
    }

    /**
     * Name of the vertex holding the output of the stage with index {@code index} (0..3, stride 4 .. 32): the sum
     * ending its last block, {@code blocks.<index>.<depth-1>}.
     */
    public String stageVertex(int index) {
        return stageVertex(config, index);
    }

    /** {@link #stageVertex(int)} of a network with configuration {@code config}. */
    public static String stageVertex(TransCnnConfig config, int index) {
        if (index < 0 || index > 3) {
            throw new IllegalArgumentException("stage index must be 0..3, got " + index);
        }
        return VertexNames.block(index, config.depths()[index] - 1);
    }

    /** @deprecated 1-based; use {@link #stageVertex(int)} with {@code stage - 1}. */
    @Deprecated
    public String stageOutput(int stage) {
        return stageOutput(config, stage);
    }

    /** @deprecated 1-based; use {@link #stageVertex(TransCnnConfig, int)} with {@code stage - 1}. */
    @Deprecated
    public static String stageOutput(TransCnnConfig config, int stage) {
        if (stage < 1 || stage > 4) {
            throw new IllegalArgumentException("stage must be 1..4, got " + stage);
        }
        return stageVertex(config, stage - 1);
    }

    /**
     * The vertex that {@link TransferLearning.GraphBuilder#setFeatureExtractor} takes to freeze the stem and the
     * first {@code count} stages (0..4) of a TransCNN graph: {@code patch_embed.3} for 0, else the last block of
     * stage index {@code count - 1}. Read from the vertex names of {@code conf}, so it also works on features-only
     * graphs and on graphs already edited with TransferLearning.
     */
    public static String freezeBoundary(ComputationGraphConfiguration conf, int count) {
        if (count < 0 || count > 4) {
            throw new IllegalArgumentException("stage count must be 0 (the stem only) .. 4, got " + count);
        }
        String name = count == 0 ? VertexNames.STEM_OUTPUT : VertexNames.block(count - 1, 0);
        if (!conf.getVertices().containsKey(name)) {
            throw new IllegalArgumentException("the graph has no vertex '" + name + "' (" + (count == 0 ? "the stem"
                    : "stage index " + (count - 1)) + "): not a TransCNN graph, or a features-only graph that ends "
                    + "before it");
        }
        int depth = 1;
        while (count > 0 && conf.getVertices().containsKey(VertexNames.block(count - 1, depth))) {
            depth++;
        }
        return count == 0 ? name : VertexNames.block(count - 1, depth - 1);
    }

    /**
     * A copy of {@code net} with the stem and the first {@code count} stages frozen (0 = the stem only, 4 =
     * everything before the pooling and head: a linear probe), made with DL4J's
     * {@code TransferLearning.GraphBuilder.setFeatureExtractor(freezeBoundary(count))}. Frozen layers become
     * {@code FrozenLayer}s: their parameters, BatchNorm running statistics included, do not change in {@code fit},
     * and they always run in inference mode (BatchNorm on running statistics, no dropout or drop path), as timm's
     * {@code freeze} with BatchNorm in eval mode. {@code net} itself is unchanged (its parameters are copied; the
     * updater state is not).
     */
    public static ComputationGraph freezeStages(ComputationGraph net, int count) {
        return new TransferLearning.GraphBuilder(net)
                .setFeatureExtractor(freezeBoundary(net.getConfiguration(), count))
                .build();
    }

    /** @deprecated the same as {@link #freezeStages}, whose name says that its argument counts stages. */
    @Deprecated
    public static ComputationGraph freezeThrough(ComputationGraph net, int stage) {
        return freezeStages(net, stage);
    }

    /**
     * The outputs of a features-only network (see {@link Builder#featuresOnly}), in output order; for a classifier,
     * the four stage outputs it computes on the way (not network outputs).
     */
    public java.util.List<FeatureInfo> featureInfo() {
        int[] stages = outIndices == null ? new int[] {0, 1, 2, 3} : outIndices;
        java.util.List<FeatureInfo> out = new java.util.ArrayList<>();
        for (int s : stages) {
            out.add(new FeatureInfo(s, stageVertex(s), config.dim(s), config.reduction(s)));
        }
        return out;
    }

    /** The graph configuration (no parameters allocated). */
    public ComputationGraphConfiguration graphConfiguration() {
        TransCnnConfig c = config;
        IActivation act = c.activation().create();
        NeuralNetConfiguration.Builder global = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(dataType)
                .updater(updater)
                .weightInit(weightInit)
                .trainingWorkspaceMode(workspaceMode)
                .inferenceWorkspaceMode(workspaceMode);
        if (weightDecay > 0) {
            global.regularization(java.util.List.of(new DecoupledWeightDecay(weightDecay)));
        }
        GraphBuilder g = global.graphBuilder().addInputs(INPUT)
                .setInputTypes(InputType.convolutional(c.height(), c.width(), c.inChannels()));
        g.addVertex(INPUT_CHECK, new InputCheckVertex(c.inChannels(), c.height(), c.width()), INPUT);
        String x = new Stem(c.inChannels(), c.dim(0), act, c.stemStride()).addTo(g, STEM, INPUT_CHECK);
        int block = 0;
        int lastStage = outIndices == null ? 3 : outIndices[outIndices.length - 1];
        for (int s = 0; s <= lastStage; s++) {
            if (s > 0) {
                x = new TwoBranchDownsample(c.dim(s - 1), c.dim(s), act).addTo(g, VertexNames.downsample(s), x);
            }
            HMHSA attn = !c.attention(s) ? null : HMHSA.builder()
                    .channels(c.dim(s))
                    .headDim(c.headDim())
                    .gridSize(c.gridSizes()[s])
                    .dsRatio(c.dsRatios()[s])
                    .inputSize(c.stageHeight(s), c.stageWidth(s))
                    .dropRate(c.dropRate())
                    .build();
            InvertedResidual irb = new InvertedResidual(c.dim(s), c.expansions()[s], c.kernelSizes()[s],
                    c.dropRate(), act);
            for (int i = 0; i < c.depths()[s]; i++) {
                x = new TransCnnBlock(attn, irb, c.blockDropPathRate(block++))
                        .addTo(g, VertexNames.block(s, i), x);
            }
        }
        if (outIndices != null) {
            g.setOutputs(featureInfo().stream().map(FeatureInfo::vertex).toArray(String[]::new));
            g.allowNoOutput(true).validateOutputLayerConfig(false);
            return g.build();
        }
        g.addLayer(POOL, new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), x);
        if (c.numClasses() == 0) {
            g.setOutputs(POOL);
            g.allowNoOutput(true).validateOutputLayerConfig(false);
        } else {
            String features = POOL;
            if (c.headDropRate() > 0) {
                g.addLayer(HEAD_DROPOUT, new DropoutLayer.Builder(new Dropout(1.0 - c.headDropRate())).build(), POOL);
                features = HEAD_DROPOUT;
            }
            g.addLayer(LOGITS, new DenseLayer.Builder().nIn(c.dim(3)).nOut(c.numClasses())
                    .activation(Activation.IDENTITY).build(), features);
            // with its size given, DL4J does not infer a feed-forward type of size 0 for it (and WARN about that)
            LossLayer loss = new LossLayer.Builder(LossFunctions.LossFunction.MCXENT).activation(Activation.SOFTMAX)
                    .build();
            loss.setNIn(c.numClasses());
            loss.setNOut(c.numClasses());
            g.addLayer(OUTPUT, loss, LOGITS);
            g.setOutputs(OUTPUT);
        }
        return g.build();
    }

    /** Builds and initialises the network (weights drawn from {@code weightInit} with {@code seed}). */
    public ComputationGraph init() {
        ComputationGraph net = new ComputationGraph(graphConfiguration());
        net.init();
        return net;
    }

    /**
     * Zoo-style builder: the architecture settings are {@link TransCnnConfig.Settings}' (inherited: the same setters
     * as {@link TransCnnConfig.Builder}), plus the network's seed, updater, initialisation, weight decay, data type,
     * workspace mode and features-only outputs.
     */
    public static final class Builder extends TransCnnConfig.Settings<Builder> {
        private long seed = 42;
        private IUpdater updater = new Adam(1e-3);
        private IWeightInit weightInit = new TruncatedNormalInit(0.02);
        private double weightDecay;
        private DataType dataType = DataType.FLOAT;
        private WorkspaceMode workspaceMode = WorkspaceMode.ENABLED;
        private int[] outIndices;

        private Builder(TransCnnConfig config) {
            copyFrom(config.toBuilder());
        }

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * A copy of the architecture settings, not yet validated: a checkpoint reader replaces dims, depths and the
         * other settings the tensors determine and validates only the completed configuration, so that a head dim
         * that does not divide the release dims (24 for dims 24/48/72/96) is not refused before the checkpoint's
         * dims are known.
         */
        public TransCnnConfig.Builder architecture() {
            TransCnnConfig.Builder b = TransCnnConfig.builder();
            b.copyFrom(this);
            return b;
        }

        /** Replaces the whole architecture (settings such as seed and updater are kept). */
        public Builder config(TransCnnConfig config) {
            copyFrom(config.toBuilder());
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder updater(IUpdater updater) {
            this.updater = updater;
            return this;
        }

        /** Weight initialisation of convolutions and the classifier (default truncated normal, std 0.02). */
        public Builder weightInit(IWeightInit weightInit) {
            this.weightInit = weightInit;
            return this;
        }

        /** Decoupled weight decay coefficient ({@link DecoupledWeightDecay}, weights only, not biases), 0 = none. */
        public Builder weightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /** Network data type (FLOAT by default; DOUBLE for gradient checks). */
        public Builder dataType(DataType dataType) {
            this.dataType = dataType;
            return this;
        }

        public Builder workspaceMode(WorkspaceMode workspaceMode) {
            this.workspaceMode = workspaceMode;
            return this;
        }

        /**
         * A backbone without pooling and head whose outputs are the given stages (0-based, ascending: 0 = stride 4
         * ... 3 = stride 32), as timm's {@code features_only} / {@code out_indices}; later stages are not built.
         */
        public Builder featuresOnly(int... outIndices) {
            this.outIndices = outIndices.clone();
            return this;
        }

        public TransCNN build() {
            return new TransCNN(this);
        }
    }
}
