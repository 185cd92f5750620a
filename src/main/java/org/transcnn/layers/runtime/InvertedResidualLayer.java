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
import org.transcnn.kernels.InvertedResidualDouble;
import org.transcnn.kernels.InvertedResidualFloat;
import org.transcnn.kernels.InvertedResidualShape;
import org.transcnn.kernels.Norm;
import org.transcnn.layers.InvertedResidual;

import java.lang.ref.Reference;
import java.util.Arrays;

/**
 * Runtime layer of {@link InvertedResidual}: {@link InvertedResidualFloat} (FLOAT networks) or its generated double
 * twin (DOUBLE networks) on ND4J's buffers. A training-mode forward pass keeps the two maps its backward pass needs
 * (conv1's and conv3's outputs before their BatchNorm) in the activations workspace with the batch statistics and
 * dropout masks; a backward pass without one runs it first.
 */
public class InvertedResidualLayer extends BlockLayer<InvertedResidual> {

    /** What a training-mode forward pass keeps for the backward pass, and the input it belongs to. */
    private record Saved(INDArray input, INDArray t1, INDArray t3, Norm[] norms, Object mask2,
            Object mask3, Object path) {
    }

    private Saved saved;

    public InvertedResidualLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private InvertedResidualShape shape(INDArray x) {
        InvertedResidual c = layerConf();
        if (x.rank() != 4 || x.size(1) != c.getChannels()) {
            throw new IllegalArgumentException("IRB " + layerId() + " expects [B, " + c.getChannels() + ", H, W], got "
                    + Arrays.toString(x.shape()));
        }
        return new InvertedResidualShape((int) x.size(0), c.getChannels(), c.getHidden(), (int) x.size(2),
                (int) x.size(3), c.getKernelSize());
    }

    /** The key of parameter {@code base} in this layer ({@code conv.}-prefixed with the residual). */
    private String k(String base) {
        return layerConf().key(base);
    }

