package org.transcnn.layers.runtime;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.kernels.Activation;
import org.transcnn.kernels.NormActDouble;
import org.transcnn.kernels.NormActFloat;
import org.transcnn.kernels.Norm;
import org.transcnn.layers.BatchNorm;

import java.util.Arrays;
import java.util.Map;

/**
 * Runtime layer of {@link BatchNorm}: the fused kernels of {@link NormActFloat} (FLOAT networks) or its generated
 * double twin (DOUBLE networks), with the layer's activation inside the same pass when it is SiLU. Running statistics
 * are updated the DL4J way (as a "gradient" that the NoOp updater subtracts), towards the batch mean and the unbiased
 * batch variance, as PyTorch does.
 */
public class BatchNormLayer extends BatchNormalization {

    /** Batch statistics of the last training-mode forward pass and the input they belong to, for the backward pass. */
    private INDArray statsInput;
    private double[][] stats;

    public BatchNormLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private BatchNorm bnConf() {
        return (BatchNorm) layerConf();
    }

    private void checkInput(INDArray x) {
        if (x.rank() != 4 || x.size(1) != bnConf().getNOut()) {
            throw new IllegalArgumentException("BatchNorm " + layerId() + " expects [B, " + bnConf().getNOut()
                    + ", H, W], got " + Arrays.toString(x.shape()));
        }
    }

    /** The activation the kernel applies: SiLU or none. */
    private Activation kernelActivation() {
        return bnConf().getFusedActivation() instanceof ActivationSwish ? Activation.SILU : Activation.IDENTITY;
    }

    /** An activation applied by ND4J after the kernel (neither none nor SiLU), or null. */
    private IActivation separateActivation() {
        IActivation a = bnConf().getFusedActivation();
        return a == null || a instanceof ActivationSwish ? null : a;
    }

    private double[] param(String key) {
        return getParam(key).castTo(DataType.DOUBLE).dup().data().asDouble();
    }

