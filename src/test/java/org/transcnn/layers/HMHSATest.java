package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused {@link HMHSA} layer against the reference composition of single-operation vertices
 * ({@link HMHSA#addComposed}: BatchNorm and 1x1-convolution layers, the window and global attention cores, DL4J's
 * average pooling, each checked against the official model on its own): same parameters in, same outputs (training
 * and inference mode) and gradients out, and the same parameters and running statistics after two Adam steps. Maps
 * that do not divide by the grid or the pooling ratio, global-only attention (grid 1), dropout and drop path. A 3x3
 * convolution in front carries the layer's input gradient into a parameter gradient.
 */
class HMHSATest {

    static final int C = 8;
    static final int HEAD_DIM = 4;

    /** (data type, batch, H, W, grid, pooling ratio, residual, dropout rate, drop path rate). */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(DataType.FLOAT, 2, 8, 8, 4, 2, false, 0.0, 0.0),
                Arguments.of(DataType.FLOAT, 1, 6, 5, 4, 2, true, 0.0, 0.0),
                Arguments.of(DataType.FLOAT, 2, 7, 9, 2, 3, true, 0.25, 0.5),
                Arguments.of(DataType.FLOAT, 2, 4, 6, 1, 1, true, 0.0, 0.0),
                Arguments.of(DataType.DOUBLE, 2, 6, 6, 4, 2, false, 0.3, 0.0),
                Arguments.of(DataType.DOUBLE, 1, 5, 7, 1, 1, false, 0.0, 0.0),
                Arguments.of(DataType.DOUBLE, 3, 6, 4, 2, 2, true, 0.2, 0.4));
    }

    static HMHSA attention(int h, int w, int grid, int ratio, double dropRate) {
        return HMHSA.builder().channels(C).headDim(HEAD_DIM).gridSize(grid).dsRatio(ratio).inputSize(h, w)
                .dropRate(dropRate).build();
    }

    static ComputationGraph graph(DataType type, int h, int w, int grid, int ratio, boolean fused, WorkspaceMode mode,
            boolean residual, double dropRate, double pathRate, IUpdater updater) {
        GraphBuilder g = new NeuralNetConfiguration.Builder()
                .seed(12345)
                .dataType(type)
                .updater(updater)
                .weightInit(WeightInit.XAVIER)
                .trainingWorkspaceMode(mode)
                .inferenceWorkspaceMode(mode)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(h, w, C));
        g.addLayer("pre", Layers.conv(C, C, 3, 1, true), "in");
        HMHSA a = attention(h, w, grid, ratio, dropRate);
        String out;
        if (residual && fused) {
            g.addLayer("blk", a.withResidual(pathRate), "pre");
            out = "blk";
        } else if (residual) {
            String c = Layers.dropPath(g, "blk.attn.drop_path", a.addComposed(g, "blk.attn", "pre"), pathRate);
            out = Layers.add(g, "blk", "pre", c);
        } else {
            out = fused ? a.addTo(g, "attn", "pre") : a.addComposed(g, "attn", "pre");
        }
        g.addLayer("loss", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE).activation(Activation.IDENTITY)
                .build(), out);
        g.setOutputs("loss");
        ComputationGraph net = new ComputationGraph(g.build());
        net.init();
        return net;
    }

    /** The fused graph's output vertex. */
    static String output(boolean fused, boolean residual) {
        return residual ? "blk" : "attn";
    }

    /**
     * DL4J parameter key of the composed graph for each key of the fused one: the fused layer's {@code V_[attn.]m.p}
     * is the composed vertex {@code V.[attn.]m}'s parameter ({@code W}/{@code b} of a convolution,
     * {@code gamma}/{@code beta}/{@code mean}/{@code var} of a BatchNorm).
     */
    static String composedKey(String fusedKey) {
        if (fusedKey.startsWith("pre_")) {
            return fusedKey;
        }
        int sep = fusedKey.indexOf('_');
        String k = fusedKey.substring(sep + 1);
        int dot = k.lastIndexOf('.');
        String module = HMHSA.torchKey(k.substring(0, dot));
        String p = k.substring(dot + 1);
        boolean norm = module.endsWith("norm");
        String param = p.equals("weight") ? (norm ? "gamma" : "W") : p.equals("bias") ? (norm ? "beta" : "b") : p;
        return fusedKey.substring(0, sep) + "." + module + "_" + param;
    }

    /**
     * Relative error against the larger of the expected values' magnitude and 1e-4 (some gradients are ~0: a bias in
     * front of a BatchNorm, the keys' bias).
     */
    static void assertClose(String what, INDArray expected, INDArray actual, double tol) {
        InvertedResidualTest.assertClose(what, expected, actual, tol, 1e-4);
    }

    static void copyParameters(ComputationGraph composed, ComputationGraph fused) {
        for (Map.Entry<String, INDArray> e : fused.paramTable().entrySet()) {
            INDArray src = composed.getParam(composedKey(e.getKey()));
            assertNotNull(src, e.getKey() + " -> " + composedKey(e.getKey()));
            e.getValue().assign(src.reshape(e.getValue().shape()));
        }
    }

    @ParameterizedTest(name = "{0}, batch {1}, {2}x{3}, grid {4}, ratio {5}, residual {6}, dropout {7}, path {8}")
    @MethodSource("cases")
    void matchesTheComposedAttention(DataType type, int batch, int h, int w, int grid, int ratio, boolean residual,
            double dropRate, double pathRate) {
        double tol = type == DataType.FLOAT ? 2e-4 : 1e-10;
        String outF = output(true, residual);
        for (WorkspaceMode mode : new WorkspaceMode[] {WorkspaceMode.ENABLED, WorkspaceMode.NONE}) {
            // Adam's epsilon 1e-3: the keys' bias has a zero gradient in exact arithmetic (softmax ignores a shift
            // common to all keys), ~1e-9 of rounding noise here, which Adam with a tiny epsilon turns into full steps
            ComputationGraph composed = graph(type, h, w, grid, ratio, false, mode, residual, dropRate, pathRate,
                    new Adam(1e-2, 0.9, 0.999, 1e-3));
            ComputationGraph fused = graph(type, h, w, grid, ratio, true, mode, residual, dropRate, pathRate,
                    new Adam(1e-2, 0.9, 0.999, 1e-3));
            String outC = composed.getConfiguration().getVertexInputs().get("loss").get(0);
            assertEquals(composed.numParams(), fused.numParams());
            copyParameters(composed, fused);
            Nd4j.getRandom().setSeed(3);
            for (int step = 1; step <= 2; step++) {
                INDArray x = Nd4j.randn(type, batch, C, h, w);
                INDArray y = Nd4j.randn(type, batch, C, h, w);
                String at = mode + ", step " + step;
                assertClose(at + ", inference output", composed.outputSingle(x), fused.outputSingle(x), tol);
                Nd4j.getRandom().setSeed(100 + step);
                INDArray trainC = composed.feedForward(x, true).get(outC);
                Nd4j.getRandom().setSeed(100 + step);
                assertClose(at + ", training output", trainC, fused.feedForward(x, true).get(outF), tol);
                composed.setInputs(x);
                composed.setLabels(y);
                Nd4j.getRandom().setSeed(200 + step);
                composed.computeGradientAndScore();
                fused.setInputs(x);
                fused.setLabels(y);
                Nd4j.getRandom().setSeed(200 + step);
                fused.computeGradientAndScore();
                assertEquals(composed.score(), fused.score(), tol * Math.abs(composed.score()), at + ", score");
                Gradient gc = composed.gradient();
                Gradient gf = fused.gradient();
                for (String key : fused.paramTable().keySet()) {
                    if (!residual && key.equals("pre_b")) {
                        continue; // BatchNorm follows: zero in exact arithmetic, rounding noise in both graphs
                    }
                    INDArray expected = gc.getGradientFor(composedKey(key));
                    assertNotNull(expected, at + ": composed gradient of " + composedKey(key));
                    assertClose(at + ", gradient " + key, expected, gf.getGradientFor(key),
                            key.matches(".*[_.](mean|var)") ? 1e-4 : 10 * tol);
                }
                Nd4j.getRandom().setSeed(300 + step);
                composed.fit(new MultiDataSet(x, y));
                Nd4j.getRandom().setSeed(300 + step);
                fused.fit(new MultiDataSet(x, y));
                for (String key : fused.paramTable().keySet()) {
                    if (!residual && key.equals("pre_b")) {
                        continue;
                    }
                    assertClose(at + ", after fit, " + key, composed.getParam(composedKey(key)), fused.getParam(key),
                            1e-3);
                }
            }
        }
    }

    /**
     * GradientCheckUtil in double on the fused layer (the same masks each evaluation: the seed is reset before each),
     * after an earlier backward pass on other data.
     */
    @ParameterizedTest(name = "grid {0}, residual {1}, dropout {2}, drop path {3}")
    @CsvSource({"2, false, 0, 0", "2, true, 0.3, 0.5", "1, true, 0, 0"})
    void gradientCheckInDouble(int grid, boolean residual, double dropRate, double pathRate) {
        DataType before = Nd4j.dataType();
        DataType beforeFloating = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            ComputationGraph net = graph(DataType.DOUBLE, 5, 4, grid, 2, true, WorkspaceMode.ENABLED, residual,
                    dropRate, pathRate, new NoOp());
            Nd4j.getRandom().setSeed(5);
            net.setInputs(Nd4j.randn(DataType.DOUBLE, 3, C, 5, 4));
            net.setLabels(Nd4j.randn(DataType.DOUBLE, 3, C, 5, 4));
            net.computeGradientAndScore();
            Set<String> stats = net.paramTable().keySet().stream()
                    .filter(k -> k.matches(".*[_.](mean|var)")).collect(Collectors.toSet());
            boolean ok = org.deeplearning4j.gradientcheck.GradientCheckUtil.checkGradients(
                    new org.deeplearning4j.gradientcheck.GradientCheckUtil.GraphConfig()
                            .net(net)
                            .inputs(new INDArray[] {Nd4j.randn(DataType.DOUBLE, 3, C, 5, 4)})
                            .labels(new INDArray[] {Nd4j.randn(DataType.DOUBLE, 3, C, 5, 4)})
                            .excludeParams(stats)
                            .callEachIter(n -> Nd4j.getRandom().setSeed(12345))
                            .maxRelError(1e-4)
                            .minAbsoluteError(1e-7)
                            .print(org.deeplearning4j.gradientcheck.GradientCheckUtil.PrintMode.FAILURES_ONLY));
            assertTrue(ok, "gradient check failed");
        } finally {
            Nd4j.setDefaultDataTypes(before, beforeFloating);
        }
    }

    @Test
    void configurationRoundTripsThroughJsonAndValidatesItsInput() {
        ComputationGraph net = graph(DataType.FLOAT, 6, 6, 2, 2, true, WorkspaceMode.ENABLED, true, 0, 0,
                new Adam(1e-2));
        ComputationGraphConfiguration conf = net.getConfiguration();
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        ComputationGraph copy = new ComputationGraph(back);
        copy.init(net.params().dup(), false);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, C, 6, 6);
        assertEquals(net.outputSingle(x), copy.outputSingle(x));
        ComputationGraph edited = new TransferLearning.GraphBuilder(net).build();
        assertEquals(net.outputSingle(x), edited.outputSingle(x));
        assertEquals(attention(6, 6, 2, 2, 0).parameters(), net.getLayer("blk").numParams()
                - 6L * C, "trainable parameters (running statistics excluded)");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> net.outputSingle(Nd4j.randn(DataType.FLOAT, 2, C, 6, 8)));
        assertTrue(e.getMessage().contains("expects [B, 8, 6, 6]") && e.getMessage().contains("[2, 8, 6, 8]"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> HMHSA.builder().channels(C).headDim(3).inputSize(4, 4)
                .build());
        assertThrows(IllegalArgumentException.class, () -> HMHSA.builder().channels(C).headDim(4).gridSize(2)
                .dsRatio(8).inputSize(4, 4).build());
    }
}
