package org.transcnn.layers.runtime;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.kernels.HMHSADouble;
import org.transcnn.kernels.HMHSAFloat;
import org.transcnn.kernels.HMHSAShape;
import org.transcnn.kernels.Norm;
import org.transcnn.layers.HMHSA;

import java.lang.ref.Reference;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Runtime layer of {@link HMHSA}: {@link HMHSAFloat} (FLOAT networks) or its generated double twin (DOUBLE networks)
 * on ND4J's buffers. A training-mode forward pass keeps the maps its backward pass needs (qkv, x + L, q, kv and the
 * projection's input) in the activations workspace with the batch statistics and dropout masks; a backward pass
 * without one runs it first.
 */
public class HMHSALayer extends BlockLayer<HMHSA> {

    /** What a training-mode forward pass keeps for the backward pass, and the input it belongs to. */
    private record Saved(INDArray input, INDArray qkv, INDArray t, INDArray q, INDArray kv, INDArray sum,
            Norm[] norms, Object mask, Object path) {
    }

    private Saved saved;

    public HMHSALayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private HMHSAShape shape(INDArray x) {
        HMHSA c = layerConf();
        long[] s = x.shape();
        if (s.length != 4 || s[1] != c.getChannels() || s[2] != c.getHeight() || s[3] != c.getWidth()) {
            throw new IllegalArgumentException("H-MHSA " + layerId() + " expects [B, " + c.getChannels() + ", "
                    + c.getHeight() + ", " + c.getWidth() + "] (channels, height and width as built), got "
                    + Arrays.toString(s));
        }
        return new HMHSAShape((int) s[0], c.getChannels(), c.getChannels() / c.getHeadDim(), c.getHeight(),
                c.getWidth(), c.getGridSize(), c.getGridSize() > 1 ? c.getDsRatio() : 1);
    }

    private String k(String base) {
        return layerConf().key(base);
    }

    private Norm norm(String prefix) {
        return norm(k(prefix + ".weight"), k(prefix + ".bias"), k(prefix + ".mean"), k(prefix + ".var"),
                layerConf().getEps());
    }

    private Norm[] norms(boolean hierarchical) {
        return hierarchical ? new Norm[] {norm("norm"), norm("grid-norm"), norm("ds-norm")}
                : new Norm[] {norm("norm"), null, null};
    }

    /** The element offset of parameter (or gradient) view {@code key} in its buffer, checked C-contiguous. */
    private long offset(java.util.Map<String, INDArray> views, String key) {
        INDArray v = views.get(key);
        if (!Buffers.isCContiguous(v) || v.dataType() != dataType) {
            throw new IllegalStateException("H-MHSA " + layerId() + ": " + key + " is not a C-contiguous " + dataType
                    + " view");
        }
        return v.offset();
    }

    private long[] weightOffsets(java.util.Map<String, INDArray> views, boolean hierarchical) {
        return new long[] {offset(views, k(HMHSA.QKV_W)), hierarchical ? offset(views, k(HMHSA.Q_W)) : 0,
            hierarchical ? offset(views, k(HMHSA.KV_W)) : 0, offset(views, k(HMHSA.PROJ_W))};
    }

    private HMHSAFloat.Weights floatWeights(boolean hierarchical) {
        long[] o = weightOffsets(params, hierarchical);
        return new HMHSAFloat.Weights(paramsFlattened.data().asNioFloat(), o[0], o[1], o[2], o[3],
                floats(HMHSA.QKV_B), hierarchical ? floats(HMHSA.Q_B) : null,
                hierarchical ? floats(HMHSA.KV_B) : null, floats(HMHSA.PROJ_B));
    }

    private HMHSADouble.Weights doubleWeights(boolean hierarchical) {
        long[] o = weightOffsets(params, hierarchical);
        return new HMHSADouble.Weights(paramsFlattened.data().asNioDouble(), o[0], o[1], o[2], o[3],
                doubles(k(HMHSA.QKV_B)), hierarchical ? doubles(k(HMHSA.Q_B)) : null,
                hierarchical ? doubles(k(HMHSA.KV_B)) : null, doubles(k(HMHSA.PROJ_B)));
    }