    @Override
    public INDArray preOutput(INDArray x, TrainingMode training, LayerWorkspaceMgr mgr) {
        checkInput(x);
        INDArray out = normalise(x.castTo(dataType), training == TrainingMode.TRAIN, kernelActivation(),
                mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, x.shape(), 'c'));
        IActivation after = separateActivation();
        return after == null ? out : after.getActivation(out, training == TrainingMode.TRAIN);
    }

    /**
     * {@code act(BN(x))} into {@code out}; in training mode with the batch statistics, which are kept for the
     * backward pass.
     */
    private INDArray normalise(INDArray x, boolean training, Activation act, INDArray out) {
        long[] shape = x.shape();
        int b = (int) shape[0];
        int c = (int) shape[1];
        int plane = (int) (shape[2] * shape[3]);
        boolean isFloat = dataType == DataType.FLOAT;
        float[] xf = isFloat ? Buffers.readFloats(x) : null;
        double[] xd = isFloat ? null : Buffers.read(x);
        Norm norm = new Norm(param(BatchNormalizationParamInitializer.GAMMA),
                param(BatchNormalizationParamInitializer.BETA), param(BatchNormalizationParamInitializer.GLOBAL_MEAN),
                param(BatchNormalizationParamInitializer.GLOBAL_VAR), bnConf().getEps());
        if (training) {
            norm.batchMean = new double[c];
            norm.batchVar = new double[c];
            if (isFloat) {
                NormActFloat.statistics(xf, b, c, plane, norm.batchMean, norm.batchVar);
            } else {
                NormActDouble.statistics(xd, b, c, plane, norm.batchMean, norm.batchVar);
            }
            stats = new double[][] {norm.batchMean, norm.batchVar};
            statsInput = x;
        }
        double[] scale = norm.scale(training);
        double[] shift = norm.shift(training, scale);
        if (isFloat) {
            NormActFloat.forward(xf, xf, b, c, plane, scale, shift, act);
            Buffers.write(xf, out);
            Scratch.give(xf);
        } else {
            NormActDouble.forward(xd, xd, b, c, plane, scale, shift, act);
            Buffers.write(xd, out);
            Scratch.give(xd);
        }
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        checkInput(input);
        INDArray x = input.castTo(dataType);
        long[] shape = x.shape();
        int b = (int) shape[0];
        int c = (int) shape[1];
        int plane = (int) (shape[2] * shape[3]);
        double count = (double) b * plane;
        Activation act = kernelActivation();
        INDArray dy = epsilon.castTo(dataType);
        IActivation after = separateActivation();
        if (after != null) {
            // d/dz of the activation ND4J applied after the kernel, at z = BN(x) recomputed (batch statistics)
            INDArray z = normalise(x, true, Activation.IDENTITY, Nd4j.createUninitialized(dataType, shape, 'c'));
            dy = after.backprop(z, dy.dup()).getFirst();
        }
        double[][] batchStats = statsInput == input && stats != null ? stats : null;
        if (batchStats == null) {
            double[] mean = new double[c];
            double[] var = new double[c];
            if (dataType == DataType.FLOAT) {
                float[] xf = Buffers.readFloats(x);
                NormActFloat.statistics(xf, b, c, plane, mean, var);
                Scratch.give(xf);
            } else {
                double[] xd = Buffers.read(x);
                NormActDouble.statistics(xd, b, c, plane, mean, var);
                Scratch.give(xd);
            }
            batchStats = new double[][] {mean, var};
        }
        statsInput = null;
        stats = null;
        double[] mean = batchStats[0];
        double[] var = batchStats[1];
        double[] gamma = param(BatchNormalizationParamInitializer.GAMMA);
        double[] beta = param(BatchNormalizationParamInitializer.BETA);
        double[] dGamma = new double[c];
        double[] dBeta = new double[c];
        double eps = bnConf().getEps();
        INDArray dInput = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, shape, 'c');
        if (dataType == DataType.FLOAT) {
            float[] xf = Buffers.readFloats(x);
            float[] g = Buffers.readFloats(dy);
            NormActFloat.backward(xf, g, g, b, c, plane, mean, var, gamma, beta, eps, act, dGamma, dBeta);
            Buffers.write(g, dInput);
            Scratch.give(xf, g);
        } else {
            double[] xd = Buffers.read(x);
            double[] g = Buffers.read(dy);
            NormActDouble.backward(xd, g, g, b, c, plane, mean, var, gamma, beta, eps, act, dGamma, dBeta);
            Buffers.write(g, dInput);
            Scratch.give(xd, g);
        }
        Norm norm = new Norm(gamma, beta, param(BatchNormalizationParamInitializer.GLOBAL_MEAN),
                param(BatchNormalizationParamInitializer.GLOBAL_VAR), eps);
        norm.batchMean = mean;
        norm.batchVar = var;
        double[][] step = norm.runningStatisticsStep(bnConf().getDecay(), count);
        Gradient grad = new DefaultGradient();
        setGradient(grad, gradientViews, BatchNormalizationParamInitializer.GAMMA, dGamma);
        setGradient(grad, gradientViews, BatchNormalizationParamInitializer.BETA, dBeta);
        setGradient(grad, gradientViews, BatchNormalizationParamInitializer.GLOBAL_MEAN, step[0]);
        setGradient(grad, gradientViews, BatchNormalizationParamInitializer.GLOBAL_VAR, step[1]);
        return new Pair<>(grad, dInput);
    }

    /** Writes {@code values} into the gradient view {@code key} of {@code views} and records it in {@code g}. */
    static void setGradient(Gradient g, Map<String, INDArray> views, String key, double[] values) {
        INDArray view = views.get(key);
        view.assign(Nd4j.create(values, view.shape(), view.dataType()));
        g.setGradientFor(key, view);
    }
}
