package org.transcnn.layers.runtime;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.IWeightInit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.layers.HMHSA;

import java.util.List;
import java.util.Map;

/**
 * Parameters of an {@link HMHSA}: keys, torch shapes and order as its javadoc lists them. Convolution weights are
 * drawn from the layer's weight initialisation, convolution biases start at 0; BatchNorm weights start at 1, biases
 * and running means at 0, running variances at 1 (PyTorch's defaults).
 */
public final class HMHSAParams extends BlockParams {

    public static final HMHSAParams INSTANCE = new HMHSAParams();

    /** The keys' prefix of a layer with the residual: the official block's sub-module name. */
    public static final String PREFIX = "attn.";

    private static final List<String> GLOBAL_KEYS = List.of(HMHSA.NORM_W, HMHSA.NORM_B, HMHSA.QKV_W, HMHSA.QKV_B,
            HMHSA.PROJ_W, HMHSA.PROJ_B, HMHSA.NORM_M, HMHSA.NORM_V);
    private static final List<String> HIERARCHICAL_KEYS = List.of(HMHSA.NORM_W, HMHSA.NORM_B, HMHSA.QKV_W,
            HMHSA.QKV_B, HMHSA.GRID_NORM_W, HMHSA.GRID_NORM_B, HMHSA.Q_W, HMHSA.Q_B, HMHSA.DS_NORM_W, HMHSA.DS_NORM_B,
            HMHSA.KV_W, HMHSA.KV_B, HMHSA.PROJ_W, HMHSA.PROJ_B, HMHSA.NORM_M, HMHSA.NORM_V, HMHSA.GRID_NORM_M,
            HMHSA.GRID_NORM_V, HMHSA.DS_NORM_M, HMHSA.DS_NORM_V);
    private static final List<String> WEIGHTS = List.of(HMHSA.QKV_W, HMHSA.Q_W, HMHSA.KV_W, HMHSA.PROJ_W);

    private HMHSAParams() {
    }

    public static List<String> keys(HMHSA a) {
        List<String> base = a.getGridSize() > 1 ? HIERARCHICAL_KEYS : GLOBAL_KEYS;
        return a.isResidual() ? base.stream().map(k -> PREFIX + k).toList() : base;
    }

    static String base(String key) {
        return key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key;
    }

    static boolean isWeightKey(String key) {
        return WEIGHTS.contains(base(key));
    }

    /** The torch shape of parameter {@code key} of {@code a}. */
    public static long[] shape(HMHSA a, String prefixed) {
        String key = base(prefixed);
        long c = a.getChannels();
        switch (key) {
            case HMHSA.QKV_W:
                return new long[] {3 * c, c, 1, 1};
            case HMHSA.QKV_B:
                return new long[] {3 * c};
            case HMHSA.KV_W:
                return new long[] {2 * c, c, 1, 1};
            case HMHSA.KV_B:
                return new long[] {2 * c};
            case HMHSA.Q_W:
            case HMHSA.PROJ_W:
                return new long[] {c, c, 1, 1};
            default:
                return new long[] {c};
        }
    }

    @Override
    List<String> keys(Layer layer) {
        return keys((HMHSA) layer);
    }

    @Override
    long[] shape(Layer layer, String key) {
        return shape((HMHSA) layer, key);
    }

    @Override
    public boolean isWeight(String key) {
        return isWeightKey(key);
    }

    @Override
    String what() {
        return "H-MHSA";
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initialize) {
        HMHSA a = (HMHSA) conf.getLayer();
        Map<String, INDArray> params = register(conf, paramsView);
        if (initialize) {
            IWeightInit init = a.getWeightInitFn();
            for (String key : keys(a)) {
                INDArray v = params.get(key);
                if (isWeightKey(key)) {
                    init.init(v.size(1), v.size(0), v.shape(), 'c', v);
                } else {
                    String b = base(key);
                    boolean norm = b.startsWith("norm.") || b.startsWith("grid-norm.") || b.startsWith("ds-norm.");
                    v.assign(norm && (b.endsWith(".weight") || b.endsWith(".var")) ? 1 : 0);
                }
            }
        }
        return params;
    }
}
