package org.transcnn.layers;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.IWeightInit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters of an {@link HMHSA}: keys, torch shapes and order as its javadoc lists them. Convolution weights are
 * drawn from the layer's weight initialisation, convolution biases start at 0; BatchNorm weights start at 1, biases
 * and running means at 0, running variances at 1 (PyTorch's defaults).
 */
final class HMHSAParams implements ParamInitializer {

    static final HMHSAParams INSTANCE = new HMHSAParams();

    /** The keys' prefix of a layer with the residual: the official block's sub-module name. */
    static final String PREFIX = "attn.";

    private static final List<String> GLOBAL_KEYS = List.of(HMHSA.NORM_W, HMHSA.NORM_B, HMHSA.QKV_W, HMHSA.QKV_B,
            HMHSA.PROJ_W, HMHSA.PROJ_B, HMHSA.NORM_M, HMHSA.NORM_V);
    private static final List<String> HIERARCHICAL_KEYS = List.of(HMHSA.NORM_W, HMHSA.NORM_B, HMHSA.QKV_W,
            HMHSA.QKV_B, HMHSA.GRID_NORM_W, HMHSA.GRID_NORM_B, HMHSA.Q_W, HMHSA.Q_B, HMHSA.DS_NORM_W, HMHSA.DS_NORM_B,
            HMHSA.KV_W, HMHSA.KV_B, HMHSA.PROJ_W, HMHSA.PROJ_B, HMHSA.NORM_M, HMHSA.NORM_V, HMHSA.GRID_NORM_M,
            HMHSA.GRID_NORM_V, HMHSA.DS_NORM_M, HMHSA.DS_NORM_V);
    private static final List<String> WEIGHTS = List.of(HMHSA.QKV_W, HMHSA.Q_W, HMHSA.KV_W, HMHSA.PROJ_W);

    private HMHSAParams() {
    }

    static List<String> keys(HMHSA a) {
        List<String> base = a.getGridSize() > 1 ? HIERARCHICAL_KEYS : GLOBAL_KEYS;
        return a.isResidual() ? base.stream().map(k -> PREFIX + k).toList() : base;
    }

    static String base(String key) {
        return key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key;
    }

    static boolean isWeight(String key) {
        return WEIGHTS.contains(base(key));
    }

    static boolean isRunningStatistic(String key) {
        return key.endsWith(".mean") || key.endsWith(".var");
    }

    /** The torch shape of parameter {@code key} of {@code a}. */
    static long[] shape(HMHSA a, String prefixed) {
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

    private static long length(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    private static HMHSA layer(Layer layer) {
        return (HMHSA) layer;
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        long n = 0;
        for (String key : keys(layer(layer))) {
            n += length(shape(layer(layer), key));
        }
        return n;
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        return keys(layer(layer));
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        return layer(layer).isResidual() ? WEIGHTS.stream().map(k -> PREFIX + k).toList() : WEIGHTS;
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
    private static Map<String, INDArray> views(HMHSA a, INDArray flat) {
        INDArray row = flat.rank() == 1 ? flat : flat.reshape(flat.length());
        Map<String, INDArray> out = new LinkedHashMap<>();
        long offset = 0;
        for (String key : keys(a)) {
            long[] shape = shape(a, key);
            long n = length(shape);
            out.put(key, row.get(NDArrayIndex.interval(offset, offset + n)).reshape('c', shape));
            offset += n;
        }
        if (offset != row.length()) {
            throw new IllegalStateException("H-MHSA " + a.getLayerName() + " needs " + offset + " parameters, the view "
                    + "has " + row.length());
        }
        return out;
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initialize) {
        HMHSA a = layer(conf.getLayer());
        Map<String, INDArray> params = views(a, paramsView);
        for (String key : keys(a)) {
            // DL4J's own initialisers register their keys: setParams and the updater read this list
            if (!conf.variables(false).contains(key)) {
                conf.addVariable(key);
            }
        }
        if (initialize) {
            IWeightInit init = a.getWeightInitFn();
            for (String key : keys(a)) {
                INDArray v = params.get(key);
                if (isWeight(key)) {
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

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return views(layer(conf.getLayer()), gradientView);
    }
}
