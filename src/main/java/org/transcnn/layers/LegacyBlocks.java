package org.transcnn.layers;

import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.dropout.IDropout;
import org.deeplearning4j.nn.conf.dropout.SpatialDropout;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts graphs saved before the fused layers existed: each H-MHSA held as its composed vertices
 * ({@link HMHSA#addComposed} under {@code P}, with the block's drop path {@code P.drop_path} and sum {@code B.res1}
 * or, from {@link HMHSA#insertAfter}, {@code B} when {@code P} is {@code B.attn}) becomes one {@link HMHSA} layer
 * named after that sum (or {@code P} without one), and each inverted residual held as single-operation vertices
 * ({@code P.conv1.0} 1x1 convolution, {@code P.conv1.1} BatchNorm, in 0.1.0 an activation {@code P.conv1.2}, the
 * same for {@code P.conv2.*} with the depthwise convolution, optional {@code P.conv2.drop}, {@code P.conv3.0},
 * {@code P.conv3.1}, optional {@code P.conv3.drop}) becomes one {@link InvertedResidual} layer {@code P}; when
 * {@code P} is a block's {@code B.conv} followed by the block's drop path {@code P.drop_path} (optional) and its sum
 * {@code B = x + ...}, one layer {@code B} with the residual ({@link InvertedResidual#withResidual}). Either with the
 * same parameters, running statistics and updater state, frozen if its vertices were. Anything that does not match
 * that pattern exactly (another activation than SiLU, other sizes or wiring) is left as it is: it still computes the
 * same, just unfused.
 */
public final class LegacyBlocks {

    private LegacyBlocks() {
    }

    /**
     * One composed IRB found in a graph: its vertices under {@code prefix}, replaced by the layer {@code name} (the
     * prefix itself, or with the residual the block's sum it replaces too) reading {@code input}; consumers of
     * {@code last} read {@code name} instead.
     */
    private record Found(String prefix, String first, String name, List<String> members, String last, String input,
            Layer layer, Map<String, String> sources, boolean frozen) {
    }

    /**
     * {@code net} with every composed IRB replaced by the fused layer, or {@code net} itself when it has none.
     *
     * @param withUpdater also carry the updater state over (e.g. Adam's moments) rather than start it afresh
     */
    public static ComputationGraph fuse(ComputationGraph net, boolean withUpdater) {
        ComputationGraphConfiguration conf = net.getConfiguration();
        List<Found> found = new ArrayList<>();
        for (String name : conf.getVertices().keySet()) {
            Found f = null;
            if (name.endsWith(".conv1.0")) {
                f = match(conf, name.substring(0, name.length() - ".conv1.0".length()));
            } else if (name.endsWith(".norm")
                    && conf.getVertices().containsKey(name.substring(0, name.length() - ".norm".length()) + ".qkv")) {
                f = matchAttention(conf, name.substring(0, name.length() - ".norm".length()));
            }
            if (f != null) {
                found.add(f);
            }
        }
        if (found.isEmpty()) {
            return net;
        }
        ComputationGraph out = new ComputationGraph(rewire(conf, found));
        out.init();
        Map<String, String> sources = new HashMap<>();
        for (Found f : found) {
            sources.putAll(f.sources);
        }
        Map<String, INDArray> oldParams = net.paramTable();
        for (Map.Entry<String, INDArray> e : out.paramTable().entrySet()) {
            String source = sources.getOrDefault(e.getKey(), e.getKey());
            e.getValue().assign(torchLayout(e.getKey(), oldParams.get(source)).reshape(e.getValue().shape()));
        }
        if (withUpdater && net.getUpdater() != null && net.getUpdater().getStateViewArray() != null) {
            Map<String, Map<String, INDArray>> oldState = stateViews(net.getUpdater());
            Map<String, Map<String, INDArray>> newState = stateViews(out.getUpdater());
            for (Map.Entry<String, Map<String, INDArray>> e : newState.entrySet()) {
                Map<String, INDArray> from = oldState.get(sources.getOrDefault(e.getKey(), e.getKey()));
                for (Map.Entry<String, INDArray> s : e.getValue().entrySet()) {
                    INDArray src = from == null ? null : from.get(s.getKey());
                    if (src == null) {
                        throw new IllegalStateException("no updater state " + s.getKey() + " for " + e.getKey()
                                + " in the graph being converted");
                    }
                    s.getValue().assign(torchLayout(e.getKey(), src).reshape(s.getValue().shape()));
                }
            }
        }
        return out;
    }

    /** The legacy DL4J key ({@code vertex_param}) holding the fused layer's parameter {@code key}. */
    private static String legacyKey(String prefix, String key) {
        int dot = key.lastIndexOf('.');
        String module = key.substring(0, dot);
        String p = key.substring(dot + 1);
        String param = p.equals("weight") ? (module.endsWith(".0") ? "W" : "gamma") : p.equals("bias") ? "beta" : p;
        return prefix + "." + module + "_" + param;
    }

    /** DL4J's depthwise kernels [kH, kW, C, 1] as torch's [C, 1, kH, kW] (a view); anything else as it is. */
    private static INDArray torchLayout(String newKey, INDArray legacy) {
        if (legacy == null) {
            throw new IllegalStateException("no parameter for " + newKey + " in the graph being converted");
        }
        if (newKey.endsWith(InvertedResidual.WDW) && legacy.rank() == 4) {
            return legacy.permute(2, 3, 0, 1);
        }
        return legacy;
    }

    /** The updater state per parameter ({@code vertex_param} -&gt; state name -&gt; view of that parameter's part). */
    private static Map<String, Map<String, INDArray>> stateViews(org.deeplearning4j.nn.api.Updater updater) {
        Map<String, Map<String, INDArray>> out = new HashMap<>();
        for (UpdaterBlock block : ((ComputationGraphUpdater) updater).getUpdaterBlocks()) {
            Map<String, INDArray> state = block.getGradientUpdater().getState();
            if (state == null || state.isEmpty()) {
                continue;
            }
            for (UpdaterBlock.ParamState ps : block.getLayersAndVariablesInBlock()) {
                Trainable layer = ps.getLayer();
                String name = layer.getConfig().getLayerName() + "_" + ps.getParamName();
                long from = ps.getParamOffsetStart() - block.getParamOffsetStart();
                long to = ps.getParamOffsetEnd() - block.getParamOffsetStart();
                INDArray param = layer.paramTable(false).get(ps.getParamName());
                Map<String, INDArray> views = new LinkedHashMap<>();
                for (Map.Entry<String, INDArray> s : state.entrySet()) {
                    INDArray flat = s.getValue().reshape(s.getValue().length());
                    // shaped as the parameter (the updater's own views are flat): its layout maps onto the other's
                    views.put(s.getKey(), flat.get(NDArrayIndex.interval(from, to)).reshape(param.ordering(),
                            param.shape()));
                }
                out.put(name, views);
            }
        }
        return out;
    }

    private static Layer layer(ComputationGraphConfiguration conf, String name) {
        GraphVertex v = conf.getVertices().get(name);
        return v instanceof LayerVertex ? ((LayerVertex) v).getLayerConf().getLayer() : null;
    }

    private static boolean isFrozen(Layer l) {
        return l instanceof FrozenLayer;
    }

    private static Layer unwrap(Layer l) {
        return l instanceof FrozenLayer ? ((FrozenLayer) l).getLayer() : l;
    }

    /** Whether {@code name} has exactly one input, {@code expected}. */
    private static boolean readsOnly(ComputationGraphConfiguration conf, String name, String expected) {
        List<String> in = conf.getVertexInputs().get(name);
        return in != null && in.size() == 1 && in.get(0).equals(expected);
    }

    /** The composed IRB under {@code prefix}, or null when the vertices there are anything else. */
    private static Found match(ComputationGraphConfiguration conf, String prefix) {
        List<String> members = new ArrayList<>();
        Layer conv1 = layer(conf, prefix + ".conv1.0");
        List<String> in1 = conf.getVertexInputs().get(prefix + ".conv1.0");
        if (conv1 == null || in1 == null || in1.size() != 1) {
            return null;
        }
        boolean frozen = isFrozen(conv1);
        members.add(prefix + ".conv1.0");
        String cur = prefix + ".conv1.0";
        IActivation[] act = new IActivation[2];
        BatchNormalization[] bn = new BatchNormalization[3];
        for (int stage = 1; stage <= 2; stage++) {
            String s = prefix + ".conv" + stage;
            if (stage == 2) {
                if (!(unwrap(layer(conf, s + ".0")) instanceof DepthwiseConvolution2D)
                        || !readsOnly(conf, s + ".0", cur)) {
                    return null;
                }
                members.add(s + ".0");
                cur = s + ".0";
            }
            Layer norm = unwrap(layer(conf, s + ".1"));
            if (!(norm instanceof BatchNormalization) || !readsOnly(conf, s + ".1", cur)) {
                return null;
            }
            bn[stage - 1] = (BatchNormalization) norm;
            members.add(s + ".1");
            cur = s + ".1";
            act[stage - 1] = norm instanceof BatchNorm ? ((BatchNorm) norm).getFusedActivation() : null;
            Layer a = unwrap(layer(conf, s + ".2"));
            if (a != null) {
                if (!(a instanceof ActivationLayer) || act[stage - 1] != null || !readsOnly(conf, s + ".2", cur)) {
                    return null;
                }
                act[stage - 1] = ((ActivationLayer) a).getActivationFn();
                members.add(s + ".2");
                cur = s + ".2";
            }
        }
        double[] drop = new double[2];
        cur = dropout(conf, prefix + ".conv2.drop", cur, members, drop, 0);
        if (cur == null) {
            return null;
        }
        Layer conv3 = unwrap(layer(conf, prefix + ".conv3.0"));
        Layer norm3 = unwrap(layer(conf, prefix + ".conv3.1"));
        if (!(conv3 instanceof ConvolutionLayer) || !readsOnly(conf, prefix + ".conv3.0", cur)
                || !(norm3 instanceof BatchNormalization) || !readsOnly(conf, prefix + ".conv3.1", prefix + ".conv3.0")
                || (norm3 instanceof BatchNorm && ((BatchNorm) norm3).getFusedActivation() != null)) {
            return null;
        }
        bn[2] = (BatchNormalization) norm3;
        members.add(prefix + ".conv3.0");
        members.add(prefix + ".conv3.1");
        String last = dropout(conf, prefix + ".conv3.drop", prefix + ".conv3.1", members, drop, 1);
        if (last == null) {
            return null;
        }
        ConvolutionLayer c1 = (ConvolutionLayer) unwrap(conv1);
        ConvolutionLayer c3 = (ConvolutionLayer) conv3;
        DepthwiseConvolution2D dw = (DepthwiseConvolution2D) unwrap(layer(conf, prefix + ".conv2.0"));
        int channels = (int) c1.getNIn();
        int hidden = (int) c1.getNOut();
        int k = dw.getKernelSize()[0];
        boolean shapes = !c1.hasBias() && !c3.hasBias() && !dw.hasBias() && hidden % channels == 0
                && c1.getKernelSize()[0] == 1 && c1.getKernelSize()[1] == 1 && c3.getKernelSize()[0] == 1
                && c3.getKernelSize()[1] == 1 && c3.getNIn() == hidden && c3.getNOut() == channels
                && dw.getNIn() == hidden && dw.getKernelSize()[1] == k && k % 2 == 1 && dw.getDepthMultiplier() == 1
                && dw.getStride()[0] == 1 && dw.getStride()[1] == 1 && dw.getPadding()[0] == (k - 1) / 2
                && dw.getPadding()[1] == (k - 1) / 2 && bn[0].getNOut() == hidden && bn[1].getNOut() == hidden
                && bn[2].getNOut() == channels && drop[0] == drop[1];
        boolean norms = true;
        for (BatchNormalization b : bn) {
            norms &= b.getEps() == bn[0].getEps() && b.getDecay() == bn[0].getDecay() && !b.isUseLogStd()
                    && !b.isLockGammaBeta();
        }
        if (!shapes || !norms || !InvertedResidual.supports(act[0]) || !InvertedResidual.supports(act[1])) {
            return null;
        }
        for (String m : members) {
            if (isFrozen(layer(conf, m)) != frozen) {
                return null;
            }
        }
        InvertedResidual irb = new InvertedResidual(channels, hidden / channels, k, drop[0], act[0])
                .withNorm(bn[0].getEps(), bn[0].getDecay());
        // the block's x + DropPath(IRB(x)) around it: P.drop_path (optional) and the sum named after the block
        String block = prefix.endsWith(".conv") ? prefix.substring(0, prefix.length() - ".conv".length()) : null;
        Residual res = residual(conf, prefix, last, in1.get(0), block == null ? List.of() : List.of(block), members);
        if (res == null) {
            return null;
        }
        String name = prefix;
        if (res.sum != null) {
            irb = irb.withResidual(res.pathRate);
            name = res.sum;
            last = res.sum;
        }
        irb.setLayerName(name);
        irb.setIUpdater(c1.getIUpdater());
        irb.setWeightInitFn(c1.getWeightInitFn());
        irb.setRegularization(c1.getRegularization());
        Map<String, String> sources = new HashMap<>();
        for (String key : irb.parameterKeys()) {
            String base = irb.isResidual() ? key.substring("conv.".length()) : key;
            sources.put(name + "_" + key, legacyKey(prefix, base));
        }
        return new Found(prefix, prefix + ".conv1.0", name, members, last, in1.get(0), irb, sources, frozen);
    }

    /** A residual sum around a composed block ({@code sum} null: none) and its drop path rate. */
    private record Residual(String sum, double pathRate) {
    }

    /**
     * The residual {@code x + DropPath(f(x))} around the composed block under {@code prefix} whose output is
     * {@code last}: an optional drop path {@code prefix.drop_path} reading {@code last}, then an Add of {@code x} and
     * that branch named the first of {@code sums} that is one; its vertices are added to {@code members}. A Residual
     * with a null sum when there is none, null when a drop path is there without such a sum or is another kind.
     */
    private static Residual residual(ComputationGraphConfiguration conf, String prefix, String last, String x,
            List<String> sums, List<String> members) {
        String branch = last;
        double pathRate = 0;
        Layer dp = unwrap(layer(conf, prefix + ".drop_path"));
        if (dp != null) {
            if (!(dp instanceof DropoutLayer) || !(dp.getIDropout() instanceof DropPath)
                    || !readsOnly(conf, prefix + ".drop_path", last)) {
                return null;
            }
            pathRate = ((DropPath) dp.getIDropout()).getRate();
            branch = prefix + ".drop_path";
        }
        for (String sum : sums) {
            if (sumOf(conf, sum, x, branch)) {
                if (dp != null) {
                    members.add(branch);
                }
                members.add(sum);
                return new Residual(sum, pathRate);
            }
        }
        return dp == null ? new Residual(null, 0) : null;
    }

    /** A BatchNorm without a fused activation, or null. */
    private static BatchNormalization plainNorm(Layer l) {
        return l instanceof BatchNormalization && !(l instanceof BatchNorm && ((BatchNorm) l).getFusedActivation()
                != null) ? (BatchNormalization) l : null;
    }

    /** Whether {@code l} is a 1x1 convolution with bias from {@code in} to {@code out} channels. */
    private static boolean pointwise(Layer l, long in, long out) {
        return l instanceof ConvolutionLayer && !(l instanceof DepthwiseConvolution2D)
                && ((ConvolutionLayer) l).hasBias() && ((ConvolutionLayer) l).getKernelSize()[0] == 1
                && ((ConvolutionLayer) l).getKernelSize()[1] == 1 && ((ConvolutionLayer) l).getStride()[0] == 1
                && ((ConvolutionLayer) l).getStride()[1] == 1 && ((ConvolutionLayer) l).getNIn() == in
                && ((ConvolutionLayer) l).getNOut() == out;
    }

    /** Whether {@code name} is an Add vertex of exactly the two inputs {@code a} and {@code b}. */
    private static boolean sumOf(ComputationGraphConfiguration conf, String name, String a, String b) {
        GraphVertex v = conf.getVertices().get(name);
        List<String> in = conf.getVertexInputs().get(name);
        return v instanceof ElementWiseVertex && ((ElementWiseVertex) v).getOp() == ElementWiseVertex.Op.Add
                && in != null && in.size() == 2 && in.contains(a) && in.contains(b) && !a.equals(b);
    }

    /**
     * The composed H-MHSA under {@code prefix} ({@code P.norm}, {@code P.qkv}, then {@code P.global} for grid 1 or
     * {@code P.local}, {@code P.local.add}, {@code P.grid_norm}, {@code P.q}, optional {@code P.pool},
     * {@code P.ds_norm}, {@code P.kv}, {@code P.global}, {@code P.global.add}; {@code P.proj}, optional
     * {@code P.drop}), with the block's residual when {@code P} is {@code B.attn} followed by an optional
     * {@code P.drop_path} and the sum {@code B.res1} (TransCNN) or {@code B} ({@link HMHSA#insertAfter}); null when
     * the vertices there are anything else.
     */
    private static Found matchAttention(ComputationGraphConfiguration conf, String prefix) {
        List<String> members = new ArrayList<>();
        String normName = prefix + ".norm";
        Layer normLayer = layer(conf, normName);
        List<String> inputs = conf.getVertexInputs().get(normName);
        if (normLayer == null || inputs == null || inputs.size() != 1) {
            return null;
        }
        String x = inputs.get(0);
        boolean frozen = isFrozen(normLayer);
        List<BatchNormalization> norms = new ArrayList<>();
        BatchNormalization norm = plainNorm(unwrap(normLayer));
        if (norm == null) {
            return null;
        }
        norms.add(norm);
        long c = norm.getNOut();
        members.add(normName);
        Layer qkv = unwrap(layer(conf, prefix + ".qkv"));
        if (!pointwise(qkv, c, 3 * c) || !readsOnly(conf, prefix + ".qkv", normName)) {
            return null;
        }
        members.add(prefix + ".qkv");
        GraphVertex global = conf.getVertices().get(prefix + ".global");
        if (!(global instanceof GlobalAttentionCore)) {
            return null;
        }
        GlobalAttentionCore g = (GlobalAttentionCore) global;
        int grid = 1;
        int ratio = 1;
        String attended;
        if (g.isFusedQkv()) {
            if (!readsOnly(conf, prefix + ".global", prefix + ".qkv")) {
                return null;
            }
            members.add(prefix + ".global");
            attended = prefix + ".global";
        } else {
            GraphVertex local = conf.getVertices().get(prefix + ".local");
            if (!(local instanceof WindowAttentionCore) || !readsOnly(conf, prefix + ".local", prefix + ".qkv")
                    || !sumOf(conf, prefix + ".local.add", x, prefix + ".local")) {
                return null;
            }
            WindowAttentionCore w = (WindowAttentionCore) local;
            grid = w.getGridSize();
            if (w.getHeads() != g.getHeads() || w.getHeadDim() != g.getHeadDim() || w.getHeight() != g.getHeight()
                    || w.getWidth() != g.getWidth()) {
                return null;
            }
            members.add(prefix + ".local");
            members.add(prefix + ".local.add");
            String x1 = prefix + ".grid_norm";
            BatchNormalization gridNorm = plainNorm(unwrap(layer(conf, x1)));
            if (gridNorm == null || !readsOnly(conf, x1, prefix + ".local.add")) {
                return null;
            }
            norms.add(gridNorm);
            members.add(x1);
            if (!pointwise(unwrap(layer(conf, prefix + ".q")), c, c) || !readsOnly(conf, prefix + ".q", x1)) {
                return null;
            }
            members.add(prefix + ".q");
            String pooled = x1;
            Layer pool = unwrap(layer(conf, prefix + ".pool"));
            if (pool != null) {
                if (!(pool instanceof org.deeplearning4j.nn.conf.layers.SubsamplingLayer)
                        || !readsOnly(conf, prefix + ".pool", x1)) {
                    return null;
                }
                org.deeplearning4j.nn.conf.layers.SubsamplingLayer sl =
                        (org.deeplearning4j.nn.conf.layers.SubsamplingLayer) pool;
                ratio = sl.getKernelSize()[0];
                if (sl.getPoolingType() != org.deeplearning4j.nn.conf.layers.PoolingType.AVG
                        || sl.getKernelSize()[1] != ratio || sl.getStride()[0] != ratio || sl.getStride()[1] != ratio
                        || sl.getPadding()[0] != 0 || sl.getPadding()[1] != 0
                        || sl.getConvolutionMode() != org.deeplearning4j.nn.conf.ConvolutionMode.Truncate) {
                    return null;
                }
                members.add(prefix + ".pool");
                pooled = prefix + ".pool";
            }
            BatchNormalization dsNorm = plainNorm(unwrap(layer(conf, prefix + ".ds_norm")));
            if (dsNorm == null || !readsOnly(conf, prefix + ".ds_norm", pooled)) {
                return null;
            }
            norms.add(dsNorm);
            members.add(prefix + ".ds_norm");
            if (!pointwise(unwrap(layer(conf, prefix + ".kv")), c, 2 * c)
                    || !readsOnly(conf, prefix + ".kv", prefix + ".ds_norm")) {
                return null;
            }
            members.add(prefix + ".kv");
            List<String> gIn = conf.getVertexInputs().get(prefix + ".global");
            if (gIn == null || !gIn.equals(List.of(prefix + ".q", prefix + ".kv"))
                    || g.getKvHeight() != g.getHeight() / ratio || g.getKvWidth() != g.getWidth() / ratio
                    || !sumOf(conf, prefix + ".global.add", prefix + ".global", x1)) {
                return null;
            }
            members.add(prefix + ".global");
            members.add(prefix + ".global.add");
            attended = prefix + ".global.add";
        }
        if (g.channels() != c || !pointwise(unwrap(layer(conf, prefix + ".proj")), c, c)
                || !readsOnly(conf, prefix + ".proj", attended)) {
            return null;
        }
        members.add(prefix + ".proj");
        double[] drop = new double[1];
        String last = dropout(conf, prefix + ".drop", prefix + ".proj", members, drop, 0);
        if (last == null) {
            return null;
        }
        for (BatchNormalization b : norms) {
            if (b.getNOut() != c || b.getEps() != norm.getEps() || b.getDecay() != norm.getDecay() || b.isUseLogStd()
                    || b.isLockGammaBeta()) {
                return null;
            }
        }
        HMHSA attention;
        try {
            attention = HMHSA.builder().channels((int) c).headDim(g.getHeadDim()).gridSize(grid).dsRatio(ratio)
                    .inputSize(g.getHeight(), g.getWidth()).dropRate(drop[0]).build()
                    .withNorm(norm.getEps(), norm.getDecay());
        } catch (IllegalArgumentException e) {
            return null;
        }
        // the block's x + DropPath(HMHSA(x)) around it: P.drop_path (optional) and the sum B.res1 (TransCNN) or B
        String block = prefix.endsWith(".attn") ? prefix.substring(0, prefix.length() - ".attn".length()) : null;
        Residual res = residual(conf, prefix, last, x,
                block == null ? List.of() : List.of(block + TransCnnBlock.RES1, block), members);
        if (res == null) {
            return null;
        }
        String name = prefix;
        if (res.sum != null) {
            attention = attention.withResidual(res.pathRate);
            name = res.sum;
            last = res.sum;
        }
        for (String m : members) {
            GraphVertex v = conf.getVertices().get(m);
            if (v instanceof LayerVertex && isFrozen(layer(conf, m)) != frozen) {
                return null;
            }
        }
        ConvolutionLayer q = (ConvolutionLayer) qkv;
        attention.setLayerName(name);
        attention.setIUpdater(q.getIUpdater());
        attention.setWeightInitFn(q.getWeightInitFn());
        attention.setRegularization(q.getRegularization());
        Map<String, String> sources = new HashMap<>();
        for (String key : attention.parameterKeys()) {
            String base = attention.isResidual() ? key.substring("attn.".length()) : key;
            int dot = base.lastIndexOf('.');
            String module = HMHSA.torchKey(base.substring(0, dot));
            String p = base.substring(dot + 1);
            boolean isNorm = module.endsWith("norm");
            String param = p.equals("weight") ? (isNorm ? "gamma" : "W") : p.equals("bias") ? (isNorm ? "beta" : "b")
                    : p;
            sources.put(name + "_" + key, prefix + "." + module + "_" + param);
        }
        return new Found(prefix, normName, name, members, last, x, attention, sources, frozen);
    }

    /**
     * Follows an optional Dropout2d vertex {@code name} reading {@code cur}: returns the vertex after it (or
     * {@code cur} when there is none) and records its rate in {@code rates[i]}; null when it is another kind.
     */
    private static String dropout(ComputationGraphConfiguration conf, String name, String cur, List<String> members,
            double[] rates, int i) {
        Layer l = unwrap(layer(conf, name));
        if (l == null) {
            return conf.getVertices().containsKey(name) ? null : cur;
        }
        IDropout d = l.getIDropout();
        if (!(l instanceof DropoutLayer) || !(d instanceof SpatialDropout) || !readsOnly(conf, name, cur)) {
            return null;
        }
        double retain = ((SpatialDropout) d).getP();
        rates[i] = 1.0 - retain;
        members.add(name);
        return name;
    }

    /** A copy of {@code conf} with each found IRB's vertices replaced by one layer vertex, in the same place. */
    private static ComputationGraphConfiguration rewire(ComputationGraphConfiguration conf, List<Found> found) {
        ComputationGraphConfiguration out = conf.clone();
        Map<String, Found> byFirst = new HashMap<>();
        Map<String, String> renamed = new HashMap<>();
        java.util.Set<String> removed = new java.util.HashSet<>();
        for (Found f : found) {
            byFirst.put(f.first, f);
            renamed.put(f.last, f.name);
            removed.addAll(f.members);
        }
        Map<String, GraphVertex> vertices = new LinkedHashMap<>();
        Map<String, List<String>> inputs = new LinkedHashMap<>();
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            Found f = byFirst.get(e.getKey());
            if (f != null) {
                NeuralNetConfiguration nn = ((LayerVertex) e.getValue()).getLayerConf().clone();
                Layer layer = f.frozen ? new FrozenLayer(f.layer) : f.layer;
                layer.setLayerName(f.name);
                nn.setLayer(layer);
                nn.setVariables(new ArrayList<>());
                vertices.put(f.name, new LayerVertex(nn, null));
                inputs.put(f.name, new ArrayList<>(List.of(renamed.getOrDefault(f.input, f.input))));
            } else if (!removed.contains(e.getKey())) {
                vertices.put(e.getKey(), e.getValue().clone());
                List<String> in = conf.getVertexInputs().get(e.getKey());
                if (in != null) {
                    List<String> mapped = new ArrayList<>();
                    for (String s : in) {
                        mapped.add(renamed.getOrDefault(s, s));
                    }
                    inputs.put(e.getKey(), mapped);
                }
            }
        }
        out.getVertices().clear();
        out.getVertices().putAll(vertices);
        out.getVertexInputs().clear();
        out.getVertexInputs().putAll(inputs);
        List<String> outputs = new ArrayList<>();
        for (String s : conf.getNetworkOutputs()) {
            outputs.add(renamed.getOrDefault(s, s));
        }
        out.setNetworkOutputs(outputs);
        out.setTopologicalOrder(null);
        out.setTopologicalOrderStr(null);
        // the updater's step count (Adam's bias correction, schedules) carries on
        out.setIterationCount(conf.getIterationCount());
        out.setEpochCount(conf.getEpochCount());
        return out;
    }
}
