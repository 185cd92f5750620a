package org.transcnn.models;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.layers.WindowAttentionCore;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Input sizes beyond the official multiples of 128: any multiple of 32, square or not. Stage maps that do not divide
 * by the grid size are padded and masked inside the window attention (checked against a reference in
 * {@code PaddedAttentionTest}); here the whole network is built, run and trained at such sizes.
 */
class AnySizeTest {

    /** The release grid/ratio pattern (8,8,8,1 / 8,4,2,1) on small dims. */
    static TransCnnConfig.Builder release() {
        return TransCnnConfig.builder().dims(32, 64, 96, 128).depths(1, 1, 2, 1).expansions(4, 4, 6, 6)
                .headDim(32).numClasses(7);
    }

    static List<Integer> paddedStages(TransCNN model) {
        ComputationGraph net = model.init();
        return net.getConfiguration().getVertices().entrySet().stream()
                .filter(e -> e.getValue() instanceof WindowAttentionCore core && core.cutsEdgeWindows()
                        || e.getValue() instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv
                        && lv.getLayerConf().getLayer() instanceof org.transcnn.layers.HMHSA a
                        && a.cutsEdgeWindows())
                .map(e -> Integer.parseInt(e.getKey().split("\\.")[1]) + 1).distinct().sorted().toList();
    }

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"224,224,'2,3'", "320,480,'2,3'", "96,160,'2,3'", "256,256,''", "32,64,'2,3'"})
    void anyMultipleOf32RunsWithStageMapsAtStrides4To32(int h, int w, String padded) {
        TransCNN model = TransCNN.builder(release().inputSize(h, w).build()).build();
        assertEquals(padded.isEmpty() ? List.of() : java.util.Arrays.stream(padded.split(","))
                .map(Integer::parseInt).toList(), paddedStages(model));
        ComputationGraph net = model.init();
        assertStageMapsAndLogits(model, net, h, w, 4);
    }

    /**
     * Runs {@code net} (built from {@link #release()}) on two random images of h x w: stage index s is
     * [2, C_s, h / stride, w / stride] with stride = {@code stage1Stride} * 2^s, the logits [2, 7] and finite.
     */
    static void assertStageMapsAndLogits(TransCNN model, ComputationGraph net, int h, int w, int stage1Stride) {
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, h, w);
        Map<String, INDArray> acts = net.feedForward(x, false);
        int[] channels = {32, 64, 96, 128};
        for (int s = 0; s < 4; s++) {
            int stride = stage1Stride << s;
            assertArrayEquals(new long[] {2, channels[s], h / stride, w / stride},
                    acts.get(model.stageVertex(s)).shape(), "stage index " + s);
        }
        INDArray logits = acts.get(TransCNN.LOGITS);
        assertArrayEquals(new long[] {2, 7}, logits.shape());
        assertFalse(logits.isNaN().any() || logits.isInfinite().any(), "non-finite logits");
    }

    /**
     * A stem of stride 2 (its first convolution at stride 1) puts every stage at twice the map side, for the same
     * parameters; the feature info reports strides 2 to 16, and inputs need only be multiples of 16.
     */
    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"32,32", "48,80"})
    void stemOfStride2DoublesEveryStageMap(int h, int w) {
        TransCnnConfig config = release().gridSizes(4, 2, 2, 1).dsRatios(2, 2, 1, 1).stemStride(2).inputSize(h, w)
                .build();
        TransCNN model = TransCNN.builder(config).build();
        ComputationGraph net = model.init();
        ComputationGraph official = TransCNN.builder(config.toBuilder().stemStride(4).inputSize(2 * h, 2 * w).build())
                .build().init();
        assertEquals(official.numParams(), net.numParams(), "the stem stride changes no parameter");
        for (int s = 0; s < 4; s++) {
            assertEquals(2 << s, model.featureInfo().get(s).reduction(), "reduction of stage index " + s);
        }
        assertStageMapsAndLogits(model, net, h, w, 2);
    }

    @Test
    void trainsAtAPaddedSize() {
        ComputationGraph net = TransCNN.builder(release().inputSize(96, 160).build()).build().init();
        Nd4j.getRandom().setSeed(2);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 96, 160);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 7);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, i, 1);
        }
        MultiDataSet batch = new MultiDataSet(x, y);
        INDArray before = net.params().dup();
        double first = net.score(batch, true);
        for (int i = 0; i < 5; i++) {
            net.fit(batch);
        }
        assertFalse(net.params().isNaN().any(), "NaN parameters after training");
        assertNotEquals(before, net.params());
        double last = net.score(batch, true);
        assertTrue(last < first, "loss did not fall: " + first + " -> " + last);
    }

    @Test
    void releasePresetRunsAt224() {
        TransCNN model = TransCNN.builder(Preset.SMALL).inputSize(224, 224).build();
        assertEquals(List.of(2, 3), paddedStages(model));
        INDArray out = model.init().outputSingle(Nd4j.rand(DataType.FLOAT, 1, 3, 224, 224));
        assertArrayEquals(new long[] {1, 1000}, out.shape());
        assertEquals(1.0, out.sumNumber().doubleValue(), 1e-4);
    }

}