    private float[] floats(String base) {
        return getParam(k(base)).dup().data().asFloat();
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        INDArray x = Buffers.contiguous(input.castTo(dataType));
        HMHSAShape s = shape(x);
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, x.shape(), 'c');
        forward(x, s, training, training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM, out, mgr);
        return out;
    }

    private INDArray map(LayerWorkspaceMgr mgr, ArrayType type, HMHSAShape s, long channels, long h, long w) {
        return mgr.createUninitialized(type, dataType, new long[] {s.batch(), channels, h, w}, 'c');
    }

    /** The forward pass of {@code x} into {@code out}, the maps kept for the backward pass in {@code keep}. */
    private void forward(INDArray x, HMHSAShape s, boolean training, ArrayType keep, INDArray out,
            LayerWorkspaceMgr mgr) {
        HMHSA conf = layerConf();
        boolean hier = s.hierarchical();
        long c = s.channels();
        INDArray qkv = map(mgr, keep, s, 3 * c, s.height(), s.width());
        INDArray t = hier ? map(mgr, keep, s, c, s.height(), s.width()) : null;
        INDArray q = hier ? map(mgr, keep, s, c, s.height(), s.width()) : null;
        INDArray kv = hier ? map(mgr, keep, s, 2 * c, s.pooledHeight(), s.pooledWidth()) : null;
        INDArray sum = map(mgr, keep, s, c, s.height(), s.width());
        INDArray work = map(mgr, ArrayType.FF_WORKING_MEM, s, c, s.height(), s.width());
        Norm[] n = norms(hier);
        Object mask = mask((long) s.batch() * s.channels(), conf.getDropRate(), training);
        Object path = conf.isResidual() ? mask(s.batch(), conf.getDropPathRate(), training) : null;
        try {
            if (dataType == DataType.FLOAT) {
                HMHSAFloat.forward(s, x.data().asNioFloat(), floatWeights(hier), n[0], n[1], n[2], training,
                        (float[]) mask, (float[]) path, conf.isResidual(), qkv.data().asNioFloat(), floats(t),
                        floats(q), floats(kv), sum.data().asNioFloat(), work.data().asNioFloat(),
                        out.data().asNioFloat(), Scratch.FLOATS);
            } else {
                HMHSADouble.forward(s, x.data().asNioDouble(), doubleWeights(hier), n[0], n[1], n[2], training,
                        (double[]) mask, (double[]) path, conf.isResidual(), qkv.data().asNioDouble(), doubles(t),
                        doubles(q), doubles(kv), sum.data().asNioDouble(), work.data().asNioDouble(),
                        out.data().asNioDouble(), Scratch.DOUBLES);
            }
        } finally {
            Reference.reachabilityFence(x);
            Reference.reachabilityFence(paramsFlattened);
            Reference.reachabilityFence(qkv);
            Reference.reachabilityFence(t);
            Reference.reachabilityFence(q);
            Reference.reachabilityFence(kv);
            Reference.reachabilityFence(sum);
            Reference.reachabilityFence(work);
            Reference.reachabilityFence(out);
        }
        saved = training ? new Saved(input, qkv, t, q, kv, sum, n, mask, path) : null;
    }

    private static FloatBuffer floats(INDArray a) {
        return a == null ? null : a.data().asNioFloat();
    }

    private static DoubleBuffer doubles(INDArray a) {
        return a == null ? null : a.data().asNioDouble();
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        INDArray x = Buffers.contiguous(input.castTo(dataType));
        HMHSAShape s = shape(x);
        if (!Arrays.equals(epsilon.shape(), x.shape())) {
            throw new IllegalArgumentException("H-MHSA " + layerId() + ": output gradient " + Arrays.toString(
                    epsilon.shape()) + " does not match the input " + Arrays.toString(x.shape()));
        }
        if (saved == null || saved.input != input) {
            INDArray discard = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, x.shape(), 'c');
            forward(x, s, true, ArrayType.BP_WORKING_MEM, discard, mgr);
        }
        Saved f = saved;
        saved = null;
        boolean hier = s.hierarchical();
        long c = s.channels();
        long scratch = Math.max(c * s.pixels(), 2 * c * s.pooledPixels());
        INDArray dy = Buffers.contiguous(epsilon.castTo(dataType));
        INDArray big = map(mgr, ArrayType.BP_WORKING_MEM, s, 3 * c, s.height(), s.width());
        INDArray w1 = map(mgr, ArrayType.BP_WORKING_MEM, s, 1, 1, scratch);
        INDArray w2 = map(mgr, ArrayType.BP_WORKING_MEM, s, 1, 1, scratch);
        INDArray w3 = map(mgr, ArrayType.BP_WORKING_MEM, s, 1, 1, scratch);
        INDArray dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, x.shape(), 'c');
        long[] go = weightOffsets(gradientViews, hier);
        double[][] dBias = {new double[3 * (int) c], new double[(int) c], new double[2 * (int) c],
            new double[(int) c]};
        double[][] dNorm = new double[6][];
        for (int i = 0; i < 6; i++) {
            dNorm[i] = new double[(int) c];
        }
        Norm[] n = f.norms;
        HMHSA conf = layerConf();
        try {
            if (dataType == DataType.FLOAT) {
                HMHSAFloat.Weights gw = new HMHSAFloat.Weights(gradientsFlattened.data().asNioFloat(), go[0], go[1],
                        go[2], go[3], null, null, null, null);
                HMHSAFloat.backward(s, x.data().asNioFloat(), floatWeights(hier), n[0], n[1], n[2],
                        (float[]) f.mask, (float[]) f.path, conf.isResidual(), f.qkv.data().asNioFloat(),
                        floats(f.t), floats(f.q), floats(f.kv), f.sum.data().asNioFloat(), dy.data().asNioFloat(),
                        big.data().asNioFloat(), w1.data().asNioFloat(), w2.data().asNioFloat(),
                        w3.data().asNioFloat(), dx.data().asNioFloat(), gw, dBias, dNorm, Scratch.FLOATS);
            } else {
                HMHSADouble.Weights gw = new HMHSADouble.Weights(gradientsFlattened.data().asNioDouble(), go[0],
                        go[1], go[2], go[3], null, null, null, null);
                HMHSADouble.backward(s, x.data().asNioDouble(), doubleWeights(hier), n[0], n[1], n[2],
                        (double[]) f.mask, (double[]) f.path, conf.isResidual(), f.qkv.data().asNioDouble(),
                        doubles(f.t), doubles(f.q), doubles(f.kv), f.sum.data().asNioDouble(),
                        dy.data().asNioDouble(), big.data().asNioDouble(), w1.data().asNioDouble(),
                        w2.data().asNioDouble(), w3.data().asNioDouble(), dx.data().asNioDouble(), gw, dBias, dNorm,
                        Scratch.DOUBLES);
            }
        } finally {
            Reference.reachabilityFence(x);
            Reference.reachabilityFence(paramsFlattened);
            Reference.reachabilityFence(gradientsFlattened);
            Reference.reachabilityFence(f);
            Reference.reachabilityFence(dy);
            Reference.reachabilityFence(big);
            Reference.reachabilityFence(w1);
            Reference.reachabilityFence(w2);
            Reference.reachabilityFence(w3);
            Reference.reachabilityFence(dx);
        }
        Gradient grad = new DefaultGradient();
        set(grad, HMHSA.NORM_W, dNorm[0]);
        set(grad, HMHSA.NORM_B, dNorm[1]);
        grad.setGradientFor(k(HMHSA.QKV_W), gradientViews.get(k(HMHSA.QKV_W)));
        set(grad, HMHSA.QKV_B, dBias[0]);
        if (hier) {
            set(grad, HMHSA.GRID_NORM_W, dNorm[2]);
            set(grad, HMHSA.GRID_NORM_B, dNorm[3]);
            grad.setGradientFor(k(HMHSA.Q_W), gradientViews.get(k(HMHSA.Q_W)));
            set(grad, HMHSA.Q_B, dBias[1]);
            set(grad, HMHSA.DS_NORM_W, dNorm[4]);
            set(grad, HMHSA.DS_NORM_B, dNorm[5]);
            grad.setGradientFor(k(HMHSA.KV_W), gradientViews.get(k(HMHSA.KV_W)));
            set(grad, HMHSA.KV_B, dBias[2]);
        }
        grad.setGradientFor(k(HMHSA.PROJ_W), gradientViews.get(k(HMHSA.PROJ_W)));
        set(grad, HMHSA.PROJ_B, dBias[3]);
        long count = (long) s.batch() * s.pixels();
        runningStatistics(grad, n[0], "norm", count);
        if (hier) {
            runningStatistics(grad, n[1], "grid-norm", count);
            runningStatistics(grad, n[2], "ds-norm", (long) s.batch() * s.pooledPixels());
        }
        return new Pair<>(grad, dx);
    }

    private void runningStatistics(Gradient grad, Norm norm, String prefix, long count) {
        runningStatistics(grad, norm, k(prefix + ".mean"), k(prefix + ".var"), count, layerConf().getDecay());
    }

    private void set(Gradient g, String base, double[] values) {
        setGradient(g, k(base), values);
    }

    @Override
    public void clear() {
        super.clear();
        saved = null;
    }
}
