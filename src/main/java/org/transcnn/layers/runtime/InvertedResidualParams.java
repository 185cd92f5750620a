package org.transcnn.layers.runtime;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.IWeightInit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.layers.InvertedResidual;

import java.util.List;
import java.util.Map;

/**
 * Parameters of an {@link InvertedResidual}: keys, torch shapes and order as its javadoc lists them. Convolution
 * weights are drawn from the layer's weight initialisation; BatchNorm weights start at 1, biases and running means at
 * 0, running variances at 1 (PyTorch's defaults).
 */
public final class InvertedResidualParams extends BlockParams {

    public static final InvertedResidualParams INSTANCE = new InvertedResidualParams();

    /** The keys' prefix of a layer with the residual: the official block's sub-module name. */
    public static final String PREFIX = "conv.";

    private static final List<String> KEYS = List.of(InvertedResidual.W1, InvertedResidual.G1, InvertedResidual.B1,
            InvertedResidual.WDW, InvertedResidual.G2, InvertedResidual.B2, InvertedResidual.W3, InvertedResidual.G3,
            InvertedResidual.B3, InvertedResidual.M1, InvertedResidual.V1, InvertedResidual.M2, InvertedResidual.V2,
            InvertedResidual.M3, InvertedResidual.V3);
    private static final List<String> RESIDUAL_KEYS = KEYS.stream().map(k -> PREFIX + k).toList();
    private static final List<String> WEIGHTS = List.of(InvertedResidual.W1, InvertedResidual.WDW,
            InvertedResidual.W3);
    private static final List<String> RESIDUAL_WEIGHTS = WEIGHTS.stream().map(k -> PREFIX + k).toList();

    private InvertedResidualParams() {
    }

    public static List<String> keys(InvertedResidual irb) {
        return irb.isResidual() ? RESIDUAL_KEYS : KEYS;
    }

    private static String base(String key) {
        return key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key;
    }

    static boolean isWeightKey(String key) {
        return WEIGHTS.contains(base(key));
    }

    /** The torch shape of parameter {@code key} of {@code irb}. */
    public static long[] shape(InvertedResidual irb, String prefixed) {
        String key = base(prefixed);
        long c = irb.getChannels();
        long e = irb.getHidden();
        long k = irb.getKernelSize();
        switch (key) {
            case InvertedResidual.W1:
                return new long[] {e, c, 1, 1};
            case InvertedResidual.WDW:
                return new long[] {e, 1, k, k};
            case InvertedResidual.W3:
                return new long[] {c, e, 1, 1};
            default:
                return new long[] {key.startsWith("conv3.") ? c : e};
        }
    }

    @Override
    List<String> keys(Layer layer) {
        return keys((InvertedResidual) layer);
    }

    @Override
    long[] shape(Layer layer, String key) {
        return shape((InvertedResidual) layer, key);
    }

    @Override
    public boolean isWeight(String key) {
        return isWeightKey(key);
    }

    @Override
    String what() {
        return "IRB";
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initialize) {
        InvertedResidual irb = (InvertedResidual) conf.getLayer();
        Map<String, INDArray> params = register(conf, paramsView);
        if (initialize) {
            IWeightInit init = irb.getWeightInitFn();
            long c = irb.getChannels();
            long e = irb.getHidden();
            long k2 = (long) irb.getKernelSize() * irb.getKernelSize();
            INDArray w1 = params.get(irb.key(InvertedResidual.W1));
            INDArray wdw = params.get(irb.key(InvertedResidual.WDW));
            INDArray w3 = params.get(irb.key(InvertedResidual.W3));
            init.init(c, e, w1.shape(), 'c', w1);
            init.init(k2, k2, wdw.shape(), 'c', wdw);
            init.init(e, c, w3.shape(), 'c', w3);
            for (String key : keys(irb)) {
                if (!isWeightKey(key)) {
                    params.get(key).assign(key.endsWith(".weight") || key.endsWith(".var") ? 1 : 0);
                }
            }
        }
        return params;
    }
}
