package org.transcnn.layers;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * 1x1 convolution, stride 1: [B, Cin, H, W] -&gt; [B, Cout, H, W], {@code y = W x + b} at every pixel, i.e. PyTorch's
 * {@code Conv2d(Cin, Cout, 1)}.
 *
 * <p>Same configuration, parameters ({@code W}: [Cout, Cin, 1, 1], {@code b}) and serialised form as DL4J's
 * {@link ConvolutionLayer}, computed by {@link PointwiseConvLayer} as one matrix multiply over all pixels of the
 * batch instead of im2col followed by a matrix multiply.
 */
public class PointwiseConv extends ConvolutionLayer {

    public PointwiseConv() {
        // for JSON deserialisation
    }

    private PointwiseConv(ConvolutionLayer.Builder builder) {
        super(builder);
    }

    /** A 1x1 convolution from {@code nIn} to {@code nOut} channels, with or without bias. */
    public static PointwiseConv of(int nIn, int nOut, boolean bias) {
        if (nIn < 1 || nOut < 1) {
            throw new IllegalArgumentException("1x1 convolution needs nIn, nOut >= 1, got " + nIn + ", " + nOut);
        }
        return new PointwiseConv(new ConvolutionLayer.Builder(1, 1)
                .stride(1, 1)
                .padding(0, 0)
                .convolutionMode(ConvolutionMode.Truncate)
                .dataFormat(CNN2DFormat.NCHW)
                .nIn(nIn)
                .nOut(nOut)
                .hasBias(bias)
                .activation(Activation.IDENTITY));
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
            Collection<TrainingListener> listeners, int layerIndex, INDArray paramsView, boolean initializeParams,
            DataType networkDataType) {
        return Layers.instantiate(new PointwiseConvLayer(conf, networkDataType), conf, listeners, layerIndex, paramsView,
                initializeParams, initializer());
    }

    @Override
    public PointwiseConv clone() {
        return (PointwiseConv) super.clone();
    }
}
