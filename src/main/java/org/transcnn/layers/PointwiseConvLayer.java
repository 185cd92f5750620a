package org.transcnn.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * Runtime layer of {@link PointwiseConv}: the batch is laid out as a [Cin, B*H*W] matrix, multiplied by the
 * [Cout, Cin] weights in one GEMM, and laid back out as [B, Cout, H, W]; the backward pass is two GEMMs.
 */
public class PointwiseConvLayer extends ConvolutionLayer {

    public PointwiseConvLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private long nIn() {
        return layerConf().getNIn();
    }

    private long nOut() {
        return layerConf().getNOut();
    }

    /** [B, C, H, W] -&gt; [C, B*H*W] (copy). */
    private static INDArray channelsFirst(INDArray x) {
        long[] s = x.shape();
        INDArray out = Nd4j.createUninitialized(x.dataType(), new long[] {s[1], s[0] * s[2] * s[3]}, 'c');
        Buffers.swapLeadingAxes(Buffers.contiguous(x), out, (int) s[0], (int) s[1], (int) (s[2] * s[3]));
        return out;
    }

    /** [C, B*H*W] -&gt; {@code out} [B, C, H, W]. */
    private static void batchFirst(INDArray m, INDArray out) {
        long[] shape = out.shape();
        Buffers.swapLeadingAxes(Buffers.contiguous(m), out, (int) shape[1], (int) shape[0],
                (int) (shape[2] * shape[3]));
    }

    private INDArray weights2d(boolean training, LayerWorkspaceMgr mgr) {
        return getParamWithNoise(ConvolutionParamInitializer.WEIGHT_KEY, training, mgr).reshape('c', nOut(), nIn());
    }

    private void checkInput() {
        org.deeplearning4j.nn.conf.layers.ConvolutionLayer c = layerConf();
        if (c.getKernelSize()[0] != 1 || c.getKernelSize()[1] != 1 || c.getStride()[0] != 1 || c.getStride()[1] != 1
                || c.getPadding()[0] != 0 || c.getPadding()[1] != 0
                || c.getCnn2dDataFormat() != org.deeplearning4j.nn.conf.CNN2DFormat.NCHW) {
            throw new IllegalStateException("PointwiseConv " + layerId() + " supports only 1x1 kernels, stride 1, "
                    + "no padding and NCHW");
        }
        if (input.rank() != 4 || input.size(1) != nIn()) {
            throw new IllegalArgumentException("1x1 convolution " + layerId() + " expects [B, " + nIn()
                    + ", H, W], got " + Arrays.toString(input.shape()));
        }
    }

    @Override
    protected Pair<INDArray, INDArray> preOutput(boolean training, boolean forBackprop, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        long[] in = input.shape();
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, new long[] {in[0], nOut(), in[2],
                in[3]}, 'c');
        INDArray w = weights2d(training, mgr);
        INDArray b = layerConf().hasBias() ? getParamWithNoise(ConvolutionParamInitializer.BIAS_KEY, training, mgr)
                : null;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray y = w.mmul(channelsFirst(input.castTo(dataType)));
            if (b != null) {
                y.addiColumnVector(b.reshape(nOut(), 1));
            }
            batchFirst(y, out);
        }
        return new Pair<>(out, null);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        checkInput();
        INDArray delta = layerConf().getActivationFn() instanceof ActivationIdentity ? epsilon
                : layerConf().getActivationFn().backprop(preOutput(true, true, mgr).getFirst(), epsilon).getFirst();
        INDArray w = weights2d(true, mgr);
        INDArray eps = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape(), 'c');
        Gradient g = new DefaultGradient();
        INDArray weightGrad = gradientViews.get(ConvolutionParamInitializer.WEIGHT_KEY);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray dy = channelsFirst(delta.castTo(dataType));
            INDArray x = channelsFirst(input.castTo(dataType));
            weightGrad.assign(dy.mmul(x.transpose()).reshape(weightGrad.shape()));
            if (layerConf().hasBias()) {
                INDArray biasGrad = gradientViews.get(ConvolutionParamInitializer.BIAS_KEY);
                biasGrad.assign(dy.sum(1).reshape(biasGrad.shape()));
                g.setGradientFor(ConvolutionParamInitializer.BIAS_KEY, biasGrad);
            }
            batchFirst(w.transpose().mmul(dy), eps);
        }
        g.setGradientFor(ConvolutionParamInitializer.WEIGHT_KEY, weightGrad, 'c');
        weightNoiseParams.clear();
        return new Pair<>(g, backpropDropOutIfPresent(eps));
    }
}
