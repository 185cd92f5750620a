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

    /** (data type, batch, H, W, expansion, kernel). */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(DataType.FLOAT, 2, 6, 6, 2, 3),
                Arguments.of(DataType.FLOAT, 1, 7, 5, 3, 5),
                Arguments.of(DataType.FLOAT, 2, 9, 4, 2, 5),
                Arguments.of(DataType.DOUBLE, 2, 5, 7, 2, 3),
                Arguments.of(DataType.DOUBLE, 1, 4, 4, 4, 5));
    }

    static ComputationGraph graph(DataType type, int h, int w, int expansion, int kernel, boolean fused,
            WorkspaceMode mode) {
        GraphBuilder g = new NeuralNetConfiguration.Builder()
                .seed(12345)
                .dataType(type)
                .updater(new Adam(1e-2))
                .weightInit(WeightInit.XAVIER)
                .trainingWorkspaceMode(mode)
                .inferenceWorkspaceMode(mode)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(h, w, C));
        g.addLayer("pre", Layers.conv(C, C, 3, 1, true), "in");
        InvertedResidual irb = new InvertedResidual(C, expansion, kernel, 0, new ActivationSwish());
        String out = fused ? irb.addTo(g, "conv", "pre") : irb.addComposed(g, "conv", "pre");
        g.addLayer("loss", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE).activation(Activation.IDENTITY)
                .build(), out);
        g.setOutputs("loss");
        ComputationGraph net = new ComputationGraph(g.build());
        net.init();
        return net;
    }

    /** DL4J parameter key ({@code vertex_param}) of the composed graph for each key of the fused one. */
    static String composedKey(String fusedKey) {
        if (!fusedKey.startsWith("conv_")) {
            return fusedKey;
        }
        String k = fusedKey.substring("conv_".length());
        int dot = k.lastIndexOf('.');
        String module = k.substring(0, dot);
        String p = k.substring(dot + 1);
        String param = p.equals("weight") ? (module.endsWith(".0") ? "W" : "gamma") : p.equals("bias") ? "beta" : p;
        return "conv." + module + "_" + param;
    }

    /** Copies the composed graph's parameters into the fused one (torch layouts of the depthwise kernel). */
    static void copyParameters(ComputationGraph composed, ComputationGraph fused) {
        for (Map.Entry<String, INDArray> e : fused.paramTable().entrySet()) {
            INDArray src = composed.getParam(composedKey(e.getKey()));
            assertNotNull(src, e.getKey());
            if (e.getKey().equals("conv_" + InvertedResidual.WDW)) {
                src = src.permute(2, 3, 0, 1); // DL4J depthwise [kH, kW, C, 1] -> torch [C, 1, kH, kW]
            }
            e.getValue().assign(src.reshape(e.getValue().shape()));
        }
    }

    static INDArray composedValue(ComputationGraph composed, String fusedKey, INDArray values) {
        return fusedKey.equals("conv_" + InvertedResidual.WDW) ? values.permute(2, 3, 0, 1) : values;
    }

    static void assertClose(String what, INDArray expected, INDArray actual, double tol) {
        INDArray e = expected.castTo(DataType.DOUBLE).reshape(actual.length());
        INDArray a = actual.castTo(DataType.DOUBLE).reshape(actual.length());
        double scale = Math.max(e.amaxNumber().doubleValue(), 1e-12);
        double err = a.sub(e).amaxNumber().doubleValue() / scale;
        assertTrue(err <= tol, what + ": relative error " + err + " (scale " + scale + ")");
    }

    @ParameterizedTest(name = "{0}, batch {1}, {2}x{3}, e {4}, k {5}")
    @MethodSource("cases")
    void matchesTheComposedIrb(DataType type, int batch, int h, int w, int expansion, int kernel) {
        double tol = type == DataType.FLOAT ? 2e-4 : 1e-10;
        for (WorkspaceMode mode : new WorkspaceMode[] {WorkspaceMode.ENABLED, WorkspaceMode.NONE}) {
            ComputationGraph composed = graph(type, h, w, expansion, kernel, false, mode);
            ComputationGraph fused = graph(type, h, w, expansion, kernel, true, mode);
            assertEquals(composed.numParams(), fused.numParams());
            copyParameters(composed, fused);
            Nd4j.getRandom().setSeed(3);
            for (int step = 1; step <= 2; step++) {
                INDArray x = Nd4j.randn(type, batch, C, h, w);
                INDArray y = Nd4j.randn(type, batch, C, h, w);
                String at = mode + ", step " + step;
                assertClose(at + ", inference output", composed.outputSingle(x), fused.outputSingle(x), tol);
                assertClose(at + ", training output", composed.feedForward(x, true).get("conv.conv3.1"),
                        fused.feedForward(x, true).get("conv"), tol);
                composed.setInputs(x);
                composed.setLabels(y);
                composed.computeGradientAndScore();
                fused.setInputs(x);
                fused.setLabels(y);
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
                composed.fit(new MultiDataSet(x, y));
                fused.fit(new MultiDataSet(x, y));
                for (String key : fused.paramTable().keySet()) {
                    assertClose(at + ", after fit, " + key, composedValue(composed, key,
                            composed.getParam(composedKey(key))), fused.getParam(key), 1e-3);
                }
            }
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
