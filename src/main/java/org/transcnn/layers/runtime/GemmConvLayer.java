package org.transcnn.layers.runtime;

import org.transcnn.kernels.PatchGeometry;
import org.transcnn.kernels.PatchesDouble;
import org.transcnn.kernels.PatchesFloat;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
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
import org.transcnn.layers.GemmConv;

import java.util.Arrays;

/**
 * Runtime layer of {@link GemmConv} and {@link org.transcnn.layers.PointwiseConv}: per image, a GEMM written
 * straight into the NCHW output. Image b of the NCHW batch is the row-major matrix [Cin, H*W], so a 1x1 stride-1
 * kernel computes y_b = W x_b, dx_b = W^T dy_b and dW = sum_b dy_b x_b^T on ND4J's buffers with no copies (the bias is
 * written into y before the GEMM adds onto it). Larger kernels do the same with image b's patch matrix P_b [Cin*kH*kW,
 * Ho*Wo] ({@link PatchesFloat}) in place of x_b, and sum the patch gradients W^T dy_b back onto the input pixels.
 */
public class GemmConvLayer extends ConvolutionLayer {

    /**
     * A column of ones as long as the last bias gradient's maps, in the layer's data type (outside any workspace),
     * reused while the maps keep their size.
     */
    private transient INDArray ones;

    public GemmConvLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private org.deeplearning4j.nn.conf.layers.ConvolutionLayer convConf() {
        return layerConf();
    }

    private int nIn() {
        return (int) convConf().getNIn();
    }

    private int nOut() {
        return (int) convConf().getNOut();
    }

    private boolean pointwise() {
        int[] k = convConf().getKernelSize();
        int[] s = convConf().getStride();
        int[] p = convConf().getPadding();
        return k[0] == 1 && k[1] == 1 && s[0] == 1 && s[1] == 1 && p[0] == 0 && p[1] == 0;
    }

