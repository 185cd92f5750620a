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
        return x.permute(1, 0, 2, 3).dup('c').reshape('c', s[1], s[0] * s[2] * s[3]);
    }

    /** [C, B*H*W] -&gt; [B, C, H, W] into a fresh array of the given workspace type. */
    private INDArray batchFirst(INDArray m, long[] shape, ArrayType type, LayerWorkspaceMgr mgr) {
        INDArray out = mgr.createUninitialized(type, dataType, shape, 'c');
        out.assign(m.reshape('c', shape[1], shape[0], shape[2], shape[3]).permute(1, 0, 2, 3));
        return out;
    }

    private INDArray weights2d(boolean training, LayerWorkspaceMgr mgr) {
        return getParamWithNoise(ConvolutionParamInitializer.WEIGHT_KEY, training, mgr).reshape('c', nOut(), nIn());
    }

    private void checkInput() {
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
        INDArray y = weights2d(training, mgr).mmul(channelsFirst(input.castTo(dataType)));
        if (layerConf().hasBias()) {
            y.addiColumnVector(getParamWithNoise(ConvolutionParamInitializer.BIAS_KEY, training, mgr)
                    .reshape(nOut(), 1));
        }
        return new Pair<>(batchFirst(y, new long[] {in[0], nOut(), in[2], in[3]}, ArrayType.ACTIVATIONS, mgr), null);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        checkInput();
        INDArray delta = layerConf().getActivationFn() instanceof ActivationIdentity ? epsilon
                : layerConf().getActivationFn().backprop(preOutput(true, true, mgr).getFirst(), epsilon).getFirst();
        INDArray dy = channelsFirst(delta.castTo(dataType));
        INDArray x = channelsFirst(input.castTo(dataType));
        Gradient g = new DefaultGradient();
        INDArray weightGrad = gradientViews.get(ConvolutionParamInitializer.WEIGHT_KEY);
        Nd4j.gemm(dy, x, weightGrad.reshape('c', nOut(), nIn()), false, true, 1.0, 0.0);
        g.setGradientFor(ConvolutionParamInitializer.WEIGHT_KEY, weightGrad, 'c');
        if (layerConf().hasBias()) {
            INDArray biasGrad = gradientViews.get(ConvolutionParamInitializer.BIAS_KEY);
            biasGrad.assign(dy.sum(1).reshape(biasGrad.shape()));
            g.setGradientFor(ConvolutionParamInitializer.BIAS_KEY, biasGrad);
        }
        INDArray dx = weights2d(true, mgr).transpose().mmul(dy);
        weightNoiseParams.clear();
        INDArray eps = batchFirst(dx, input.shape(), ArrayType.ACTIVATION_GRAD, mgr);
        return new Pair<>(g, backpropDropOutIfPresent(eps));
    }
}
