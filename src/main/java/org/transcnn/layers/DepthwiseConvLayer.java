package org.transcnn.layers;

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

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Runtime layer of {@link DepthwiseConv}: direct stride-1 depthwise convolution kernels on Java arrays, parallel
 * over the B*C planes (forward and input gradient) and over channels (weight gradient). Each inner loop adds one
 * kernel tap times a shifted input row. Java 17's JIT runs such loops scalar when they index one flat array at two
 * offsets, and vectorises them when every row is an array of its own: planes from {@value #SHIFTED_ROWS_FROM_WIDTH}
 * columns wide are first copied into shifted rows ({@link Planes}), narrower ones (where the copies cost more than
 * they save) use the flat loops.
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

    /** Weights as [C][kH*kW] (channel-major), from DL4J's [kH, kW, C, 1]. */
    private double[] channelMajorWeights(INDArray w) {
        int kh = kernel()[0];
        int kw = kernel()[1];
        int c = (int) layerConf().getNIn();
        double[] src = Buffers.read(w);
        double[] out = new double[src.length];
        for (int t = 0; t < kh * kw; t++) {
            for (int ch = 0; ch < c; ch++) {
                out[ch * kh * kw + t] = src[t * c + ch];
            }
        }
        return out;
    }

    @Override
    protected Pair<INDArray, INDArray> preOutput(boolean training, boolean forBackprop, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        checkInput();
        INDArray w = getParamWithNoise(DepthwiseConvolutionParamInitializer.WEIGHT_KEY, training, mgr);
        long[] shape = input.shape();
        double[] x = Buffers.read(input.castTo(dataType));
        double[] y = Scratch.take(x.length);
        forward(x, channelMajorWeights(w), y, (int) shape[0], (int) shape[1], (int) shape[2], (int) shape[3],
                kernel()[0], kernel()[1]);
        INDArray out = Buffers.write(y, mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, shape, 'c'));
        Scratch.give(x, y);
        return new Pair<>(out, null);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        checkInput();
        INDArray w = getParamWithNoise(DepthwiseConvolutionParamInitializer.WEIGHT_KEY, true, mgr);
        INDArray delta = layerConf().getActivationFn() instanceof ActivationIdentity ? epsilon
                : layerConf().getActivationFn().backprop(preOutput(true, true, mgr).getFirst(), epsilon).getFirst();
        long[] shape = input.shape();
        int b = (int) shape[0];
        int c = (int) shape[1];
        int h = (int) shape[2];
        int wd = (int) shape[3];
        int kh = kernel()[0];
        int kw = kernel()[1];
        double[] x = Buffers.read(input.castTo(dataType));
        double[] dy = Buffers.read(delta);
        double[] dx = Scratch.take(x.length);
        forward(dy, rotated(channelMajorWeights(w), c, kh, kw), dx, b, c, h, wd, kh, kw);
        double[] dw = new double[c * kh * kw];
        backwardWeights(dy, x, dw, b, c, h, wd, kh, kw);
        double[] dwDl4j = new double[dw.length];
        for (int t = 0; t < kh * kw; t++) {
            for (int ch = 0; ch < c; ch++) {
                dwDl4j[t * c + ch] = dw[ch * kh * kw + t];
            }
        }
        INDArray weightGrad = gradientViews.get(DepthwiseConvolutionParamInitializer.WEIGHT_KEY);
        weightGrad.assign(org.nd4j.linalg.factory.Nd4j.create(dwDl4j, weightGrad.shape(), weightGrad.dataType()));
        INDArray eps = Buffers.write(dx, mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, shape, 'c'));
        Scratch.give(x, dy, dx);
        Gradient g = new DefaultGradient();
        g.setGradientFor(DepthwiseConvolutionParamInitializer.WEIGHT_KEY, weightGrad, 'c');
        weightNoiseParams.clear();
        return new Pair<>(g, backpropDropOutIfPresent(eps));
    }

    /**
     * Planes at least this wide run the shifted-row kernels ({@link Planes}; forward and input gradient): measured
     * faster from 16 columns up, slower on the maps of the Fashion-MNIST job (8 pixels wide at most).
     */
    static final int SHIFTED_ROWS_FROM_WIDTH = 16;

    /** Planes at least this wide run the shifted-row weight-gradient kernel (slower than the flat one at 32x32). */
    static final int SHIFTED_ROWS_WEIGHTS_FROM_WIDTH = 64;

    /** y[b,c] = depthwise correlation of x[b,c] with w[c], zero padding (k-1)/2 (every value of y written). */
    static void forward(double[] x, double[] w, double[] y, int b, int c, int h, int wd, int kh, int kw) {
        int plane = h * wd;
        IntStream.range(0, b * c).parallel().forEach(bc -> {
            int base = bc * plane;
            int wb = (bc % c) * kh * kw;
            if (wd >= SHIFTED_ROWS_FROM_WIDTH) {
                Planes s = Planes.take(h, wd, kh, kw);
                s.shift(x, base);
                s.correlate(w, wb, y, base);
                Planes.FREE.give(s);
            } else {
                correlateFlat(x, w, wb, y, base, h, wd, kh, kw);
            }
        });
    }

    /** One plane of {@link #forward} with loops over the flat arrays (scalar, but no copies). */
    private static void correlateFlat(double[] x, double[] w, int wb, double[] y, int base, int h, int wd, int kh,
            int kw) {
        int ph = (kh - 1) / 2;
        int pw = (kw - 1) / 2;
        Arrays.fill(y, base, base + h * wd, 0.0);
        for (int row = 0; row < h; row++) {
            int out = base + row * wd;
            for (int i = 0; i < kh; i++) {
                int src = row + i - ph;
                if (src < 0 || src >= h) {
                    continue;
                }
                int in = base + src * wd;
                for (int j = 0; j < kw; j++) {
                    double wt = w[wb + i * kw + j];
                    int off = j - pw;
                    int lo = Math.max(0, -off);
                    int hi = Math.min(wd, wd - off);
                    for (int col = lo; col < hi; col++) {
                        y[out + col] += wt * x[in + col + off];
                    }
                }
            }
        }
    }

    /** Each channel's kernel rotated by 180 degrees: correlating with it is the transpose of {@link #forward}. */
    static double[] rotated(double[] w, int c, int kh, int kw) {
        double[] out = new double[w.length];
        int k = kh * kw;
        for (int ch = 0; ch < c; ch++) {
            for (int t = 0; t < k; t++) {
                out[ch * k + t] = w[ch * k + k - 1 - t];
            }
        }
        return out;
    }

    /** dw[c, i, j] = sum over b, rows, cols of dy[b,c] times x[b,c] shifted by tap (i, j). */
    static void backwardWeights(double[] dy, double[] x, double[] dw, int b, int c, int h, int wd, int kh, int kw) {
        int plane = h * wd;
        IntStream.range(0, c).parallel().forEach(ch -> {
            if (wd >= SHIFTED_ROWS_WEIGHTS_FROM_WIDTH) {
                Planes s = Planes.take(h, wd, kh, kw);
                for (int t = 0; t < kh * kw; t++) {
                    Arrays.fill(s.acc[t], 0, wd, 0.0);
                }
                for (int n = 0; n < b; n++) {
                    int base = (n * c + ch) * plane;
                    s.shift(x, base);
                    s.accumulateTapProducts(dy, base);
                }
                for (int t = 0; t < kh * kw; t++) {
                    double sum = 0;
                    for (int col = 0; col < wd; col++) {
                        sum += s.acc[t][col];
                    }
                    dw[ch * kh * kw + t] += sum;
                }
                Planes.FREE.give(s);
            } else {
                for (int n = 0; n < b; n++) {
                    weightsFlat(dy, x, dw, (n * c + ch) * plane, ch * kh * kw, h, wd, kh, kw);
                }
            }
        });
    }

    /** One plane's share of {@link #backwardWeights} with loops over the flat arrays. */
    private static void weightsFlat(double[] dy, double[] x, double[] dw, int base, int w0, int h, int wd, int kh,
            int kw) {
        int ph = (kh - 1) / 2;
        int pw = (kw - 1) / 2;
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                int off = j - pw;
                int lo = Math.max(0, -off);
                int hi = Math.min(wd, wd - off);
                double acc = 0;
                for (int row = 0; row < h; row++) {
                    int src = row + i - ph;
                    if (src < 0 || src >= h) {
                        continue;
                    }
                    int g = base + row * wd;
                    int in = base + src * wd + off;
                    for (int col = lo; col < hi; col++) {
                        acc += dy[g + col] * x[in + col];
                    }
                }
                dw[w0 + i * kw + j] += acc;
            }
        }
    }

    /**
     * One plane's rows shifted left and right by each kernel column offset, {@code shifted[j][row][col] =
     * x[row][col + j - (kw-1)/2]} (0 outside the plane), a set of rows (output rows, or the incoming gradient's rows)
     * and one accumulator row per kernel tap: with every row its own array the tap loops index all arrays from 0,
     * which Java 17's JIT vectorises (it does not with offsets into one flat array). Reused across planes, tasks and
     * calls through {@link #FREE}; grows when a plane or kernel needs more room.
     */
    private static final class Planes {
        static final FreeList<Planes> FREE = new FreeList<>();

        final double[][][] shifted;
        final double[][] rows;
        final double[][] acc;
        int h;
        int wd;
        int kh;
        int kw;

        private Planes(int h, int wd, int kw, int taps) {
            shifted = new double[kw][h][wd];
            rows = new double[h][wd];
            acc = new double[taps][wd];
        }

        static Planes take(int h, int wd, int kh, int kw) {
            Planes s = FREE.take(f -> f.rows.length >= h && f.rows[0].length >= wd && f.shifted.length >= kw
                            && f.acc.length >= kh * kw,
                    f -> f == null ? new Planes(h, wd, kw, kh * kw)
                            : new Planes(Math.max(h, f.rows.length), Math.max(wd, f.rows[0].length),
                                    Math.max(kw, f.shifted.length), Math.max(kh * kw, f.acc.length)));
            s.h = h;
            s.wd = wd;
            s.kh = kh;
            s.kw = kw;
            return s;
        }

        /** Fills {@link #shifted} from the plane of {@code x} that starts at {@code base}. */
        void shift(double[] x, int base) {
            int pw = (kw - 1) / 2;
            for (int j = 0; j < kw; j++) {
                int off = j - pw;
                int lo = Math.max(0, -off);
                int hi = Math.min(wd, wd - off);
                for (int row = 0; row < h; row++) {
                    double[] r = shifted[j][row];
                    Arrays.fill(r, 0, lo, 0.0);
                    System.arraycopy(x, base + row * wd + lo + off, r, lo, hi - lo);
                    Arrays.fill(r, hi, wd, 0.0);
                }
            }
        }

        /** Plane {@code base} of y = the shifted plane correlated with kernel {@code w[wb ...]} (kh rows of kw). */
        void correlate(double[] w, int wb, double[] y, int base) {
            int ph = (kh - 1) / 2;
            for (int row = 0; row < h; row++) {
                double[] out = rows[row];
                Arrays.fill(out, 0, wd, 0.0);
                for (int i = 0; i < kh; i++) {
                    int src = row + i - ph;
                    if (src >= 0 && src < h) {
                        addTaps(out, w, wb + i * kw, src);
                    }
                }
                System.arraycopy(out, 0, y, base + row * wd, wd);
            }
        }

        /** acc[i*kw + j][col] += dy[row][col] * shifted[j][row + i - ph][col] over the rows of plane {@code base}. */
        void accumulateTapProducts(double[] dy, int base) {
            int ph = (kh - 1) / 2;
            for (int row = 0; row < h; row++) {
                double[] g = rows[row];
                System.arraycopy(dy, base + row * wd, g, 0, wd);
                for (int i = 0; i < kh; i++) {
                    int src = row + i - ph;
                    if (src < 0 || src >= h) {
                        continue;
                    }
                    for (int j = 0; j < kw; j++) {
                        double[] a = acc[i * kw + j];
                        double[] xs = shifted[j][src];
                        for (int col = 0; col < wd; col++) {
                            a[col] += g[col] * xs[col];
                        }
                    }
                }
            }
        }

        /** out += sum over j of w[w0 + j] * shifted[j][src]. */
        void addTaps(double[] out, double[] w, int w0, int src) {
            int j = 0;
            for (; j + 3 <= kw; j += 3) {
                double a = w[w0 + j];
                double b = w[w0 + j + 1];
                double c = w[w0 + j + 2];
                double[] x0 = shifted[j][src];
                double[] x1 = shifted[j + 1][src];
                double[] x2 = shifted[j + 2][src];
                for (int col = 0; col < wd; col++) {
                    out[col] += a * x0[col] + b * x1[col] + c * x2[col];
                }
            }
            for (; j < kw; j++) {
                double a = w[w0 + j];
                double[] x0 = shifted[j][src];
                for (int col = 0; col < wd; col++) {
                    out[col] += a * x0[col];
                }
            }
        }
    }
}
