package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Window attention at map sizes that are not multiples of the grid size: the core pads and masks, and every real
 * token must attend to exactly the real tokens of its window, checked against a direct double-precision reference
 * that never sees a padded token.
 */
class PaddedAttentionTest {

    static ComputationGraph core(AttentionCore core, int channels, int h, int w, DataType type) {
        GraphBuilder g = new NeuralNetConfiguration.Builder().dataType(type).graphBuilder()
                .addInputs("qkv").setInputTypes(InputType.convolutional(h, w, channels))
                .addVertex("core", core, "qkv").setOutputs("core");
        ComputationGraph net = new ComputationGraph(g.build());
        net.init();
        return net;
    }

    /** Window attention over the real tokens only: [B, 3C, H, W] -> [B, C, H, W]. */
    static double[][][][] reference(INDArray qkv, int heads, int d, int g) {
        int b = (int) qkv.size(0);
        int h = (int) qkv.size(2);
        int w = (int) qkv.size(3);
        int c = heads * d;
        double[][][][] out = new double[b][c][h][w];
        for (int n = 0; n < b; n++) {
            for (int head = 0; head < heads; head++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int y0 = y / g * g;
                        int x0 = x / g * g;
                        int y1 = Math.min(h, y0 + g);
                        int x1 = Math.min(w, x0 + g);
                        double[] logits = new double[(y1 - y0) * (x1 - x0)];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int ky = y0, t = 0; ky < y1; ky++) {
                            for (int kx = x0; kx < x1; kx++, t++) {
                                double s = 0;
                                for (int j = 0; j < d; j++) {
                                    s += qkv.getDouble(n, head * d + j, y, x) * qkv.getDouble(n, c + head * d + j, ky, kx);
                                }
                                logits[t] = s / Math.sqrt(d);
                                max = Math.max(max, logits[t]);
                            }
                        }
                        double sum = 0;
                        for (int t = 0; t < logits.length; t++) {
                            logits[t] = Math.exp(logits[t] - max);
                            sum += logits[t];
                        }
                        for (int ky = y0, t = 0; ky < y1; ky++) {
                            for (int kx = x0; kx < x1; kx++, t++) {
                                for (int j = 0; j < d; j++) {
                                    out[n][head * d + j][y][x] += logits[t] / sum
                                            * qkv.getDouble(n, 2 * c + head * d + j, ky, kx);
                                }
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}x{1} map, grid {2}, batch {3}")
    @CsvSource({"5,7,4,2", "3,3,2,1", "6,6,4,2", "7,7,8,1", "4,6,2,2", "48,40,8,4"})
    void realTokensAttendOnlyToRealTokens(int h, int w, int g, int batch) {
        int heads = 2;
        int d = 3;
        WindowAttentionCore core = new WindowAttentionCore(heads, d, g, h, w);
        assertEquals(h % g != 0 || w % g != 0, core.cutsEdgeWindows());
        ComputationGraph net = core(core, 3 * heads * d, h, w, DataType.DOUBLE);
        Nd4j.getRandom().setSeed(3);
        for (int pass = 0; pass < 2; pass++) { // the second pass reuses the Scratch arrays of the first (large maps)
            INDArray qkv = Nd4j.randn(DataType.DOUBLE, batch, 3L * heads * d, h, w).muli(2);
            INDArray out = net.outputSingle(qkv);
            assertArrayEquals(new long[] {batch, heads * d, h, w}, out.shape());
            INDArray expected = Nd4j.create(reference(qkv, heads, d, g));
            double err = out.sub(expected).amaxNumber().doubleValue();
            assertTrue(err < 1e-12, "pass " + pass + ", largest difference to the reference: " + err);
        }
    }

    @ParameterizedTest(name = "{0}x{1} map, batch {2}")
    @CsvSource({"2,3,2", "16,16,1", "17,16,2", "23,25,1"})
    void globalAttentionMatchesTheReferenceAcrossQueryBlocks(int h, int w, int batch) {
        // global attention takes its queries AttentionLayout.QUERY_BLOCK (256) at a time: 256, 272 and 575 tokens
        // are one, two and three blocks; one window covering the whole map is the same computation in the reference
        int heads = 2;
        int d = 3;
        ComputationGraph net = core(GlobalAttentionCore.fused(heads, d, h, w), 3 * heads * d, h, w, DataType.DOUBLE);
        Nd4j.getRandom().setSeed(11);
        for (int pass = 0; pass < 2; pass++) {
            INDArray qkv = Nd4j.randn(DataType.DOUBLE, batch, 3L * heads * d, h, w).muli(2);
            INDArray out = net.outputSingle(qkv);
            INDArray expected = Nd4j.create(reference(qkv, heads, d, Math.max(h, w)));
            double err = out.sub(expected).amaxNumber().doubleValue();
            assertTrue(err < 1e-12, "pass " + pass + ", largest difference to the reference: " + err);
        }
    }

    @ParameterizedTest(name = "{0}x{1} map, grid {2}")
    @CsvSource({"5,7,4", "7,7,8"})
    void paddedKeysGetExactlyZeroWeightInFloat(int h, int w, int g) {
        // a real token whose value is huge would dominate if a padded (zero) key leaked any weight into the
        // softmax denominator; in float the padded logits must underflow to exactly zero weight
        int heads = 1;
        int d = 4;
        ComputationGraph net = core(new WindowAttentionCore(heads, d, g, h, w), 3 * d, h, w, DataType.FLOAT);
        Nd4j.getRandom().setSeed(5);
        INDArray qkv = Nd4j.randn(DataType.FLOAT, 1, 3L * d, h, w);
        // every real query-key product is strongly negative: a zero-logit padded key would take almost all weight
        qkv.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, d))
                .assign(3);
        qkv.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.interval(d, 2 * d))
                .assign(-3);
        INDArray out = net.outputSingle(qkv);
        INDArray expected = Nd4j.create(reference(qkv.castTo(DataType.DOUBLE), heads, d, g)).castTo(DataType.FLOAT);
        double err = out.sub(expected).amaxNumber().doubleValue();
        assertTrue(err < 1e-5, "largest difference to the reference: " + err);
        assertFalse(out.isNaN().any(), "NaN in the output");
    }
}
