package org.transcnn.models;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.layers.HMHSA;
import org.transcnn.layers.TransCnnBlock;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** H-MHSA in some stages only: which blocks carry it, the parameters that gives, validation and copies. */
class AttentionStagesTest {

    static Stream<Arguments> stageSets() {
        return Stream.of(Arguments.of((Object) new int[] {}), Arguments.of((Object) new int[] {0}),
                Arguments.of((Object) new int[] {0, 2}), Arguments.of((Object) new int[] {1, 2, 3}),
                Arguments.of((Object) new int[] {0, 1, 2, 3}));
    }

    @ParameterizedTest
    @MethodSource("stageSets")
    void onlyTheChosenStagesHaveHmhsa(int[] stages) {
        TransCnnConfig c = SerializationTest.tiny().toBuilder().attentionStages(stages).build();
        assertArrayEquals(stages, c.attentionStages());
        assertEquals(stages.length > 0, c.attention());
        ComputationGraph net = TransCNN.builder(c).build().init();
        TreeSet<Integer> withAttention = new TreeSet<>();
        for (Map.Entry<String, GraphVertex> v : net.getConfiguration().getVertices().entrySet()) {
            if (v.getValue() instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof HMHSA) {
                withAttention.add(VertexNames.stageOf(v.getKey()));
            }
        }
        assertEquals(Arrays.stream(stages).boxed().collect(Collectors.toList()), withAttention.stream().toList());
        // the parameters are the ablation's plus those of the full network's H-MHSA layers in the chosen stages
        ComputationGraph full = TransCNN.builder(SerializationTest.tiny()).build().init();
        ComputationGraph none = TransCNN.builder(SerializationTest.tiny().toBuilder().attention(false).build()).build()
                .init();
        long attentionParams = 0;
        for (Map.Entry<String, INDArray> p : full.paramTable().entrySet()) {
            int stage = VertexNames.stageOf(p.getKey());
            if (p.getKey().contains(TransCnnBlock.RES1 + "_") && Arrays.stream(stages).anyMatch(s -> s == stage)) {
                attentionParams += p.getValue().length();
            }
        }
        assertEquals(none.numParams() + attentionParams, net.numParams());
        INDArray out = net.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 3, 64, 64));
        assertArrayEquals(new long[] {2, 10}, out.shape());
    }

    @Test
    void theAllOrNothingSetterAndTheCopiesAgree() {
        TransCnnConfig stage0 = SerializationTest.tiny().toBuilder().attentionStages(0).build();
        assertArrayEquals(new int[] {0}, stage0.toBuilder().build().attentionStages());
        assertArrayEquals(new int[] {0}, TransCNN.builder(stage0).build().config().attentionStages());
        assertArrayEquals(new int[] {0, 1, 2, 3}, stage0.toBuilder().attention(true).build().attentionStages());
        assertArrayEquals(new int[] {}, stage0.toBuilder().attention(false).build().attentionStages());
        assertArrayEquals(new int[] {0, 1, 2, 3}, TransCnnConfig.builder().build().attentionStages());
        assertArrayEquals(new int[] {0, 2}, TransCnnConfig.builder().attentionStages(2, 0).build().attentionStages());
        assertTrue(stage0.attention(0));
        assertFalse(stage0.attention(1));
        assertTrue(stage0.toString().contains("attentionStages=[0]"), stage0.toString());
        // neither the array passed in nor the one returned reaches into a builder or a configuration
        int[] stages = {1};
        TransCnnConfig.Builder b = SerializationTest.tiny().toBuilder().attentionStages(stages);
        stages[0] = 2;
        TransCnnConfig one = b.build();
        assertArrayEquals(new int[] {1}, one.attentionStages());
        one.attentionStages()[0] = 3;
        assertArrayEquals(new int[] {1}, one.attentionStages());
        TransCnnConfig.Builder copy = b.copy();
        b.attention(false);
        assertArrayEquals(new int[] {1}, copy.build().attentionStages());
        assertArrayEquals(new int[] {}, TransCNN.builder(one).attention(false).build().config().attentionStages());
        assertArrayEquals(new int[] {1}, one.attentionStages(), "a network builder's change leaves the config alone");
    }

    @Test
    void stagesWithoutAttentionNeedNoHeadDimOrPoolingFit() {
        // pooling ratio 32 exceeds stage 3's 16x16 map: that only matters where stage 3 has H-MHSA
        TransCnnConfig c = Preset.SMALL.config().toBuilder().dsRatios(8, 4, 32, 1).attentionStages(0, 1, 3).build();
        assertArrayEquals(new int[] {0, 1, 3}, c.attentionStages());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> c.toBuilder().attention(true).build())
                .getMessage().contains("dsRatios[2] = 32 does not fit stage 3, which has H-MHSA"));
        // head dim 32 divides 32, 64 and 128 but not stage 2's 48: checked in the stages with H-MHSA only
        TransCnnConfig.Builder dims = TransCnnConfig.builder().dims(32, 48, 64, 128).headDim(32);
        assertArrayEquals(new int[] {0, 2, 3}, dims.copy().attentionStages(0, 2, 3).build().attentionStages());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> dims.copy().attentionStages(1).build())
                .getMessage().contains("dims[1] = 48 is not divisible by headDim 32"));
        assertArrayEquals(new int[] {}, TransCnnConfig.builder().headDim(48).attentionStages().build()
                .attentionStages());
    }

    @Test
    void badStageIndicesAreRefusedByBuildNamingThem() {
        assertMessage("attentionStages [4]: stage index 4 is out of range: expected 0..3 (0-based: 0 is stage 1, at "
                + "the largest maps)", TransCnnConfig.builder().attentionStages(4));
        assertMessage("attentionStages [0, 0]: stage index 0 appears twice", TransCnnConfig.builder()
                .attentionStages(0, 0));
        assertMessage("attentionStages [1, -1]: stage index -1 is out of range", TransCnnConfig.builder()
                .attentionStages(1, -1));
    }

    private static void assertMessage(String message, TransCnnConfig.Builder b) {
        String got = assertThrows(IllegalArgumentException.class, b::build).getMessage();
        assertTrue(got.contains(message), got);
    }
}
