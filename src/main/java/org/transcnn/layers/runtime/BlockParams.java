package org.transcnn.layers.runtime;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the fused blocks' parameter initialisers ({@link InvertedResidualParams}, {@link HMHSAParams}) share: the
 * layer's parameters are its keys in order, each a C-ordered view of the flat parameter (or gradient) array in its
 * torch shape; the weights are the keys {@link #isWeight} names; there are no DL4J bias keys (biases are not
 * regularised, which {@link #isWeight} already says).
 */
public abstract class BlockParams implements ParamInitializer {

    /** The parameter keys of {@code layer}, in the order of its parameter view. */
    abstract List<String> keys(Layer layer);

    /** The torch shape of parameter {@code key} of {@code layer}. */
    abstract long[] shape(Layer layer, String key);

    /** Whether {@code key} is a convolution weight (weight decay, weight initialisation). */
    public abstract boolean isWeight(String key);

    /** The block's name in error messages ("IRB", "H-MHSA"). */
    abstract String what();

    public static boolean isRunningStatistic(String key) {
        return key.endsWith(".mean") || key.endsWith(".var");
    }

    static long length(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        long n = 0;
        for (String key : keys(layer)) {
            n += length(shape(layer, key));
        }
        return n;
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        return keys(layer);
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        return keys(layer).stream().filter(this::isWeight).toList();
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        return List.of();
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return isWeight(key);
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return false;
    }

    /** Views of {@code flat} (the layer's parameters or gradients) per key, in torch shapes. */
    Map<String, INDArray> views(Layer layer, INDArray flat) {
        INDArray row = flat.rank() == 1 ? flat : flat.reshape(flat.length());
        Map<String, INDArray> out = new LinkedHashMap<>();
        long offset = 0;
        for (String key : keys(layer)) {
            long[] shape = shape(layer, key);
            long n = length(shape);
            out.put(key, row.get(NDArrayIndex.interval(offset, offset + n)).reshape('c', shape));
            offset += n;
        }
        if (offset != row.length()) {
            throw new IllegalStateException(what() + " " + layer.getLayerName() + " needs " + offset
                    + " parameters, the view has " + row.length());
        }
        return out;
    }

    /**
     * The parameter views of {@code paramsView}, the keys registered with {@code conf} (DL4J's own initialisers do
     * this: setParams and the updater read that list).
     */
    Map<String, INDArray> register(NeuralNetConfiguration conf, INDArray paramsView) {
        Map<String, INDArray> params = views(conf.getLayer(), paramsView);
        for (String key : keys(conf.getLayer())) {
            if (!conf.variables(false).contains(key)) {
                conf.addVariable(key);
            }
        }
        return params;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return views(conf.getLayer(), gradientView);
    }
}
