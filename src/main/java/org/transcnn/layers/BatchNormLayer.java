package org.transcnn.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Runtime layer of {@link BatchNorm}: one pass per channel for the statistics and one for the normalisation, on Java
 * arrays, parallel over channels. Running statistics are updated the DL4J way (as a "gradient" that the NoOp updater
 * subtracts), towards the batch mean and the unbiased batch variance, as PyTorch does.
 */
public class BatchNormLayer extends BatchNormalization {

    /** Batch statistics of the last training-mode forward pass and the input they belong to, for the backward pass. */
    private INDArray statsInput;
    private double[][] stats;

    public BatchNormLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private org.deeplearning4j.nn.conf.layers.BatchNormalization bnConf() {
        return layerConf();
    }

    private void checkInput(INDArray x) {
        if (x.rank() != 4 || x.size(1) != bnConf().getNOut()) {
            throw new IllegalArgumentException("BatchNorm " + layerId() + " expects [B, " + bnConf().getNOut()
                    + ", H, W], got " + Arrays.toString(x.shape()));
        }
    }

    private static double[] values(INDArray a) {
        return Buffers.read(a);
    }

    @Override
    public INDArray preOutput(INDArray x, TrainingMode training, LayerWorkspaceMgr mgr) {
        checkInput(x);
        long[] shape = x.shape();
        int b = (int) shape[0];
        int c = (int) shape[1];
        int plane = (int) (shape[2] * shape[3]);
        double[] in = values(x.castTo(dataType));
        double[] gamma = values(getParam(BatchNormalizationParamInitializer.GAMMA));
        double[] beta = values(getParam(BatchNormalizationParamInitializer.BETA));
        double eps = bnConf().getEps();
        double[] mean;
        double[] var;
        if (training == TrainingMode.TRAIN) {
            stats = statistics(in, b, c, plane);
            statsInput = x;
            mean = stats[0];
            var = stats[1];
        } else {
            mean = values(getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN));
            var = values(getParam(BatchNormalizationParamInitializer.GLOBAL_VAR));
        }
        double[] out = Scratch.take(in.length);
        IntStream.range(0, c).parallel().forEach(ch -> {
            double scale = gamma[ch] / Math.sqrt(var[ch] + eps);
            double shift = beta[ch] - mean[ch] * scale;
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    out[i] = in[i] * scale + shift;
                }
            }
        });
        INDArray result = Buffers.write(out, mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, shape, 'c'));
        Scratch.give(in, out);
        return result;
    }

    /** Per-channel batch mean and biased variance. */
    private static double[][] statistics(double[] in, int b, int c, int plane) {
        double[] mean = new double[c];
        double[] var = new double[c];
        double count = (double) b * plane;
        IntStream.range(0, c).parallel().forEach(ch -> {
            double sum = 0;
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    sum += in[i];
                }
            }
            double m = sum / count;
            double sq = 0;
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    double d = in[i] - m;
                    sq += d * d;
                }
            }
            mean[ch] = m;
            var[ch] = sq / count;
        });
        return new double[][] {mean, var};
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        checkInput(input);
        long[] shape = input.shape();
        int b = (int) shape[0];
        int c = (int) shape[1];
        int plane = (int) (shape[2] * shape[3]);
        double count = (double) b * plane;
        double[] in = values(input.castTo(dataType));
        double[] dy = values(epsilon.castTo(dataType));
        double[] gamma = values(getParam(BatchNormalizationParamInitializer.GAMMA));
        double eps = bnConf().getEps();
        double[][] batchStats = statsInput == input ? stats : statistics(in, b, c, plane);
        statsInput = null;
        stats = null;
        double[] mean = batchStats[0];
        double[] var = batchStats[1];
        double[] dGamma = new double[c];
        double[] dBeta = new double[c];
        double[] dx = Scratch.take(in.length);
        IntStream.range(0, c).parallel().forEach(ch -> {
            double inv = 1.0 / Math.sqrt(var[ch] + eps);
            double m = mean[ch];
            double sumDy = 0;
            double sumDyXhat = 0;
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    sumDy += dy[i];
                    sumDyXhat += dy[i] * (in[i] - m) * inv;
                }
            }
            dBeta[ch] = sumDy;
            dGamma[ch] = sumDyXhat;
            double k = gamma[ch] * inv / count;
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                for (int i = base; i < base + plane; i++) {
                    double xhat = (in[i] - m) * inv;
                    dx[i] = k * (count * dy[i] - sumDy - xhat * sumDyXhat);
                }
            }
        });
        double decay = bnConf().getDecay();
        double unbiased = count > 1 ? count / (count - 1) : 1.0;
        double[] globalMean = values(getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN));
        double[] globalVar = values(getParam(BatchNormalizationParamInitializer.GLOBAL_VAR));
        double[] dMean = new double[c];
        double[] dVar = new double[c];
        for (int ch = 0; ch < c; ch++) {
            dMean[ch] = (1 - decay) * (globalMean[ch] - mean[ch]);
            dVar[ch] = (1 - decay) * (globalVar[ch] - var[ch] * unbiased);
        }
        Gradient g = new DefaultGradient();
        set(g, BatchNormalizationParamInitializer.GAMMA, dGamma);
        set(g, BatchNormalizationParamInitializer.BETA, dBeta);
        set(g, BatchNormalizationParamInitializer.GLOBAL_MEAN, dMean);
        set(g, BatchNormalizationParamInitializer.GLOBAL_VAR, dVar);
        INDArray dInput = Buffers.write(dx, mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, shape, 'c'));
        Scratch.give(in, dy, dx);
        return new Pair<>(g, dInput);
    }

    private void set(Gradient g, String key, double[] values) {
        INDArray view = gradientViews.get(key);
        view.assign(Nd4j.create(values, view.shape(), view.dataType()));
        g.setGradientFor(key, view);
    }
}
