package org.transcnn.layers;

import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;

/**
 * 1x1 convolution, stride 1: [B, Cin, H, W] -&gt; [B, Cout, H, W], {@code y = W x + b} at every pixel, i.e. PyTorch's
 * {@code Conv2d(Cin, Cout, 1)}. A {@link GemmConv} that needs no patch gathering: one matrix multiply per image,
 * on the NCHW buffer as it is.
 */
public class PointwiseConv extends GemmConv {

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
        return new PointwiseConv(builder(nIn, nOut, 1, 1, 0, bias));
    }

    @Override
    public PointwiseConv clone() {
        return (PointwiseConv) super.clone();
    }
}
