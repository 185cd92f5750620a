package org.transcnn.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.transcnn.models.PreciseBatchNorm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PreciseBatchNorm} on FLOAT graphs of each kind of layer with running statistics: the stand-alone
 * {@link BatchNorm}, DL4J's {@link BatchNormalization}, and the norms inside the fused {@link InvertedResidual} and
 * {@link HMHSA} blocks. The expected statistics are computed here with plain loops over each norm's input: the
 * graph's input for the stand-alone norms, and for the fused blocks the training-mode activations of the reference
 * composition of single-operation vertices (same parameters; see {@link InvertedResidualTest}, {@link HMHSATest}),
 * where each norm is a vertex of its own. Every batch weighs the same; the last is cut to the image count asked for.
 */
class PreciseBatchNormTest {

    static final int C = 8;

    /** Per channel of {@code x} [B, C, H, W]: {mean, variance} over batch and pixels, unbiased or biased. */
    static double[][] statistics(INDArray x, boolean unbiased) {
        long[] s = x.shape();
        int b = (int) s[0];
        int c = (int) s[1];
        int plane = (int) (s[2] * s[3]);
        double[] v = x.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] mean = new double[c];
        double[] var = new double[c];
        long n = (long) b * plane;
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int i = 0; i < b; i++) {
                for (int p = 0; p < plane; p++) {
                    sum += v[(i * c + ch) * plane + p];
                }
            }
            double m = sum / n;
            double sq = 0;
            for (int i = 0; i < b; i++) {
                for (int p = 0; p < plane; p++) {
                    double d = v[(i * c + ch) * plane + p] - m;
                    sq += d * d;
                }
            }
            mean[ch] = m;
            var[ch] = sq / (unbiased ? n - 1 : n);
        }
        return new double[][] {mean, var};
    }

    /** Adds {@code v / count} into {@code sums[key]}. */
    static void accumulate(Map<String, double[]> sums, String key, double[] v, int count) {
        double[] sum = sums.computeIfAbsent(key, k -> new double[v.length]);
        for (int i = 0; i < v.length; i++) {
            sum[i] += v[i] / count;
        }
    }

    /** Channels with different offsets and spreads, down to a variance of about 1e-6. */
    static INDArray input(Random r, int batch, int h, int w) {
        float[] x = new float[batch * C * h * w];
        for (int i = 0; i < batch; i++) {
            for (int c = 0; c < C; c++) {
                double scale = Math.pow(10, -c / 2.5);
                for (int p = 0; p < h * w; p++) {
                    x[(i * C + c) * h * w + p] = (float) (c - 3 + scale * r.nextGaussian());
                }
            }
        }
        return Nd4j.create(x, new long[] {batch, C, h, w}, 'c');
    }

    /** The parameters other than running statistics, the updater state and the counters, copied. */
    record Snapshot(Map<String, INDArray> weights, INDArray updater, int iterations, int epochs) {
        static Snapshot of(ComputationGraph net) {
            Map<String, INDArray> w = new LinkedHashMap<>();
            net.paramTable().forEach((k, v) -> {
                if (!k.endsWith("mean") && !k.endsWith("var")) {
                    w.put(k, v.dup());
                }
            });
            return new Snapshot(w, net.getUpdater().getStateViewArray().dup(), net.getIterationCount(),
                    net.getEpochCount());
        }

        void assertUnchanged(ComputationGraph net) {
            weights.forEach((k, v) -> assertEquals(v, net.getParam(k), k + " unchanged"));
            assertEquals(updater, net.getUpdater().getStateViewArray(), "updater state unchanged");
            assertEquals(iterations, net.getIterationCount(), "iteration count");
            assertEquals(epochs, net.getEpochCount(), "epoch count");
        }
    }

    /** in -> BatchNorm "bn" -> loss "loss1"; in -> DL4J BatchNormalization "dl4j" -> loss "loss2". */
    static ComputationGraph standAlone(int h, int w, boolean logStd) {
        BatchNormalization dl4j = new BatchNormalization.Builder().nIn(C).nOut(C).eps(1e-5).decay(0.9)
                .useLogStd(logStd).build();
        var g = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT).updater(new Adam(1e-2))
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(h, w, C))
                .addLayer("bn", BatchNorm.of(C), "in")
                .addLayer("dl4j", dl4j, "in")
                .addLayer("loss1", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE)
                        .activation(Activation.IDENTITY).build(), "bn")
                .addLayer("loss2", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE)
                        .activation(Activation.IDENTITY).build(), "dl4j")
                .setOutputs("loss1", "loss2");
        ComputationGraph net = new ComputationGraph(g.build());
        net.init();
        return net;
    }

    static MultiDataSet twoLabels(INDArray x, Random r) {
        return new MultiDataSet(new INDArray[] {x}, new INDArray[] {Nd4j.rand(DataType.FLOAT, x.shape()),
            Nd4j.rand(DataType.FLOAT, x.shape())});
    }

    @Test
    void standAloneNormsGetTheAverageOfTheirBatchStatistics() {
        Random r = new Random(1);
        ComputationGraph net = standAlone(5, 4, false);
        net.fit(twoLabels(input(r, 3, 5, 4), r));
        net.fit(twoLabels(input(r, 3, 5, 4), r));
        List<MultiDataSet> batches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            batches.add(twoLabels(input(r, 4, 5, 4), r));
        }
        // 10 images: 4, 4 and the first 2 of the third batch, each batch counting a third
        Map<String, double[]> expected = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            INDArray x = batches.get(i).getFeatures(0);
            INDArray used = i < 2 ? x : x.get(NDArrayIndex.interval(0, 2), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.all());
            double[][] unbiased = statistics(used, true);
            double[][] biased = statistics(used, false);
            accumulate(expected, "bn_mean", unbiased[0], 3);
            accumulate(expected, "bn_var", unbiased[1], 3);
            accumulate(expected, "dl4j_mean", biased[0], 3);
            accumulate(expected, "dl4j_var", biased[1], 3);
        }
        Snapshot before = Snapshot.of(net);
        PreciseBatchNorm.Result result = PreciseBatchNorm.recompute(net, batches.iterator(), 10);
        assertEquals(new PreciseBatchNorm.Result(10, 3, List.of("bn", "dl4j")), result);
        expected.forEach((k, v) -> InvertedResidualTest.assertClose(k, Nd4j.createFromArray(v), net.getParam(k), 1e-5,
                1e-6));
        before.assertUnchanged(net);

        // from features alone: the same statistics
        ComputationGraph again = standAlone(5, 4, false);
        List<INDArray> features = batches.stream().map(b -> b.getFeatures(0)).toList();
        assertEquals(new PreciseBatchNorm.Result(10, 3, List.of("bn", "dl4j")),
                PreciseBatchNorm.recompute(again, features, 10));
        expected.forEach((k, v) -> InvertedResidualTest.assertClose(k + " (features only)", Nd4j.createFromArray(v),
                again.getParam(k), 1e-5, 1e-6));
    }

    /** A DataSetIterator (one input, one output) gives what its batches as MultiDataSets give. */
    @Test
    void aDataSetIteratorGivesTheSameStatistics() {
        Random r = new Random(6);
        var g = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT).graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(3, 4, C))
                .addLayer("bn", BatchNorm.of(C), "in")
                .addLayer("loss", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE)
                        .activation(Activation.IDENTITY).build(), "bn")
                .setOutputs("loss");
        ComputationGraph a = new ComputationGraph(g.build());
        a.init();
        ComputationGraph b = a.clone();
        List<org.nd4j.linalg.dataset.DataSet> sets = new ArrayList<>();
        List<MultiDataSet> multi = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            INDArray x = input(r, 3, 3, 4);
            INDArray y = Nd4j.rand(DataType.FLOAT, x.shape());
            sets.add(new org.nd4j.linalg.dataset.DataSet(x, y));
            multi.add(new MultiDataSet(x, y));
        }
        assertEquals(new PreciseBatchNorm.Result(7, 3, List.of("bn")), PreciseBatchNorm.recompute(a,
                new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(sets), 7));
        assertEquals(new PreciseBatchNorm.Result(7, 3, List.of("bn")), PreciseBatchNorm.recompute(b,
                multi.iterator(), 7));
        assertEquals(b.params(), a.params());
    }

    @Test
    void fusedInvertedResidualNormsGetTheAverageOfTheirBatchStatistics() {
        int h = 6;
        int w = 5;
        ComputationGraph composed = InvertedResidualTest.graph(DataType.FLOAT, h, w, 2, 3, false,
                WorkspaceMode.ENABLED, true, 0, 0);
        ComputationGraph fused = InvertedResidualTest.graph(DataType.FLOAT, h, w, 2, 3, true,
                WorkspaceMode.ENABLED, true, 0, 0);
        checkFused(composed, fused, h, w, InvertedResidualTest::composedKey,
                (k, v) -> InvertedResidualTest.composedValue(composed, k, v),
                List.of("blk/conv.conv1.1", "blk/conv.conv2.1", "blk/conv.conv3.1"));
    }

    @Test
    void fusedAttentionNormsGetTheAverageOfTheirBatchStatistics() {
        int h = 8;
        int w = 8;
        ComputationGraph composed = HMHSATest.graph(DataType.FLOAT, h, w, 4, 2, false, WorkspaceMode.ENABLED, false,
                0, 0, new Adam(1e-2));
        ComputationGraph fused = HMHSATest.graph(DataType.FLOAT, h, w, 4, 2, true, WorkspaceMode.ENABLED, false, 0,
                0, new Adam(1e-2));
        checkFused(composed, fused, h, w, HMHSATest::composedKey, (k, v) -> v,
                List.of("attn/norm", "attn/grid-norm", "attn/ds-norm"));
    }

    /**
     * Gives the fused block random BatchNorm weights and biases, trains it one step (so that it has updater state),
     * gives {@code composed} its parameters, and checks the block's re-estimated statistics against those of the
     * composed norms' inputs; the weights, the updater state and the counters stay as they were.
     */
    private static void checkFused(ComputationGraph composed, ComputationGraph fused, int h, int w,
            UnaryOperator<String> composedKey, BiFunction<String, INDArray, INDArray> composedValue,
            List<String> norms) {
        Random r = new Random(2);
        Nd4j.getRandom().setSeed(5);
        for (String k : fused.paramTable().keySet()) {
            String ck = composedKey.apply(k);
            if (ck.endsWith("_gamma")) {
                fused.getParam(k).assign(Nd4j.rand(DataType.FLOAT, fused.getParam(k).shape()).muli(0.5).addi(0.75));
            } else if (ck.endsWith("_beta")) {
                fused.getParam(k).assign(Nd4j.randn(DataType.FLOAT, fused.getParam(k).shape()).muli(0.2));
            }
        }
        fused.fit(new MultiDataSet(input(r, 2, h, w), Nd4j.rand(DataType.FLOAT, 2, C, h, w)));
        for (Map.Entry<String, INDArray> e : fused.paramTable().entrySet()) {
            INDArray target = composed.getParam(composedKey.apply(e.getKey()));
            assertNotNull(target, e.getKey());
            target.assign(composedValue.apply(e.getKey(), e.getValue()).reshape(target.shape()));
        }
        List<MultiDataSet> batches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            batches.add(new MultiDataSet(input(r, 2, h, w), Nd4j.rand(DataType.FLOAT, 2, C, h, w)));
        }
        // 5 images: 2, 2 and the first of the third batch, each batch counting a third
        Map<String, double[]> expected = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            INDArray x = batches.get(i).getFeatures(0);
            INDArray used = i < 2 ? x : x.get(NDArrayIndex.interval(0, 1), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.all());
            Map<String, INDArray> acts = composed.feedForward(used, true);
            for (String k : fused.paramTable().keySet()) {
                boolean mean = k.endsWith(".mean");
                if (!mean && !k.endsWith(".var")) {
                    continue;
                }
                String ck = composedKey.apply(k);
                String vertex = ck.substring(0, ck.lastIndexOf('_'));
                String in = composed.getConfiguration().getVertexInputs().get(vertex).get(0);
                accumulate(expected, k, statistics(acts.get(in), true)[mean ? 0 : 1], 3);
            }
        }
        assertEquals(2 * norms.size(), expected.size(), expected.keySet().toString());
        Snapshot before = Snapshot.of(fused);
        assertEquals(new PreciseBatchNorm.Result(5, 3, norms), PreciseBatchNorm.recompute(fused, batches.iterator(),
                5));
        expected.forEach((k, v) -> InvertedResidualTest.assertClose(k, Nd4j.createFromArray(v), fused.getParam(k),
                2e-4, 1e-4));
        before.assertUnchanged(fused);
    }

    @Test
    void refusesWhatItCannotReEstimateAndLeavesTheGraphAsItWas() {
        Random r = new Random(4);
        ComputationGraph logStd = standAlone(3, 3, true);
        INDArray params = logStd.params().dup();
        List<MultiDataSet> batches = List.of(twoLabels(input(r, 2, 3, 3), r));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PreciseBatchNorm.recompute(logStd, batches.iterator(), 2));
        assertEquals("PreciseBatchNorm: dl4j is a DL4J BatchNormalization with useLogStd(true) (a running log10 "
                + "standard deviation); only running variances can be re-estimated: build it with useLogStd(false), "
                + "or use org.transcnn.layers.BatchNorm", e.getMessage());
        assertEquals(params, logStd.params());

        ComputationGraph plain = standAlone(3, 3, false);
        INDArray plainParams = plain.params().dup();
        assertEquals("PreciseBatchNorm: images 0: expected at least 1", assertThrows(IllegalArgumentException.class,
                () -> PreciseBatchNorm.recompute(plain, batches.iterator(), 0)).getMessage());
        assertEquals("PreciseBatchNorm: the batches hold no image", assertThrows(IllegalArgumentException.class,
                () -> PreciseBatchNorm.recompute(plain, List.<MultiDataSet>of().iterator(), 4)).getMessage());
        assertEquals(plainParams, plain.params(), "running statistics restored after a failure");

        var g = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(3, 3, C)).addLayer("bn", BatchNorm.of(C), "in")
                .setOutputs("bn");
        ComputationGraph features = new ComputationGraph(g.build());
        features.init();
        assertEquals("PreciseBatchNorm: output bn of the graph is not an output layer (LayerVertex): the statistics "
                + "are read from a backward pass, which needs a loss; add an output layer (e.g. a loss layer) to "
                + "re-estimate them", assertThrows(IllegalArgumentException.class,
                () -> PreciseBatchNorm.recompute(features, List.of(input(r, 2, 3, 3)), 2)).getMessage());
    }
}
