package org.transcnn.layers;

import org.transcnn.layers.runtime.GemmConvLayer;
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
 * Convolution [B, Cin, H, W] -&gt; [B, Cout, Ho, Wo] with Ho = floor((H + 2p - k) / s) + 1, i.e. PyTorch's
 * {@code Conv2d(Cin, Cout, k, stride=s, padding=p)} (symmetric zero padding, dilation 1, groups 1).
 *
 * <p>Same configuration, parameters ({@code W}: [Cout, Cin, kH, kW], {@code b}) and serialised form as DL4J's
 * {@link ConvolutionLayer}, computed by {@link GemmConvLayer}: the patches are gathered by a Java kernel into a
 * [Cin*kH*kW, B*Ho*Wo] matrix and multiplied by the weights in one GEMM (DL4J M2.1's native im2col alone took more
 * time than the whole GEMM in TransCNN's stem and downsampling convolutions).
 */
public class GemmConv extends ConvolutionLayer {

    public GemmConv() {
        // for JSON deserialisation
    }

    protected GemmConv(ConvolutionLayer.Builder builder) {
        super(builder);
    }

    /** A k x k convolution from {@code nIn} to {@code nOut} channels with the given stride and padding. */
    public static GemmConv of(int nIn, int nOut, int kernel, int stride, int padding, boolean bias) {
        return new GemmConv(builder(nIn, nOut, kernel, stride, padding, bias));
    }

    static ConvolutionLayer.Builder builder(int nIn, int nOut, int kernel, int stride, int padding, boolean bias) {
        if (nIn < 1 || nOut < 1 || kernel < 1 || stride < 1 || padding < 0 || padding >= kernel) {
            throw new IllegalArgumentException("convolution needs nIn, nOut, kernel, stride >= 1 and 0 <= padding < "
                    + "kernel, got nIn " + nIn + ", nOut " + nOut + ", kernel " + kernel + ", stride " + stride
                    + ", padding " + padding);
        }
        return new ConvolutionLayer.Builder(kernel, kernel)
                .stride(stride, stride)
                .padding(padding, padding)
                .convolutionMode(ConvolutionMode.Truncate)
                .dataFormat(CNN2DFormat.NCHW)
                .nIn(nIn)
                .nOut(nOut)
                .hasBias(bias)
                .activation(Activation.IDENTITY);
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
            Collection<TrainingListener> listeners, int layerIndex, INDArray paramsView, boolean initializeParams,
            DataType networkDataType) {
        return Layers.instantiate(new GemmConvLayer(conf, networkDataType), conf, listeners, layerIndex, paramsView,
                initializeParams, initializer());
    }

    @Override
    public GemmConv clone() {
        return (GemmConv) super.clone();
    }
}
