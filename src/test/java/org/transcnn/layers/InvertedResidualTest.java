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
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused {@link InvertedResidual} layer against the reference composition of single-operation layers
 * ({@link InvertedResidual#addComposed}: 1x1 convolutions, depthwise convolution and BatchNorm layers, each checked
 * against the official model on its own): same parameters in, same outputs (training and inference mode) and
 * gradients out, and the same parameters and running statistics after two Adam steps. A 3x3 convolution in front of
 * the IRB carries the IRB's input gradient into a parameter gradient.
 */
class InvertedResidualTest {

    static final int C = 8;

    /** (data type, batch, H, W, expansion, kernel, residual, dropout rate, drop path rate). */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(DataType.FLOAT, 2, 6, 6, 2, 3, false, 0.0, 0.0),
                Arguments.of(DataType.FLOAT, 1, 7, 5, 3, 5, false, 0.0, 0.0),
                Arguments.of(DataType.FLOAT, 2, 9, 4, 2, 5, true, 0.0, 0.0),
                Arguments.of(DataType.FLOAT, 4, 6, 5, 2, 3, true, 0.25, 0.5),
                Arguments.of(DataType.DOUBLE, 2, 5, 7, 2, 3, false, 0.3, 0.0),
                Arguments.of(DataType.DOUBLE, 1, 4, 4, 4, 5, true, 0.0, 0.0),
                Arguments.of(DataType.DOUBLE, 3, 4, 6, 2, 3, true, 0.2, 0.4));
    }

    /** The IRB's output vertex in a graph built by {@link #graph}. */
    static String output(boolean fused, boolean residual) {
        return residual ? "blk" : fused ? "conv" : "conv.conv3.1";
    }

    static ComputationGraph graph(DataType type, int h, int w, int expansion, int kernel, boolean fused,
            WorkspaceMode mode) {
        return graph(type, h, w, expansion, kernel, fused, mode, false, 0, 0);
    }

    static ComputationGraph graph(DataType type, int h, int w, int expansion, int kernel, boolean fused,
            WorkspaceMode mode, boolean residual, double dropRate, double pathRate) {
        return graph(type, h, w, expansion, kernel, fused, mode, residual, dropRate, pathRate, new Adam(1e-2));
    }

    static ComputationGraph graph(DataType type, int h, int w, int expansion, int kernel, boolean fused,
            WorkspaceMode mode, boolean residual, double dropRate, double pathRate,
            org.nd4j.linalg.learning.config.IUpdater updater) {
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
        // a bias only with the residual: without it BN1 cancels a constant shift of the IRB's input, so the bias's
        // gradient would be zero, computed as rounding noise that Adam turns into full-size steps
        g.addLayer("pre", Layers.conv(C, C, 3, 1, residual), "in");
        InvertedResidual irb = new InvertedResidual(C, expansion, kernel, dropRate, new ActivationSwish());
        String out;
        if (residual && fused) {
            g.addLayer("blk", irb.withResidual(pathRate), "pre");
            out = "blk";
        } else if (residual) {
            String c = Layers.dropPath(g, "blk.conv.drop_path", irb.addComposed(g, "blk.conv", "pre"), pathRate);
            out = Layers.add(g, "blk", "pre", c);
        } else {
            out = fused ? irb.addTo(g, "conv", "pre") : irb.addComposed(g, "conv", "pre");
        }
        g.addLayer("loss", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE).activation(Activation.IDENTITY)
                .build(), out);
        g.setOutputs("loss");
        ComputationGraph net = new ComputationGraph(g.build());
        net.init();
        return net;
    }

    /**
     * DL4J parameter key ({@code vertex_param}) of the composed graph for each key of the fused one: the fused
     * layer's {@code V_[conv.]convN.M.p} is the composed vertex {@code V.[conv.]convN.M}'s DL4J parameter.
     */
    static String composedKey(String fusedKey) {
        if (fusedKey.startsWith("pre_")) {
            return fusedKey;
        }
        int sep = fusedKey.indexOf('_');
        String k = fusedKey.substring(sep + 1);
        int dot = k.lastIndexOf('.');
        String module = k.substring(0, dot);
        String p = k.substring(dot + 1);
        String param = p.equals("weight") ? (module.endsWith(".0") ? "W" : "gamma") : p.equals("bias") ? "beta" : p;
        return fusedKey.substring(0, sep) + "." + module + "_" + param;
    }

    static boolean isDepthwise(String fusedKey) {
        return fusedKey.endsWith(InvertedResidual.WDW);
    }

    /** Copies the composed graph's parameters into the fused one (torch layouts of the depthwise kernel). */
    static void copyParameters(ComputationGraph composed, ComputationGraph fused) {
        for (Map.Entry<String, INDArray> e : fused.paramTable().entrySet()) {
            INDArray src = composed.getParam(composedKey(e.getKey()));
            assertNotNull(src, e.getKey());
            if (isDepthwise(e.getKey())) {
                src = src.permute(2, 3, 0, 1); // DL4J depthwise [kH, kW, C, 1] -> torch [C, 1, kH, kW]
            }
            e.getValue().assign(src.reshape(e.getValue().shape()));
        }
    }

    static INDArray composedValue(ComputationGraph composed, String fusedKey, INDArray values) {
        return isDepthwise(fusedKey) ? values.permute(2, 3, 0, 1) : values;
    }

    static void assertClose(String what, INDArray expected, INDArray actual, double tol) {
        assertClose(what, expected, actual, tol, 1e-12);
    }

    /** Largest difference relative to the larger of the expected values' magnitude and {@code floor}. */
    static void assertClose(String what, INDArray expected, INDArray actual, double tol, double floor) {
        INDArray e = expected.castTo(DataType.DOUBLE).reshape(actual.length());
        INDArray a = actual.castTo(DataType.DOUBLE).reshape(actual.length());
        double scale = Math.max(e.amaxNumber().doubleValue(), floor);
        double err = a.sub(e).amaxNumber().doubleValue() / scale;
        assertTrue(err <= tol, what + ": relative error " + err + " (scale " + scale + ")");
    }

    @ParameterizedTest(name = "{0}, batch {1}, {2}x{3}, e {4}, k {5}, residual {6}, dropout {7}, drop path {8}")
    @MethodSource("cases")
    void matchesTheComposedIrb(DataType type, int batch, int h, int w, int expansion, int kernel, boolean residual,
            double dropRate, double pathRate) {
        double tol = type == DataType.FLOAT ? 2e-4 : 1e-10;
        String outC = output(false, residual);
        String outF = output(true, residual);
        for (WorkspaceMode mode : new WorkspaceMode[] {WorkspaceMode.ENABLED, WorkspaceMode.NONE}) {
            ComputationGraph composed = graph(type, h, w, expansion, kernel, false, mode, residual, dropRate,
                    pathRate);
            ComputationGraph fused = graph(type, h, w, expansion, kernel, true, mode, residual, dropRate, pathRate);
            assertEquals(composed.numParams(), fused.numParams());
            copyParameters(composed, fused);
            Nd4j.getRandom().setSeed(3);
            for (int step = 1; step <= 2; step++) {
                INDArray x = Nd4j.randn(type, batch, C, h, w);
                INDArray y = Nd4j.randn(type, batch, C, h, w);
                String at = mode + ", step " + step;
                assertClose(at + ", inference output", composed.outputSingle(x), fused.outputSingle(x), tol);
                // the same seed draws the same dropout and drop path masks in both
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
                    INDArray expected = gc.getGradientFor(composedKey(key));
                    assertNotNull(expected, at + ": composed gradient of " + composedKey(key));
                    assertClose(at + ", gradient " + key, composedValue(composed, key, expected),
                            gf.getGradientFor(key), key.matches(".*[_.](mean|var)") ? 1e-4 : 10 * tol);
                }
                Nd4j.getRandom().setSeed(300 + step);
                composed.fit(new MultiDataSet(x, y));
                Nd4j.getRandom().setSeed(300 + step);
                fused.fit(new MultiDataSet(x, y));
                for (String key : fused.paramTable().keySet()) {
                    assertClose(at + ", after fit, " + key, composedValue(composed, key,
                            composed.getParam(composedKey(key))), fused.getParam(key), 1e-3);
                }
            }
        }
    }

    /**
     * GradientCheckUtil in double on the fused layer with its residual, Dropout2d and drop path (the same masks each
     * evaluation: the seed is reset before each), after an earlier backward pass on other data.
     */
    @ParameterizedTest(name = "residual {0}, dropout {1}, drop path {2}")
    @org.junit.jupiter.params.provider.CsvSource({"false, 0, 0", "true, 0, 0", "true, 0.3, 0.5"})
    void gradientCheckInDouble(boolean residual, double dropRate, double pathRate) {
        DataType before = Nd4j.dataType();
        DataType beforeFloating = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            ComputationGraph net = graph(DataType.DOUBLE, 5, 4, 2, 3, true, WorkspaceMode.ENABLED, residual, dropRate,
                    pathRate, new org.nd4j.linalg.learning.config.NoOp());
            Nd4j.getRandom().setSeed(5);
            net.setInputs(Nd4j.randn(DataType.DOUBLE, 4, C, 5, 4));
            net.setLabels(Nd4j.randn(DataType.DOUBLE, 4, C, 5, 4));
            net.computeGradientAndScore();
            java.util.Set<String> stats = net.paramTable().keySet().stream()
                    .filter(k -> k.matches(".*[_.](mean|var)")).collect(java.util.stream.Collectors.toSet());
            boolean ok = org.deeplearning4j.gradientcheck.GradientCheckUtil.checkGradients(
                    new org.deeplearning4j.gradientcheck.GradientCheckUtil.GraphConfig()
                            .net(net)
                            .inputs(new INDArray[] {Nd4j.randn(DataType.DOUBLE, 4, C, 5, 4)})
                            .labels(new INDArray[] {Nd4j.randn(DataType.DOUBLE, 4, C, 5, 4)})
                            .excludeParams(stats)
                            .callEachIter(n -> Nd4j.getRandom().setSeed(12345))
                            .maxRelError(1e-5)
                            .minAbsoluteError(1e-8)
                            .print(org.deeplearning4j.gradientcheck.GradientCheckUtil.PrintMode.FAILURES_ONLY));
            assertTrue(ok, "gradient check failed");
        } finally {
            Nd4j.setDefaultDataTypes(before, beforeFloating);
        }
    }

    @Test
    void configurationRoundTripsThroughJsonAndValidatesItsInput() {
        ComputationGraph net = graph(DataType.FLOAT, 6, 6, 2, 3, true, WorkspaceMode.ENABLED);
        ComputationGraphConfiguration conf = net.getConfiguration();
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        ComputationGraph copy = new ComputationGraph(back);
        copy.init(net.params().dup(), false);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, C, 6, 6);
        assertEquals(net.outputSingle(x), copy.outputSingle(x));
        // TransferLearning copies parameters with setParams (DL4J's BaseLayer would reorder them in F order)
        ComputationGraph edited = new TransferLearning.GraphBuilder(net).build();
        assertEquals(net.outputSingle(x), edited.outputSingle(x));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> net.outputSingle(Nd4j.randn(DataType.FLOAT, 2, C + 1, 6, 6)));
        assertTrue(e.getMessage().contains("expects [B, 8, H, W], got [2, 9, 6, 6]")
                || e.getMessage().contains("8"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new InvertedResidual(C, 2, 4, 0, new ActivationSwish()));
        assertThrows(IllegalArgumentException.class, () -> new InvertedResidual(C, 0, 3, 0, new ActivationSwish()));
        assertThrows(IllegalArgumentException.class, () -> new InvertedResidual(C, 2, 3, 1, new ActivationSwish()));
    }
}