    /**
     * {@code biasGrad[co] = sum over b, pixels of dy[b, co, ., .]}: per image the GEMM dy_b [Cout, Ho*Wo] x ones
     * [Ho*Wo, 1], accumulated over the batch, on both cores (ND4J's reduction runs on one and measured 2-5x slower).
     */
    private void biasGradient(INDArray dy, INDArray biasGrad) {
        long[] s = dy.shape();
        int channels = (int) s[1];
        int pixels = (int) (s[2] * s[3]);
        if (ones == null || ones.length() != pixels) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                ones = Nd4j.ones(dataType, pixels, 1);
            }
        }
        INDArray out = Buffers.isCContiguous(biasGrad) ? biasGrad : Nd4j.createUninitialized(dataType, channels);
        Buffers.gemmSum((int) s[0], false, false, channels, 1, pixels, dy, 0, (long) channels * pixels, pixels, ones,
                0, 0, 1, 0, out, 0, 1);
        if (out != biasGrad) {
            biasGrad.assign(out.reshape(biasGrad.shape()));
        }
    }

    /** Checks the configuration and the input; returns {Ho, Wo}. */
    private int[] checkInput() {
        org.deeplearning4j.nn.conf.layers.ConvolutionLayer c = convConf();
        if (c.getDilation()[0] != 1 || c.getDilation()[1] != 1 || c.getCnn2dDataFormat() != CNN2DFormat.NCHW
                || !(c.getConvolutionMode() == ConvolutionMode.Truncate
                || c.getConvolutionMode() == ConvolutionMode.Strict)) {
            throw new IllegalStateException("GemmConv " + layerId() + " supports only dilation 1, NCHW and explicit "
                    + "symmetric padding (ConvolutionMode Truncate or Strict)");
        }
        if (input.rank() != 4 || input.size(1) != nIn()) {
            throw new IllegalArgumentException("convolution " + layerId() + " expects [B, " + nIn() + ", H, W], got "
                    + Arrays.toString(input.shape()));
        }
        int[] k = c.getKernelSize();
        int[] s = c.getStride();
        int[] p = c.getPadding();
        long h = input.size(2) + 2L * p[0];
        long w = input.size(3) + 2L * p[1];
        if (h < k[0] || w < k[1]) {
            throw new IllegalArgumentException("convolution " + layerId() + ": input " + input.size(2) + "x"
                    + input.size(3) + " padded by " + p[0] + "x" + p[1] + " is smaller than the " + k[0] + "x" + k[1]
                    + " kernel");
        }
        return new int[] {(int) ((h - k[0]) / s[0] + 1), (int) ((w - k[1]) / s[1] + 1)};
    }

    /** Rows of the weight matrix and of a patch matrix: Cin*kH*kW. */
    private int rows() {
        int[] k = convConf().getKernelSize();
        return nIn() * k[0] * k[1];
    }

    private INDArray weights2d(boolean training, LayerWorkspaceMgr mgr) {
        int[] k = convConf().getKernelSize();
        return getParamWithNoise(ConvolutionParamInitializer.WEIGHT_KEY, training, mgr)
                .reshape('c', nOut(), (long) nIn() * k[0] * k[1]);
    }

    private PatchGeometry geometry(long[] pixels, int ho, int wo) {
        int[] k = convConf().getKernelSize();
        int[] s = convConf().getStride();
        int[] p = convConf().getPadding();
        return new PatchGeometry((int) pixels[0], (int) pixels[1], (int) pixels[2], (int) pixels[3], ho, wo, k[0],
                k[1], s[0], s[1], p[0], p[1]);
    }

    /** [B, C, H, W] -&gt; the patch matrices [B, C*kH*kW, Ho*Wo] (a new array). */
    private INDArray patches(INDArray x, int ho, int wo) {
        PatchGeometry g = geometry(x.shape(), ho, wo);
        INDArray out = Nd4j.createUninitialized(x.dataType(), new long[] {g.b(), g.rows(), g.columns()}, 'c');
        int n = g.size();
        if (x.dataType() == DataType.FLOAT) {
            float[] src = Buffers.readFloats(x);
            float[] cols = Scratch.takeFloats(n);
            PatchesFloat.gather(src, cols, g);
            Buffers.write(cols, out);
            Scratch.give(src, cols);
        } else {
            double[] src = Buffers.read(x);
            double[] cols = Scratch.take(n);
            PatchesDouble.gather(src, cols, g);
            Buffers.write(cols, out);
            Scratch.give(src, cols);
        }
        return out;
    }

    /** Adds the patch-matrix gradients {@code cols} [B, C*kH*kW, Ho*Wo] onto the pixels: {@code out} [B, C, H, W]. */
    private void scatterPatches(INDArray cols, INDArray out, int ho, int wo) {
        PatchGeometry g = geometry(out.shape(), ho, wo);
        int n = g.b() * g.c() * g.h() * g.w();
        if (out.dataType() == DataType.FLOAT) {
            float[] d = Buffers.readFloats(cols);
            float[] dx = Scratch.zerosFloats(n);
            PatchesFloat.scatter(d, dx, g);
            Buffers.write(dx, out);
            Scratch.give(d, dx);
        } else {
            double[] d = Buffers.read(cols);
            double[] dx = Scratch.zeros(n);
            PatchesDouble.scatter(d, dx, g);
            Buffers.write(dx, out);
            Scratch.give(d, dx);
        }
    }

    @Override
    protected Pair<INDArray, INDArray> preOutput(boolean training, boolean forBackprop, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        int[] o = checkInput();
        long[] in = input.shape();
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, new long[] {in[0], nOut(), o[0],
                o[1]}, 'c');
        INDArray w = Buffers.cContiguous(weights2d(training, mgr));
        INDArray b = convConf().hasBias() ? getParamWithNoise(ConvolutionParamInitializer.BIAS_KEY, training, mgr) : null;
        INDArray x = Buffers.cContiguous(input.castTo(dataType));
        // the GEMM's right operand per image: x_b itself [Cin, HW] or its patch matrix [Cin*kH*kW, Ho*Wo]; the
        // patches live in the layer's working-memory workspace when DL4J has one open (training), else on the heap
        INDArray p = pointwise() ? x : patches(x, o[0], o[1]);
        int batch = (int) in[0];
        int hw = o[0] * o[1];
        int k = rows();
        if (b != null) {
            Buffers.fillChannels(out, b);
        }
        Buffers.gemm(batch, false, false, nOut(), hw, k, w, 0, 0, k, p, 0, (long) k * hw, hw, b != null ? 1 : 0, out,
                0, (long) nOut() * hw, hw);
        return new Pair<>(out, null);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        int[] o = checkInput();
        INDArray delta = convConf().getActivationFn() instanceof ActivationIdentity ? epsilon
                : convConf().getActivationFn().backprop(preOutput(true, true, mgr).getFirst(), epsilon).getFirst();
        INDArray w = Buffers.cContiguous(weights2d(true, mgr));
        INDArray eps = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape(), 'c');
        Gradient g = new DefaultGradient();
        INDArray weightGrad = gradientViews.get(ConvolutionParamInitializer.WEIGHT_KEY);
        INDArray dy4 = Buffers.cContiguous(delta.castTo(dataType));
        if (convConf().hasBias()) {
            INDArray biasGrad = gradientViews.get(ConvolutionParamInitializer.BIAS_KEY);
            biasGradient(dy4, biasGrad);
            g.setGradientFor(ConvolutionParamInitializer.BIAS_KEY, biasGrad);
        }
        // per image: dP_b = W^T dy_b (dx_b itself for 1x1 kernels), dW = sum_b dy_b P_b^T (in the gradient view)
        INDArray x = Buffers.cContiguous(input.castTo(dataType));
        INDArray p = pointwise() ? x : patches(x, o[0], o[1]);
        INDArray dp = pointwise() ? eps : Nd4j.createUninitialized(dataType, p.shape(), 'c');
        int batch = (int) input.size(0);
        int hw = o[0] * o[1];
        int k = rows();
        INDArray dw = Buffers.isCContiguous(weightGrad) ? weightGrad
                : Nd4j.createUninitialized(dataType, weightGrad.shape(), 'c');
        Buffers.gemm(batch, true, false, k, hw, nOut(), w, 0, 0, k, dy4, 0, (long) nOut() * hw, hw, 0, dp, 0,
                (long) k * hw, hw);
        Buffers.gemmSum(batch, false, true, nOut(), k, hw, dy4, 0, (long) nOut() * hw, hw, p, 0, (long) k * hw, hw, 0,
                dw, 0, k);
        if (dw != weightGrad) {
            weightGrad.assign(dw);
        }
        if (dp != eps) {
            scatterPatches(dp, eps, o[0], o[1]);
        }
        g.setGradientFor(ConvolutionParamInitializer.WEIGHT_KEY, weightGrad, 'c');
        weightNoiseParams.clear();
        return new Pair<>(g, backpropDropOutIfPresent(eps));
    }
}
