package org.transcnn.layers.runtime;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.DepthwiseConvolution2DLayer;
import org.deeplearning4j.nn.params.DepthwiseConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.kernels.DepthwiseDouble;
import org.transcnn.kernels.DepthwiseFloat;
import org.transcnn.layers.DepthwiseConv;

import java.util.Arrays;

/**
 * Runtime layer of {@link DepthwiseConv}: the kernels of {@link DepthwiseFloat} (FLOAT networks) or its generated
 * double twin (DOUBLE networks) on Java copies of the activations.
 */
public class DepthwiseConvLayer extends DepthwiseConvolution2DLayer {

    public DepthwiseConvLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private int[] kernel() {
        return layerConf().getKernelSize();
    }

    private void checkInput() {
        org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D c =
                (org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D) layerConf();
        int[] k = c.getKernelSize();
        if (k[0] % 2 == 0 || k[1] % 2 == 0 || c.getStride()[0] != 1 || c.getStride()[1] != 1
                || c.getDilation()[0] != 1 || c.getDilation()[1] != 1 || c.getPadding()[0] != (k[0] - 1) / 2
                || c.getPadding()[1] != (k[1] - 1) / 2 || c.hasBias() || c.getDepthMultiplier() != 1
                || c.getCnn2dDataFormat() != org.deeplearning4j.nn.conf.CNN2DFormat.NCHW) {
            throw new IllegalStateException("DepthwiseConv " + layerId() + " supports only odd kernels, stride 1, "
                    + "dilation 1, padding (k-1)/2, no bias, depth multiplier 1 and NCHW");
        }
        if (input.rank() != 4 || input.size(1) != layerConf().getNIn()) {
            throw new IllegalArgumentException("depthwise convolution " + layerId() + " expects [B, "
                    + layerConf().getNIn() + ", H, W], got " + Arrays.toString(input.shape()));
        }
    }

    /** DL4J's [kH, kW, C, 1] weights as [C, kH*kW] (channel-major), in double. */
    private double[] channelMajorWeights(INDArray w) {
        int taps = kernel()[0] * kernel()[1];
        int c = (int) layerConf().getNIn();
        double[] src = w.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] out = new double[src.length];
        for (int t = 0; t < taps; t++) {
            for (int ch = 0; ch < c; ch++) {
                out[ch * taps + t] = src[t * c + ch];
            }
        }
        return out;
    }

    private static float[] floats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    @Override
    protected Pair<INDArray, INDArray> preOutput(boolean training, boolean forBackprop, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        double[] w = channelMajorWeights(getParamWithNoise(DepthwiseConvolutionParamInitializer.WEIGHT_KEY, training,
                mgr));
        long[] shape = input.shape();
        int b = (int) shape[0];
        int c = (int) shape[1];
        int h = (int) shape[2];
        int wd = (int) shape[3];
        int kh = kernel()[0];
        int kw = kernel()[1];
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, shape, 'c');
        if (dataType == DataType.FLOAT) {
            float[] x = Buffers.readFloats(input.castTo(dataType));
            float[] y = Scratch.takeFloats(x.length);
            DepthwiseFloat.forward(x, floats(w), y, b, c, h, wd, kh, kw);
            Buffers.write(y, out);
            Scratch.give(x, y);
        } else {
            double[] x = Buffers.read(input.castTo(dataType));
            double[] y = Scratch.take(x.length);
            DepthwiseDouble.forward(x, w, y, b, c, h, wd, kh, kw);
            Buffers.write(y, out);
            Scratch.give(x, y);
        }
        return new Pair<>(out, null);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        checkInput();
        double[] w = channelMajorWeights(getParamWithNoise(DepthwiseConvolutionParamInitializer.WEIGHT_KEY, true,
                mgr));
        INDArray delta = layerConf().getActivationFn() instanceof ActivationIdentity ? epsilon
                : layerConf().getActivationFn().backprop(preOutput(true, true, mgr).getFirst(), epsilon).getFirst();
        long[] shape = input.shape();
        int b = (int) shape[0];
        int c = (int) shape[1];
        int h = (int) shape[2];
        int wd = (int) shape[3];
        int kh = kernel()[0];
        int kw = kernel()[1];
        int taps = kh * kw;
        double[] dw = new double[c * taps];
        INDArray eps = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, shape, 'c');
        if (dataType == DataType.FLOAT) {
            float[] x = Buffers.readFloats(input.castTo(dataType));
            float[] dy = Buffers.readFloats(delta.castTo(dataType));
            float[] dx = Scratch.takeFloats(x.length);
            DepthwiseFloat.forward(dy, DepthwiseFloat.rotated(floats(w), c, kh, kw), dx, b, c, h, wd, kh, kw);
            float[] dwf = new float[c * taps];
            DepthwiseFloat.backwardWeights(dy, x, dwf, b, c, h, wd, kh, kw);
            for (int i = 0; i < dw.length; i++) {
                dw[i] = dwf[i];
            }
            Buffers.write(dx, eps);
            Scratch.give(x, dy, dx);
        } else {
            double[] x = Buffers.read(input.castTo(dataType));
            double[] dy = Buffers.read(delta.castTo(dataType));
            double[] dx = Scratch.take(x.length);
            DepthwiseDouble.forward(dy, DepthwiseDouble.rotated(w, c, kh, kw), dx, b, c, h, wd, kh, kw);
            DepthwiseDouble.backwardWeights(dy, x, dw, b, c, h, wd, kh, kw);
            Buffers.write(dx, eps);
            Scratch.give(x, dy, dx);
        }
        double[] dwDl4j = new double[dw.length];
        for (int t = 0; t < taps; t++) {
            for (int ch = 0; ch < c; ch++) {
                dwDl4j[t * c + ch] = dw[ch * taps + t];
            }
        }
        INDArray weightGrad = gradientViews.get(DepthwiseConvolutionParamInitializer.WEIGHT_KEY);
        weightGrad.assign(Nd4j.create(dwDl4j, weightGrad.shape(), weightGrad.dataType()));
        Gradient g = new DefaultGradient();
        g.setGradientFor(DepthwiseConvolutionParamInitializer.WEIGHT_KEY, weightGrad, 'c');
        weightNoiseParams.clear();
        return new Pair<>(g, backpropDropOutIfPresent(eps));
    }
}
