package org.transcnn.layers;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;

import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Set;
import java.util.function.BiFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GradientCheckUtil in double precision for every TransCNN block on its own, run after an earlier backward pass on
 * other data (the M2.1 SameDiff bugs show from the second backward pass on). Parameter-free attention cores sit
 * behind a 1x1 convolution so that their input gradients are checked through its parameters.
 */
class BlockGradientTest {

    static final int C = 8;
    static final int HEAD_DIM = 4;

    private static DataType defaultType;
    private static DataType defaultFloatingType;

    @BeforeAll
    static void doublePrecision() {
        defaultType = Nd4j.dataType();
        defaultFloatingType = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void restorePrecision() {
        Nd4j.setDefaultDataTypes(defaultType, defaultFloatingType);
    }

    /** A 1x1 convolution to qkv and a global attention core over it. */
    static BiFunction<GraphBuilder, String, String> fusedGlobalCore(int h, int w) {
        return (g, in) -> {
            g.addLayer("pre", Layers.conv(C, 3 * C, 1, 1, true), in);
            g.addVertex("core", GlobalAttentionCore.fused(C / HEAD_DIM, HEAD_DIM, h, w), "pre");
            return "core";
        };
    }

    /** Queries from the map, keys/values from the 2x2-average-pooled map (even h, w), and a global core. */
    static BiFunction<GraphBuilder, String, String> pooledGlobalCore(int h, int w) {
        return (g, in) -> {
            g.addLayer("q", Layers.conv(C, C, 1, 1, true), in);
            g.addLayer("pool", Layers.pool(PoolingType.AVG, 2), in);
            g.addLayer("kv", Layers.conv(C, 2 * C, 1, 1, true), "pool");
            g.addVertex("core", GlobalAttentionCore.pooled(C / HEAD_DIM, HEAD_DIM, h, w, h / 2, w / 2), "q", "kv");
            return "core";
        };
    }

    /** (name, input channels, H, W, output channels, block adder(graph, input) -> output vertex). */
    static Stream<Arguments> blocks() {
        return Stream.of(
                Arguments.of("window attention core", C, 4, 6, C, (BiFunction<GraphBuilder, String, String>) (g, in) -> {
                    g.addLayer("pre", Layers.conv(C, 3 * C, 1, 1, true), in);
                    g.addVertex("core", new WindowAttentionCore(C / HEAD_DIM, HEAD_DIM, 2, 4, 6), "pre");
                    return "core";
                }),
                Arguments.of("window attention core, padded 5x3 map, grid 2", C, 5, 3, C, (BiFunction<GraphBuilder, String, String>) (g, in) -> {
                    g.addLayer("pre", Layers.conv(C, 3 * C, 1, 1, true), in);
                    g.addVertex("core", new WindowAttentionCore(C / HEAD_DIM, HEAD_DIM, 2, 5, 3), "pre");
                    return "core";
                }),
                Arguments.of("H-MHSA, grid 4 on a padded 6x6 map, ratio 2", C, 6, 6, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        HMHSA.builder().channels(C).headDim(HEAD_DIM).gridSize(4).dsRatio(2).inputSize(6, 6).build()
                                .addTo(g, "attn", in)),
                Arguments.of("global attention core, fused", C, 4, 2, C, fusedGlobalCore(4, 2)),
                Arguments.of("global attention core, pooled", C, 4, 4, C, pooledGlobalCore(4, 4)),
                // more than AttentionLayout.QUERY_BLOCK (256) queries: two query blocks, the second one partial
                Arguments.of("global attention core, fused, 17x16 map", C, 17, 16, C, fusedGlobalCore(17, 16)),
                Arguments.of("global attention core, pooled, 18x16 map", C, 18, 16, C, pooledGlobalCore(18, 16)),
                Arguments.of("H-MHSA, grid 2, ratio 2", C, 4, 4, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        HMHSA.builder().channels(C).headDim(HEAD_DIM).gridSize(2).dsRatio(2).inputSize(4, 4).build()
                                .addTo(g, "attn", in)),
                Arguments.of("H-MHSA, global (grid 1)", C, 2, 4, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        HMHSA.builder().channels(C).headDim(HEAD_DIM).inputSize(2, 4).build().addTo(g, "attn", in)),
                Arguments.of("IRB, SiLU", C, 4, 4, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        new InvertedResidual(C, 2, 3, 0, new ActivationSwish()).addTo(g, "conv", in)),
                Arguments.of("IRB, exact GELU", C, 4, 4, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        new InvertedResidual(C, 2, 5, 0, new ExactGELU()).addTo(g, "conv", in)),
                Arguments.of("TDB", 4, 4, 6, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        new TwoBranchDownsample(4, C, new ActivationSwish()).addTo(g, "ds2", in)),
                Arguments.of("TDB, odd 5x7 map", 4, 5, 7, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        new TwoBranchDownsample(4, C, new ActivationSwish()).addTo(g, "ds2", in)),
                Arguments.of("stem", 3, 8, 8, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        new Stem(3, C, new ActivationSwish()).addTo(g, "patch_embed", in)),
                Arguments.of("TransCNN block", C, 4, 4, C, (BiFunction<GraphBuilder, String, String>) (g, in) ->
                        new TransCnnBlock(HMHSA.builder().channels(C).headDim(HEAD_DIM).gridSize(2).dsRatio(2)
                                .inputSize(4, 4).build(), new InvertedResidual(C, 2, 3, 0, new ActivationSwish()), 0)
                                .addTo(g, "blocks.0.0", in)),
                Arguments.of("input check + inserted H-MHSA", C, 4, 4, C, (BiFunction<GraphBuilder, String, String>) (g, in) -> {
                    g.addVertex("check", new InputCheckVertex(C, 4, 4), in);
                    g.addLayer("body", Layers.conv(C, C, 3, 1, true), "check");
                    return HMHSA.builder().channels(C).headDim(HEAD_DIM).gridSize(2).dsRatio(2).inputSize(4, 4)
                            .build().insertAfter(g, "body", "inserted");
                }));
    }

    static ComputationGraph graph(int inC, int h, int w, BiFunction<GraphBuilder, String, String> block) {
        GraphBuilder g = new NeuralNetConfiguration.Builder()
                .seed(12345)
                .dataType(DataType.DOUBLE)
                .updater(new NoOp())
                .weightInit(WeightInit.XAVIER)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(h, w, inC));
        String out = block.apply(g, "in");
        g.addLayer("loss", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE).activation(Activation.IDENTITY)
                .build(), out);
        g.setOutputs("loss");
        ComputationGraph net = new ComputationGraph(g.build());
        net.init();
        return net;
    }

    @Test
    void dropPathGradientsWithTheSameMaskEachIteration() {
        ComputationGraph net = graph(C, 4, 4, (g, in) -> {
            g.addLayer("conv", Layers.conv(C, C, 3, 1, true), in);
            return Layers.dropPath(g, "drop_path", "conv", 0.5);
        });
        net.setInputs(Nd4j.randn(DataType.DOUBLE, 6, C, 4, 4));
        net.setLabels(Nd4j.randn(DataType.DOUBLE, 6, C, 4, 4));
        net.computeGradientAndScore();
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig()
                .net(net)
                .inputs(new INDArray[] {Nd4j.randn(DataType.DOUBLE, 6, C, 4, 4)})
                .labels(new INDArray[] {Nd4j.randn(DataType.DOUBLE, 6, C, 4, 4)})
                .callEachIter(n -> Nd4j.getRandom().setSeed(12345))
                .maxRelError(1e-5)
                .minAbsoluteError(1e-8)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
        assertTrue(ok, "drop path gradient check failed");
    }

    /** The attention cores alone (no BatchNorm), also at batch size 1. */
    static Stream<Arguments> cores() {
        return blocks().filter(a -> a.get()[0].toString().contains("core"));
    }

    @ParameterizedTest(name = "{0}, batch 1")
    @MethodSource("cores")
    void coresAtBatchSizeOne(String name, int inC, int h, int w, int outC,
            BiFunction<GraphBuilder, String, String> block) {
        check(name, 1, inC, h, w, outC, block);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("blocks")
    void gradientsAreCorrectAfterAnEarlierBackwardPass(String name, int inC, int h, int w, int outC,
            BiFunction<GraphBuilder, String, String> block) {
        check(name, 2, inC, h, w, outC, block);
    }

    private static void check(String name, int batch, int inC, int h, int w, int outC,
            BiFunction<GraphBuilder, String, String> block) {
        ComputationGraph net = graph(inC, h, w, block);
        Nd4j.getRandom().setSeed(7);
        int outH = name.startsWith("TDB") ? (h + 1) / 2 : name.equals("stem") ? h / 4 : h;
        int outW = name.startsWith("TDB") ? (w + 1) / 2 : name.equals("stem") ? w / 4 : w;
        // an earlier backward pass on other data
        net.setInputs(Nd4j.randn(DataType.DOUBLE, batch, inC, h, w));
        net.setLabels(Nd4j.randn(DataType.DOUBLE, batch, outC, outH, outW));
        net.computeGradientAndScore();

        INDArray input = Nd4j.randn(DataType.DOUBLE, batch, inC, h, w);
        INDArray labels = Nd4j.randn(DataType.DOUBLE, batch, outC, outH, outW);
        // BatchNorm running statistics are state, not trained parameters
        Set<String> runningStats = net.paramTable().keySet().stream()
                .filter(k -> k.matches(".*[_.](mean|var)")).collect(Collectors.toSet());
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig()
                .excludeParams(runningStats)
                .net(net)
                .inputs(new INDArray[] {input})
                .labels(new INDArray[] {labels})
                .epsilon(1e-6)
                .maxRelError(1e-4)
                // the noise floor of the central difference: a score of ~300 has an ulp of ~6e-14, and one ulp over
                // 2 epsilon is ~3e-8 (a bias the softmax is invariant to has an exact gradient of 0 and a numerical
                // one of +-1 ulp, depending on the order in which ND4J sums the score)
                .minAbsoluteError(1e-7)
                .exitOnFirstError(false)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
        assertTrue(ok, name + ": gradient check failed");
    }
}
