package org.transcnn.layers;

import org.transcnn.layers.runtime.DepthwiseConvLayer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * Depthwise convolution, stride 1, "same" symmetric padding (k-1)/2, no bias, NCHW: [B, C, H, W] -&gt; [B, C, H, W],
 * i.e. PyTorch's {@code Conv2d(C, C, k, padding=(k-1)/2, groups=C, bias=False)}.
 *
 * <p>Same configuration, parameters ({@code W}: [kH, kW, C, 1]) and serialised form as DL4J's
 * {@link DepthwiseConvolution2D}, but computed by {@link DepthwiseConvLayer}'s direct kernels, which run one to two
 * orders of magnitude faster on CPU than libnd4j's {@code depthwise_conv2d} in DL4J 1.0.0-M2.1.
 */
public class DepthwiseConv extends DepthwiseConvolution2D {

    public DepthwiseConv() {
        // for JSON deserialisation
    }

    private DepthwiseConv(Builder builder) {
        super(builder);
    }

    /** A depthwise convolution over {@code channels} with an odd {@code kernel x kernel} window. */
    public static DepthwiseConv of(int channels, int kernel) {
        if (channels < 1 || kernel < 1 || kernel % 2 == 0) {
            throw new IllegalArgumentException("depthwise convolution needs channels >= 1 and an odd kernel, got "
                    + channels + " channels, kernel " + kernel);
        }
        int pad = (kernel - 1) / 2;
        return new DepthwiseConv(new Builder(kernel, kernel)
                .padding(pad, pad)
                .convolutionMode(ConvolutionMode.Truncate)
                .dataFormat(CNN2DFormat.NCHW)
                .nIn(channels)
                .nOut(channels)
                .depthMultiplier(1)
                .hasBias(false)
                .activation(Activation.IDENTITY));
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
            Collection<TrainingListener> listeners, int layerIndex, INDArray paramsView, boolean initializeParams,
            DataType networkDataType) {
        return Layers.instantiate(new DepthwiseConvLayer(conf, networkDataType), conf, listeners, layerIndex, paramsView,
                initializeParams, initializer());
    }

    @Override
    public DepthwiseConv clone() {
        return (DepthwiseConv) super.clone();
    }
}
