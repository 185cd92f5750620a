package org.transcnn.models;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad configurations and bad inputs fail early with a message naming what was expected and what arrived. */
class ValidationTest {

    static ComputationGraph tiny;

    @BeforeAll
    static void build() {
        tiny = TransCNN.builder(SerializationTest.tiny()).build().init();
    }

    static Stream<Arguments> badConfigs() {
        return Stream.of(
                Arguments.of("input height 100 is not supported: it must be a positive multiple of 32",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).inputSize(100, 256).build()),
                Arguments.of("input width 0 is not supported",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).inputSize(256, 0).build()),
                Arguments.of("input width 200 is not supported: it must be a positive multiple of 32",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).inputSize(224, 200).build()),
                Arguments.of("numClasses must be >= 1 for a classifier head (or 0 for no head), got -3",
                        (Supplier<?>) () -> TransCNN.builder(Preset.BASE).numClasses(-3).build()),
                Arguments.of("dims[0] = 64 is not divisible by headDim 48",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).headDim(48).build()),
                Arguments.of("dsRatios[2] = 32 does not fit stage 3, which has H-MHSA: its map is only 16x16 (HxW)",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).dsRatios(8, 4, 32, 1).build()),
                Arguments.of("gridSizes must have 4 entries (one per stage), got [8, 8, 8]",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).gridSizes(8, 8, 8).build()),
                Arguments.of("inChannels must be >= 1, got 0",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).inChannels(0).build()),
                Arguments.of("dropPathRate must be in [0, 1), got 1.5",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).dropPathRate(1.5).build()),
                Arguments.of("kernelSizes[1] must be odd, got 4",
                        (Supplier<?>) () -> TransCnnConfig.builder().kernelSizes(5, 4, 5, 3).build()),
                Arguments.of("stemStride must be 4 (the official stem: two stride-2 convolutions) or 2 (the first "
                        + "convolution at stride 1), got 8",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).stemStride(8).build()),
                Arguments.of("input width 40 is not supported: it must be a positive multiple of 16 (the network's "
                        + "total stride, 8 x stem stride 2)",
                        (Supplier<?>) () -> TransCNN.builder(Preset.SMALL).stemStride(2).inputSize(32, 40).build()),
                Arguments.of("unknown preset 'HUGE'", (Supplier<?>) () -> Preset.parse("HUGE")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badConfigs")
    void badConfigurationIsRefusedWithASpecificMessage(String message, Supplier<?> build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::get);
        assertTrue(e.getMessage().contains(message), "message was: " + e.getMessage());
    }

    @Test
    void wrongChannelCountIsRefusedBeforeNativeCode() {
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> tiny.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 1, 64, 64)));
        assertTrue(e.getMessage().contains("input channel count is 1, expected 3"), e.getMessage());
    }

    @Test
    void wrongHeightIsRefusedBeforeNativeCode() {
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> tiny.outputSingle(Nd4j.rand(DataType.FLOAT, 1, 3, 96, 64)));
        assertTrue(e.getMessage().contains("input height is 96, expected 64"), e.getMessage());
    }

    @Test
    void swappedHeightAndWidthAreRefused() {
        ComputationGraph rect = TransCNN.builder(SerializationTest.tiny()).inputSize(64, 128).build().init();
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> rect.outputSingle(Nd4j.rand(DataType.FLOAT, 1, 3, 128, 64)));
        assertTrue(e.getMessage().contains("input height is 128, expected 64"), e.getMessage());
    }

    @Test
    void wrongRankIsRefusedDuringTraining() {
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> tiny.fit(new org.nd4j.linalg.dataset.MultiDataSet(Nd4j.rand(DataType.FLOAT, 2, 3, 64),
                        Nd4j.zeros(DataType.FLOAT, 2, 10))));
        assertTrue(e.getMessage().contains("input must be rank 4"), e.getMessage());
    }
}