    private Norm[] norms() {
        double eps = layerConf().getEps();
        return new Norm[] {
            norm(k(InvertedResidual.G1), k(InvertedResidual.B1),
                    k(InvertedResidual.M1), k(InvertedResidual.V1), eps),
            norm(k(InvertedResidual.G2), k(InvertedResidual.B2),
                    k(InvertedResidual.M2), k(InvertedResidual.V2), eps),
            norm(k(InvertedResidual.G3), k(InvertedResidual.B3),
                    k(InvertedResidual.M3), k(InvertedResidual.V3), eps)};
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        INDArray x = Buffers.contiguous(input.castTo(dataType));
        InvertedResidualShape s = shape(x);
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, x.shape(), 'c');
        forward(x, s, training, training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM,
                ArrayType.FF_WORKING_MEM, out, mgr);
        return out;
    }

    /**
     * Runs the forward pass of {@code x} into {@code out}: the maps kept for the backward pass in {@code keep}, the
     * temporaries in {@code work}; a training-mode pass records them in {@link #saved}.
     */
    private void forward(INDArray x, InvertedResidualShape s, boolean training, ArrayType keep, ArrayType work,
            INDArray out, LayerWorkspaceMgr mgr) {
        long[] hidden = {s.batch(), s.hidden(), s.height(), s.width()};
        INDArray t1 = mgr.createUninitialized(keep, dataType, hidden, 'c');
        INDArray a2 = mgr.createUninitialized(work, dataType, hidden, 'c');
        INDArray t3 = mgr.createUninitialized(keep, dataType, x.shape(), 'c');
        Norm[] n = norms();
        InvertedResidual conf = layerConf();
        Object mask2 = mask((long) s.batch() * s.hidden(), conf.getDropRate(), training);
        Object mask3 = mask((long) s.batch() * s.channels(), conf.getDropRate(), training);
        Object path = conf.isResidual() ? mask(s.batch(), conf.getDropPathRate(), training) : null;
        INDArray w1 = weight(k(InvertedResidual.W1));
        INDArray w3 = weight(k(InvertedResidual.W3));
        try {
            if (dataType == DataType.FLOAT) {
                InvertedResidualFloat.forward(s, x.data().asNioFloat(), w1.data().asNioFloat(), w1.offset(),
                        depthwiseFloats(), w3.data().asNioFloat(), w3.offset(), n[0], n[1], n[2], training,
                        (float[]) mask2, (float[]) mask3, conf.isResidual(), (float[]) path, t1.data().asNioFloat(),
                        a2.data().asNioFloat(), t3.data().asNioFloat(),
                        out.data().asNioFloat(), Scratch.FLOATS);
            } else {
                InvertedResidualDouble.forward(s, x.data().asNioDouble(), w1.data().asNioDouble(), w1.offset(),
                        getParam(k(InvertedResidual.WDW)).dup().data().asDouble(), w3.data().asNioDouble(),
                        w3.offset(), n[0], n[1], n[2], training, (double[]) mask2, (double[]) mask3,
                        conf.isResidual(), (double[]) path, t1.data().asNioDouble(), a2.data().asNioDouble(),
                        t3.data().asNioDouble(), out.data().asNioDouble(), Scratch.DOUBLES);
            }
        } finally {
            Reference.reachabilityFence(x);
            Reference.reachabilityFence(w1);
            Reference.reachabilityFence(w3);
            Reference.reachabilityFence(t1);
            Reference.reachabilityFence(a2);
            Reference.reachabilityFence(t3);
            Reference.reachabilityFence(out);
        }
        saved = training ? new Saved(input, t1, t3, n, mask2, mask3, path) : null;
    }

    /** A weight as a C-contiguous view (parameters are views into the network's parameter array). */
    private INDArray weight(String key) {
        INDArray w = getParam(key);
        if (!Buffers.isCContiguous(w) || w.dataType() != dataType) {
            throw new IllegalStateException("IRB " + layerId() + ": parameter " + key + " is not a C-contiguous "
                    + dataType + " view");
        }
        return w;
    }

    private float[] depthwiseFloats() {
        return getParam(k(InvertedResidual.WDW)).dup().data().asFloat();
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        INDArray x = Buffers.contiguous(input.castTo(dataType));
        InvertedResidualShape s = shape(x);
        if (!Arrays.equals(epsilon.shape(), x.shape())) {
            throw new IllegalArgumentException("IRB " + layerId() + ": output gradient " + Arrays.toString(
                    epsilon.shape()) + " does not match the input " + Arrays.toString(x.shape()));
        }
        if (saved == null || saved.input != input) {
            INDArray discard = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, x.shape(), 'c');
            forward(x, s, true, ArrayType.BP_WORKING_MEM, ArrayType.BP_WORKING_MEM, discard, mgr);
        }
        Saved f = saved;
        saved = null;
        INDArray dy = Buffers.contiguous(epsilon.castTo(dataType));
        INDArray work = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, f.t1.shape(), 'c');
        INDArray dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, x.shape(), 'c');
        INDArray w1 = weight(k(InvertedResidual.W1));
        INDArray w3 = weight(k(InvertedResidual.W3));
        INDArray dW1 = gradientView(k(InvertedResidual.W1));
        INDArray dW3 = gradientView(k(InvertedResidual.W3));
        double[][] dNorm = new double[6][];
        for (int i = 0; i < 6; i++) {
            dNorm[i] = new double[i < 4 ? s.hidden() : s.channels()];
        }
        Norm[] n = f.norms;
        INDArray dWdw;
        try {
            if (dataType == DataType.FLOAT) {
                float[] g = new float[s.hidden() * s.kernel() * s.kernel()];
                InvertedResidualFloat.backward(s, x.data().asNioFloat(), w1.data().asNioFloat(), w1.offset(),
                        depthwiseFloats(), w3.data().asNioFloat(), w3.offset(), n[0], n[1], n[2],
                        (float[]) f.mask2, (float[]) f.mask3, layerConf().isResidual(), (float[]) f.path,
                        f.t1.data().asNioFloat(),
                        f.t3.data().asNioFloat(), dy.data().asNioFloat(), work.data().asNioFloat(),
                        dx.data().asNioFloat(), dW1.data().asNioFloat(), dW1.offset(), g, dW3.data().asNioFloat(),
                        dW3.offset(), dNorm, Scratch.FLOATS);
                dWdw = Nd4j.createFromArray(g).reshape('c', s.hidden(), 1, s.kernel(), s.kernel());
            } else {
                double[] g = new double[s.hidden() * s.kernel() * s.kernel()];
                InvertedResidualDouble.backward(s, x.data().asNioDouble(), w1.data().asNioDouble(), w1.offset(),
                        getParam(k(InvertedResidual.WDW)).dup().data().asDouble(), w3.data().asNioDouble(),
                        w3.offset(), n[0], n[1], n[2], (double[]) f.mask2, (double[]) f.mask3,
                        layerConf().isResidual(), (double[]) f.path, f.t1.data().asNioDouble(),
                        f.t3.data().asNioDouble(),
                        dy.data().asNioDouble(), work.data().asNioDouble(), dx.data().asNioDouble(),
                        dW1.data().asNioDouble(), dW1.offset(), g, dW3.data().asNioDouble(), dW3.offset(), dNorm,
                        Scratch.DOUBLES);
                dWdw = Nd4j.createFromArray(g).reshape('c', s.hidden(), 1, s.kernel(), s.kernel());
            }
        } finally {
            Reference.reachabilityFence(x);
            Reference.reachabilityFence(w1);
            Reference.reachabilityFence(w3);
            Reference.reachabilityFence(f);
            Reference.reachabilityFence(dy);
            Reference.reachabilityFence(work);
            Reference.reachabilityFence(dx);
            Reference.reachabilityFence(dW1);
            Reference.reachabilityFence(dW3);
        }
        Gradient grad = new DefaultGradient();
        grad.setGradientFor(k(InvertedResidual.W1), dW1);
        setGradient(grad, k(InvertedResidual.G1), dNorm[0]);
        setGradient(grad, k(InvertedResidual.B1), dNorm[1]);
        INDArray dwView = gradientViews.get(k(InvertedResidual.WDW));
        dwView.assign(dWdw);
        grad.setGradientFor(k(InvertedResidual.WDW), dwView);
        setGradient(grad, k(InvertedResidual.G2), dNorm[2]);
        setGradient(grad, k(InvertedResidual.B2), dNorm[3]);
        grad.setGradientFor(k(InvertedResidual.W3), dW3);
        setGradient(grad, k(InvertedResidual.G3), dNorm[4]);
        setGradient(grad, k(InvertedResidual.B3), dNorm[5]);
        long count = (long) s.batch() * s.pixels();
        double decay = layerConf().getDecay();
        runningStatistics(grad, n[0], k(InvertedResidual.M1), k(InvertedResidual.V1), count, decay);
        runningStatistics(grad, n[1], k(InvertedResidual.M2), k(InvertedResidual.V2), count, decay);
        runningStatistics(grad, n[2], k(InvertedResidual.M3), k(InvertedResidual.V3), count, decay);
        return new Pair<>(grad, dx);
    }

    private INDArray gradientView(String key) {
        INDArray v = gradientViews.get(key);
        if (!Buffers.isCContiguous(v)) {
            throw new IllegalStateException("IRB " + layerId() + ": gradient view " + key + " is not C-contiguous");
        }
        return v;
    }

    @Override
    public void clear() {
        super.clear();
        saved = null;
    }
}
