package org.transcnn.models;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every preset builds with its exact official parameter count, and runs a forward pass at 256x256. */
class PresetTest {

    @ParameterizedTest
    @EnumSource(Preset.class)
    void parameterCountIsExact(Preset preset) {
        TransCNN model = TransCNN.builder(preset).build();
        assertEquals(preset.weights().parameters(), ModelSummary.of(model).params(), preset + " summary");
        ComputationGraph net = model.init();
        long bnStats = 0;
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            if (e.getKey().matches(".*[_.](mean|var)")) {
                bnStats += e.getValue().length();
            }
        }
        assertEquals(preset.weights().parameters(), net.numParams() - bnStats, preset + " allocated network");
    }

    /** Spec: multiply-adds per 256x256 image (convolutions, linear layers, attention matmuls), in GMAC. */
    @ParameterizedTest
    @CsvSource({"SMALL, 2.851", "BASE, 5.652", "MEDIUM, 9.520", "LARGE, 15.461"})
    void multiplyAddsMatchSpec(Preset preset, double gmacs) {
        assertEquals(gmacs, ModelSummary.of(TransCNN.builder(preset).build()).macs() / 1e9, 0.0005);
    }

    @ParameterizedTest
    @EnumSource(value = Preset.class, names = {"SMALL", "BASE"})
    void forwardAt256(Preset preset) {
        forward(preset);
    }

    @ParameterizedTest
    @Tag("slow")
    @EnumSource(value = Preset.class, names = {"MEDIUM", "LARGE"})
    void forwardAt256Large(Preset preset) {
        forward(preset);
    }

    @org.junit.jupiter.api.Test
    void withoutAHeadTheOutputIsThePooledEmbedding() {
        ComputationGraph net = TransCNN.builder(SerializationTest.tiny()).numClasses(0).build().init();
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 64, 64);
        INDArray out = net.outputSingle(x);
        assertArrayEquals(new long[] {2, 128}, out.shape());
        INDArray stage4 = net.feedForward(x, false).get(TransCNN.stageVertex(SerializationTest.tiny(), 3));
        assertEquals(stage4.mean(2, 3), out);
    }

    private static void forward(Preset preset) {
        ComputationGraph net = TransCNN.builder(preset).build().init();
        INDArray out = net.outputSingle(Nd4j.rand(DataType.FLOAT, 1, 3, 256, 256));
        assertArrayEquals(new long[] {1, 1000}, out.shape());
        assertEquals(0, out.isNaN().castTo(DataType.INT).sumNumber().intValue() + out.isInfinite()
                .castTo(DataType.INT).sumNumber().intValue(), "non-finite outputs");
        assertEquals(1.0, out.sumNumber().doubleValue(), 1e-4, "softmax output sums to 1");
    }
}
