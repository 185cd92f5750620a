package org.transcnn.layers.runtime;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.DropOutInverted;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.kernels.Norm;

/**
 * What the fused blocks' runtime layers ({@link InvertedResidualLayer}, {@link HMHSALayer}) share with each other and
 * not with DL4J's BaseLayer: C-ordered parameter views in torch layouts, BatchNorm running statistics as parameters
 * whose "gradient" is their update, and dropout masks drawn as DL4J's own layers draw theirs.
 *
 * @param <C> the layer configuration
 */
public abstract class BlockLayer<C extends org.deeplearning4j.nn.conf.layers.BaseLayer> extends BaseLayer<C> {

    BlockLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public Type type() {
        return Type.CONVOLUTIONAL;
    }

    /**
     * DL4J divides gradients by the batch size in the updater; the running statistics' "gradient" is the update
     * itself (as DL4J's BatchNormalization says for its own).
     */
    @Override
    public boolean updaterDivideByMinibatch(String paramName) {
        return !BlockParams.isRunningStatistic(paramName);
    }

    /**
     * A dropout mask of {@code n} values, 0 or 1 / (1 - rate), drawn as DL4J's SpatialDropout and {@link org.transcnn.layers.DropPath}
     * draw theirs (ND4J's inverted dropout on ones), so that a fused block and its composition draw the same masks
     * from the same seed; null when not training or not dropping. Returned as a float[] or double[] for the kernel.
     */
    Object mask(long n, double rate, boolean training) {
        if (!training || rate <= 0) {
            return null;
        }
        INDArray m = Nd4j.createUninitialized(dataType, n).assign(1.0);
        Nd4j.getExecutioner().exec(new DropOutInverted(m, 1.0 - rate));
        return dataType == DataType.FLOAT ? m.data().asFloat() : m.data().asDouble();
    }

    /** Parameter {@code key}'s values in double (a copy). */
    double[] doubles(String key) {
        return getParam(key).castTo(DataType.DOUBLE).dup().data().asDouble();
    }

    /** The BatchNorm held under these four parameter keys, as the kernels read it. */
    Norm norm(String gamma, String beta, String mean, String var, double eps) {
        return new Norm(doubles(gamma), doubles(beta), doubles(mean), doubles(var), eps);
    }

    /** Writes {@code values} into the gradient view {@code key} and records it in {@code g}. */
    void setGradient(Gradient g, String key, double[] values) {
        BatchNormLayer.setGradient(g, gradientViews, key, values);
    }

    /** The running statistics' update ({@link Norm#runningStatisticsStep}) as their gradient, as BatchNormLayer's. */
    void runningStatistics(Gradient g, Norm norm, String meanKey, String varKey, long count, double decay) {
        double[][] step = norm.runningStatisticsStep(decay, count);
        setGradient(g, meanKey, step[0]);
        setGradient(g, varKey, step[1]);
    }

    /** The parameters are C-ordered views (torch layouts); DL4J's BaseLayer would copy them in F order. */
    @Override
    public void setParams(INDArray params) {
        if (params != paramsFlattened) {
            setParams(params, 'c');
        }
    }

    @Override
    public void clearNoiseWeightParams() {
        // no weight noise: the kernels read the parameters themselves
    }
}
