package org.transcnn.kernels;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Stride-1 depthwise convolution (PyTorch's {@code Conv2d(C, C, k, padding=(k-1)/2, groups=C, bias=False)}) on NCHW
 * arrays [B, C, H, W] in C order, with kernels {@code w} [C, kH*kW]: the forward pass, its transpose (the input
 * gradient: {@link #forward} with {@link #rotated} kernels) and the weight gradient, parallel over the B*C planes
 * (over channels for the weight gradient). Each inner loop adds one kernel tap times a shifted input row. Java 17's
 * JIT runs such loops scalar when they index one flat array at two offsets, and vectorises them when every row is an
 * array of its own: planes from {@value #SHIFTED_ROWS_FROM_WIDTH} columns wide are first copied into shifted rows
 * ({@link Planes}), narrower ones (where the copies cost more than they save) use the flat loops.
 *
 * <p>Written for float arrays; the build generates the double twin {@code DepthwiseDouble} from this file (see
 * {@link NormActFloat}). Sums over whole planes are kept in double.
 */
public final class DepthwiseFloat {

    private DepthwiseFloat() {
    }

    /**
     * Planes at least this wide run the shifted-row kernels ({@link Planes}; forward and input gradient): measured
     * faster from 16 columns up, slower on the maps of the Fashion-MNIST job (8 pixels wide at most).
     */
    public static final int SHIFTED_ROWS_FROM_WIDTH = 16;

    /** Planes at least this wide run the shifted-row weight-gradient kernel (faster from 32 columns, slower at 16). */
    public static final int SHIFTED_ROWS_WEIGHTS_FROM_WIDTH = 32;

    /** y[b,c] = depthwise correlation of x[b,c] with w[c], zero padding (k-1)/2 (every value of y written). */
    public static void forward(float[] x, float[] w, float[] y, int b, int c, int h, int wd, int kh, int kw) {
        if (VectorSupport.AVAILABLE) {
            VectorDepthwise.forward(x, w, y, b, c, h, wd, kh, kw);
        } else {
            forwardPlain(x, w, y, b, c, h, wd, kh, kw);
        }
    }

    /**
     * {@link #forward} of {@code planes} consecutive planes from {@code base} (in x and in y), all with the kernel at
     * {@code w[wb ...]}, on the calling thread: one channel's planes of a batch gathered into one array.
     */
    public static void forwardPlanes(float[] x, float[] w, int wb, float[] y, int base, int planes, int h, int wd,
            int kh, int kw) {
        if (VectorSupport.AVAILABLE) {
            VectorDepthwise.forwardPlanes(x, w, wb, y, base, planes, h, wd, kh, kw);
        } else {
            forwardPlanesPlain(x, w, wb, y, base, planes, h, wd, kh, kw);
        }
    }

    /** {@link #forward} in plain loops. */
    static void forwardPlain(float[] x, float[] w, float[] y, int b, int c, int h, int wd, int kh, int kw) {
        int plane = h * wd;
        IntStream.range(0, b * c).parallel().forEach(bc ->
                forwardPlanesPlain(x, w, (bc % c) * kh * kw, y, bc * plane, 1, h, wd, kh, kw));
    }

    /** {@link #forwardPlanes} in plain loops. */
    static void forwardPlanesPlain(float[] x, float[] w, int wb, float[] y, int base, int planes, int h, int wd,
            int kh, int kw) {
        int plane = h * wd;
        if (wd >= SHIFTED_ROWS_FROM_WIDTH) {
            Planes s = Planes.take(h, wd, kh, kw);
            for (int i = 0; i < planes; i++) {
                s.shift(x, base + i * plane);
                s.correlate(w, wb, y, base + i * plane);
            }
            Planes.FREE.give(s);
        } else {
            for (int i = 0; i < planes; i++) {
                correlateFlat(x, w, wb, y, base + i * plane, h, wd, kh, kw);
            }
        }
    }

    /** One plane of {@link #forward} with loops over the flat arrays (scalar, but no copies). */
    private static void correlateFlat(float[] x, float[] w, int wb, float[] y, int base, int h, int wd, int kh,
            int kw) {
        int ph = (kh - 1) / 2;
        int pw = (kw - 1) / 2;
        Arrays.fill(y, base, base + h * wd, 0);
        for (int row = 0; row < h; row++) {
            int out = base + row * wd;
            for (int i = 0; i < kh; i++) {
                int src = row + i - ph;
                if (src < 0 || src >= h) {
                    continue;
                }
                int in = base + src * wd;
                for (int j = 0; j < kw; j++) {
                    float wt = w[wb + i * kw + j];
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
    public static float[] rotated(float[] w, int c, int kh, int kw) {
        float[] out = new float[w.length];
        int k = kh * kw;
        for (int ch = 0; ch < c; ch++) {
            for (int t = 0; t < k; t++) {
                out[ch * k + t] = w[ch * k + k - 1 - t];
            }
        }
        return out;
    }

    /** dw[c, i, j] = sum over b, rows, cols of dy[b,c] times x[b,c] shifted by tap (i, j). */
    public static void backwardWeights(float[] dy, float[] x, float[] dw, int b, int c, int h, int wd, int kh, int kw) {
        if (VectorSupport.AVAILABLE) {
            VectorDepthwise.backwardWeights(dy, x, dw, b, c, h, wd, kh, kw);
        } else {
            backwardWeightsPlain(dy, x, dw, b, c, h, wd, kh, kw);
        }
    }

    /**
     * {@link #backwardWeights} of one channel on the calling thread: {@code dw[dwBase + tap] +=} the sums over the
     * {@code planes} planes at {@code base + i * stride} (in dy and in x).
     */
    public static void backwardWeightsPlanes(float[] dy, float[] x, int base, int stride, int planes, float[] dw,
            int dwBase, int h, int wd, int kh, int kw) {
        if (VectorSupport.AVAILABLE) {
            VectorDepthwise.backwardWeightsPlanes(dy, x, base, stride, planes, dw, dwBase, h, wd, kh, kw);
        } else {
            backwardWeightsPlanesPlain(dy, x, base, stride, planes, dw, dwBase, h, wd, kh, kw);
        }
    }

    /** {@link #backwardWeights} in plain loops. */
    static void backwardWeightsPlain(float[] dy, float[] x, float[] dw, int b, int c, int h, int wd, int kh,
            int kw) {
        int plane = h * wd;
        IntStream.range(0, c).parallel().forEach(ch ->
                backwardWeightsPlanesPlain(dy, x, ch * plane, c * plane, b, dw, ch * kh * kw, h, wd, kh, kw));
    }

    /** {@link #backwardWeightsPlanes} in plain loops. */
    static void backwardWeightsPlanesPlain(float[] dy, float[] x, int base, int stride, int planes, float[] dw,
            int dwBase, int h, int wd, int kh, int kw) {
        if (wd >= SHIFTED_ROWS_WEIGHTS_FROM_WIDTH) {
            Planes s = Planes.take(h, wd, kh, kw);
            for (int t = 0; t < kh * kw; t++) {
                Arrays.fill(s.acc[t], 0, wd, 0);
            }
            for (int n = 0; n < planes; n++) {
                s.shift(x, base + n * stride);
                s.accumulateTapProducts(dy, base + n * stride);
            }
            for (int t = 0; t < kh * kw; t++) {
                double sum = 0;
                for (int col = 0; col < wd; col++) {
                    sum += s.acc[t][col];
                }
                dw[dwBase + t] += sum;
            }
            Planes.FREE.give(s);
        } else {
            for (int n = 0; n < planes; n++) {
                weightsFlat(dy, x, dw, base + n * stride, dwBase, h, wd, kh, kw);
            }
        }
    }

    /** One plane's share of {@link #backwardWeights} with loops over the flat arrays. */
    private static void weightsFlat(float[] dy, float[] x, float[] dw, int base, int w0, int h, int wd, int kh,
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

        final float[][][] shifted;
        final float[][] rows;
        final float[][] acc;
        int h;
        int wd;
        int kh;
        int kw;

        private Planes(int h, int wd, int kw, int taps) {
            shifted = new float[kw][h][wd];
            rows = new float[h][wd];
            acc = new float[taps][wd];
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
        void shift(float[] x, int base) {
            int pw = (kw - 1) / 2;
            for (int j = 0; j < kw; j++) {
                int off = j - pw;
                int lo = Math.max(0, -off);
                int hi = Math.min(wd, wd - off);
                for (int row = 0; row < h; row++) {
                    float[] r = shifted[j][row];
                    Arrays.fill(r, 0, lo, 0);
                    System.arraycopy(x, base + row * wd + lo + off, r, lo, hi - lo);
                    Arrays.fill(r, hi, wd, 0);
                }
            }
        }

        /** Plane {@code base} of y = the shifted plane correlated with kernel {@code w[wb ...]} (kh rows of kw). */
        void correlate(float[] w, int wb, float[] y, int base) {
            int ph = (kh - 1) / 2;
            for (int row = 0; row < h; row++) {
                float[] out = rows[row];
                Arrays.fill(out, 0, wd, 0);
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
        void accumulateTapProducts(float[] dy, int base) {
            int ph = (kh - 1) / 2;
            for (int row = 0; row < h; row++) {
                float[] g = rows[row];
                System.arraycopy(dy, base + row * wd, g, 0, wd);
                for (int i = 0; i < kh; i++) {
                    int src = row + i - ph;
                    if (src < 0 || src >= h) {
                        continue;
                    }
                    for (int j = 0; j < kw; j++) {
                        float[] a = acc[i * kw + j];
                        float[] xs = shifted[j][src];
                        for (int col = 0; col < wd; col++) {
                            a[col] += g[col] * xs[col];
                        }
                    }
                }
            }
        }

        /** out += sum over j of w[w0 + j] * shifted[j][src]. */
        void addTaps(float[] out, float[] w, int w0, int src) {
            int j = 0;
            for (; j + 3 <= kw; j += 3) {
                float a = w[w0 + j];
                float b = w[w0 + j + 1];
                float c = w[w0 + j + 2];
                float[] x0 = shifted[j][src];
                float[] x1 = shifted[j + 1][src];
                float[] x2 = shifted[j + 2][src];
                for (int col = 0; col < wd; col++) {
                    out[col] += a * x0[col] + b * x1[col] + c * x2[col];
                }
            }
            for (; j < kw; j++) {
                float a = w[w0 + j];
                float[] x0 = shifted[j][src];
                for (int col = 0; col < wd; col++) {
                    out[col] += a * x0[col];
                }
            }
        }
    }
}
