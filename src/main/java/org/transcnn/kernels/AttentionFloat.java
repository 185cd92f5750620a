package org.transcnn.kernels;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Direct multi-head attention kernels on arrays in NCHW order, forward and backward, used by the H-MHSA attention
 * cores. No permute copies: tokens are gathered from the NCHW maps per (batch, head, window),
 * {@code softmax(q k^T / sqrt(d)) v} is computed with vectorisable inner loops, and the result is scattered back.
 *
 * <p>The maps are described by an {@link AttentionLayout}. With a grid size G &gt; 0 both maps are the same map,
 * split into ceil(H/G) x ceil(W/G) windows whose tokens attend to the tokens of their own window only; a window cut by
 * the bottom/right edge simply holds fewer tokens, so nothing outside the map takes part. With G = 0 every query
 * attends to every key/value token; the queries are then taken {@value AttentionLayout#QUERY_BLOCK} at a time, so the
 * attention weights held at once stay [{@value AttentionLayout#QUERY_BLOCK}, keys] however large the map. The softmax
 * is recomputed in the backward pass instead of being stored.
 *
 * <p>Per window the work is five small matrix products ({@link #multiply}) on row arrays: the HotSpot C2 compiler of
 * Java 17 vectorises a loop {@code c[j] += s * b[j]} only when every array in it is indexed from 0 (with offsets into
 * one flat array it cannot rule out overlap and runs it scalar, 2-5x slower here).
 *
 * <p>Written for float arrays; the build generates the double twin {@code AttentionDouble} from this file (see
 * {@link NormActFloat}). The softmax sums are kept in double.
 */
public final class AttentionFloat {

    private AttentionFloat() {
    }

    /** Output [B, heads*d, qH, qW] in C order (every value written: the windows cover the map). */
    public static void forward(float[] q, float[] kv, AttentionLayout l, float[] out) {
        eachWindow(q, kv, l, false, (w, b, h) -> w.attendAndScatter(out, b, h));
    }

    /**
     * Accumulates the gradients of the loss with respect to the queries into {@code dq} and to the keys/values into
     * {@code dkv} (which may be the same array when {@code q == kv}), given {@code dOut}, the gradient with respect
     * to the output.
     */
    public static void backward(float[] q, float[] kv, float[] dOut, AttentionLayout l, float[] dq, float[] dkv) {
        eachWindow(q, kv, l, true, (w, b, h) -> w.backward(dOut, dq, dkv, b, h));
    }

    /** What to do with a window once its tokens are gathered and its attention weights computed. */
    private interface WindowStep {
        void apply(Window w, int batch, int head);
    }

    /**
     * Runs {@code step} on every window of every (batch, head), the (batch, head) pairs in parallel; with
     * {@code backward} the window also gathers the key-major and value-transposed copies only the backward pass reads.
     */
    private static void eachWindow(float[] q, float[] kv, AttentionLayout l, boolean backward, WindowStep step) {
        IntStream.range(0, l.batch() * l.heads()).parallel().forEach(task -> {
            Window w = Window.take(l);
            int b = task / l.heads();
            int h = task % l.heads();
            for (int wr = 0; wr < l.windowRows(); wr++) {
                for (int wc = 0; wc < l.windowCols(); wc++) {
                    w.select(wr, wc);
                    w.gather(q, kv, b, h, backward);
                    w.softmax();
                    step.apply(w, b, h);
                }
            }
            Window.FREE.give(w);
        });
    }

    /**
     * {@link #multiply}, by {@link VectorMatmul} when the Vector API is there ({@link VectorSupport}).
     */
    static void product(float[][] c, float[][] a, boolean transposeA, float[][] b, int m, int k, int n) {
        if (VectorSupport.AVAILABLE) {
            VectorMatmul.multiply(c, a, transposeA, b, m, k, n);
        } else {
            multiply(c, a, transposeA, b, m, k, n);
        }
    }

    /** Row-wise softmax of {@code p[0..rows)[0..n)} in place, by {@link VectorSoftmax} when the Vector API is there. */
    static void normalise(float[][] p, int rows, int n) {
        if (VectorSupport.AVAILABLE) {
            VectorSoftmax.rows(p, rows, n);
        } else {
            softmaxRows(p, rows, n);
        }
    }

    /**
     * The softmax's backward pass in place, row by row: {@code dp = p * (dp - rowsum(dp * p))}, where {@code p} is
     * the softmax and {@code dp} the gradient with respect to it on entry, with respect to the logits on return; by
     * {@link VectorSoftmax} when the Vector API is there.
     */
    static void softmaxBackward(float[][] dp, float[][] p, int rows, int n) {
        if (VectorSupport.AVAILABLE) {
            VectorSoftmax.backward(dp, p, rows, n);
        } else {
            softmaxBackwardRows(dp, p, rows, n);
        }
    }

    /** {@link #softmaxBackward} in plain loops. */
    static void softmaxBackwardRows(float[][] dp, float[][] p, int rows, int n) {
        for (int i = 0; i < rows; i++) {
            float[] pi = p[i];
            float[] si = dp[i];
            float dot = 0;
            for (int t = 0; t < n; t++) {
                dot += si[t] * pi[t];
            }
            for (int t = 0; t < n; t++) {
                si[t] = pi[t] * (si[t] - dot);
            }
        }
    }

    /** Row-wise softmax of {@code p[0..rows)[0..n)} in place: the maximum subtracted, the sum kept in double. */
    static void softmaxRows(float[][] p, int rows, int n) {
        for (int i = 0; i < rows; i++) {
            float[] pi = p[i];
            float max = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < n; t++) {
                max = Math.max(max, pi[t]);
            }
            // the exponentials in a loop of their own (vectorised), the sum in a second one (a reduction is not)
            for (int t = 0; t < n; t++) {
                pi[t] = FastMath.expNonPositiveFloat(pi[t] - max);
            }
            double sum = 0;
            for (int t = 0; t < n; t++) {
                sum += pi[t];
            }
            float inv = (float) (1.0 / sum);
            for (int t = 0; t < n; t++) {
                pi[t] *= inv;
            }
        }
    }

    /**
     * {@code c[i][0..n) = sum over p < k of a(i, p) * b[p][0..n)} for {@code i < m}, where {@code a(i, p)} is
     * {@code a[i][p]}, or {@code a[p][i]} when {@code transposeA}. Four rows of {@code b} per pass over a row of
     * {@code c}, so each value of {@code c} is loaded and stored k/4 times instead of k times.
     */
    static void multiply(float[][] c, float[][] a, boolean transposeA, float[][] b, int m, int k, int n) {
        for (int i = 0; i < m; i++) {
            float[] ci = c[i];
            Arrays.fill(ci, 0, n, 0);
            int p = 0;
            for (; p + 4 <= k; p += 4) {
                float s0 = transposeA ? a[p][i] : a[i][p];
                float s1 = transposeA ? a[p + 1][i] : a[i][p + 1];
                float s2 = transposeA ? a[p + 2][i] : a[i][p + 2];
                float s3 = transposeA ? a[p + 3][i] : a[i][p + 3];
                float[] b0 = b[p];
                float[] b1 = b[p + 1];
                float[] b2 = b[p + 2];
                float[] b3 = b[p + 3];
                for (int j = 0; j < n; j++) {
                    ci[j] += s0 * b0[j] + s1 * b1[j] + s2 * b2[j] + s3 * b3[j];
                }
            }
            for (; p < k; p++) {
                float s = transposeA ? a[p][i] : a[i][p];
                float[] bp = b[p];
                for (int j = 0; j < n; j++) {
                    ci[j] += s * bp[j];
                }
            }
        }
    }

    /**
     * Scratch space and the token lists of one window, reused across windows, (batch, head) tasks and calls through
     * {@link #FREE}. A window grows when a layout needs more room than any earlier one. Matrices are row arrays; a
     * [rows, cols] comment gives the rows and columns in use.
     */
    private static final class Window {
        static final FreeList<Window> FREE = new FreeList<>();

        AttentionLayout l;
        int d;
        float scale;
        final int[] qPos;
        final int[] kPos;
        int tq;
        int tk;
        final float[][] qs;  // [tq, d], scaled queries
        final float[][] kt;  // [d, tk], keys transposed
        final float[][] kr;  // [tk, d], keys (backward only)
        final float[][] v;   // [tk, d]
        final float[][] vt;  // [d, tk], values transposed (backward only)
        final float[][] p;   // [tq, tk], attention weights
        final float[][] ds;  // [tq, tk], gradient of the logits (backward only)
        final float[][] o;   // [tq, d], output, or its gradient in the backward pass
        final float[][] dq;  // [tq, d]
        final float[][] dk;  // [tk, d]
        final float[][] dv;  // [tk, d]

        private Window(int mq, int mk, int d) {
            qPos = new int[mq];
            kPos = new int[mk];
            qs = new float[mq][d];
            kt = new float[d][mk];
            kr = new float[mk][d];
            v = new float[mk][d];
            vt = new float[d][mk];
            p = new float[mq][mk];
            ds = new float[mq][mk];
            o = new float[mq][d];
            dq = new float[mq][d];
            dk = new float[mk][d];
            dv = new float[mk][d];
        }

        /** A free window set up for {@code l}. */
        static Window take(AttentionLayout l) {
            int mq = l.maxQueryTokens();
            int mk = l.maxKeyTokens();
            int d = l.headDim();
            Window w = FREE.take(f -> f.qPos.length >= mq && f.kPos.length >= mk && f.kt.length >= d,
                    f -> f == null ? new Window(mq, mk, d)
                            : new Window(Math.max(mq, f.qPos.length), Math.max(mk, f.kPos.length),
                                    Math.max(d, f.kt.length)));
            w.l = l;
            w.d = d;
            w.scale = (float) (1.0 / Math.sqrt(d));
            return w;
        }

        /**
         * Token positions (y * width + x) of window (wr, wc), row-major; for global attention the queries of block
         * wr and all keys.
         */
        void select(int wr, int wc) {
            if (l.grid() == 0) {
                int first = wr * AttentionLayout.QUERY_BLOCK;
                tq = Math.min(AttentionLayout.QUERY_BLOCK, l.qH() * l.qW() - first);
                tk = l.kH() * l.kW();
                for (int t = 0; t < tq; t++) {
                    qPos[t] = first + t;
                }
                for (int t = 0; t < tk; t++) {
                    kPos[t] = t;
                }
                return;
            }
            int g = l.grid();
            int t = 0;
            for (int y = wr * g; y < Math.min(l.qH(), wr * g + g); y++) {
                for (int x = wc * g; x < Math.min(l.qW(), wc * g + g); x++) {
                    qPos[t] = y * l.qW() + x;
                    kPos[t] = y * l.qW() + x;
                    t++;
                }
            }
            tq = t;
            tk = t;
        }

        void gather(float[] q, float[] kvIn, int b, int h, boolean backward) {
            int qMap = l.qH() * l.qW();
            int kMap = l.kH() * l.kW();
            for (int j = 0; j < d; j++) {
                int qBase = (b * l.qChannels() + l.qOffset() + h * d + j) * qMap;
                for (int i = 0; i < tq; i++) {
                    qs[i][j] = q[qBase + qPos[i]] * scale;
                }
                int kBase = (b * l.kvChannels() + l.kOffset() + h * d + j) * kMap;
                int vBase = (b * l.kvChannels() + l.vOffset() + h * d + j) * kMap;
                float[] ktj = kt[j];
                float[] vtj = vt[j];
                for (int i = 0; i < tk; i++) {
                    float kij = kvIn[kBase + kPos[i]];
                    float vij = kvIn[vBase + kPos[i]];
                    ktj[i] = kij;
                    v[i][j] = vij;
                    if (backward) {
                        kr[i][j] = kij;
                        vtj[i] = vij;
                    }
                }
            }
        }

        /** p = softmax over keys of qs k^T. */
        void softmax() {
            product(p, qs, false, kt, tq, d, tk);
            normalise(p, tq, tk);
        }

        /** out[query] = p v, into channels head*d + j of the output. */
        void attendAndScatter(float[] out, int b, int h) {
            int qMap = l.qH() * l.qW();
            product(o, p, false, v, tq, tk, d);
            // channel by channel: the writes stay within one plane of the map (token by token they would stride by
            // a whole plane each)
            for (int j = 0; j < d; j++) {
                int base = (b * l.outChannels() + h * d + j) * qMap;
                for (int i = 0; i < tq; i++) {
                    out[base + qPos[i]] = o[i][j];
                }
            }
        }

        /**
         * With dO the output's gradient: dv = p^T dO; dP = dO v^T; dS = p * (dP - rowsum(dP * p)) (the softmax's
         * backward); dqs = dS k; dk = dS^T qs; and dq = scale * dqs.
         */
        void backward(float[] dOut, float[] dqOut, float[] dkv, int b, int h) {
            int qMap = l.qH() * l.qW();
            int kMap = l.kH() * l.kW();
            float[][] dO = o;
            for (int j = 0; j < d; j++) {
                int base = (b * l.outChannels() + h * d + j) * qMap;
                for (int i = 0; i < tq; i++) {
                    dO[i][j] = dOut[base + qPos[i]];
                }
            }
            product(dv, p, true, dO, tk, tq, d);
            product(ds, dO, false, vt, tq, d, tk);
            softmaxBackward(ds, p, tq, tk);
            product(dq, ds, false, kr, tq, tk, d);
            product(dk, ds, true, qs, tk, tq, d);
            for (int j = 0; j < d; j++) {
                int qBase = (b * l.qChannels() + l.qOffset() + h * d + j) * qMap;
                for (int i = 0; i < tq; i++) {
                    dqOut[qBase + qPos[i]] += dq[i][j] * scale;
                }
                int kBase = (b * l.kvChannels() + l.kOffset() + h * d + j) * kMap;
                int vBase = (b * l.kvChannels() + l.vOffset() + h * d + j) * kMap;
                for (int t = 0; t < tk; t++) {
                    dkv[kBase + kPos[t]] += dk[t][j];
                    dkv[vBase + kPos[t]] += dv[t][j];
                }
            }
        }
    }
}
