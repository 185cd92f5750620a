package org.transcnn.layers;

import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.IntStream;

/**
 * Direct multi-head attention kernels on Java arrays in NCHW order, forward and backward, used by the H-MHSA
 * attention cores. No SameDiff, no permute copies: tokens are gathered from the NCHW maps per (batch, head, window),
 * {@code softmax(q k^T / sqrt(d)) v} is computed with vectorisable inner loops, and the result is scattered back.
 *
 * <p>Queries come from channels {@code qOffset + head*d + j} of a [B, qChannels, qH, qW] array; keys and values
 * from channels {@code kOffset + head*d + j} and {@code vOffset + head*d + j} of a [B, kvChannels, kH, kW] array
 * (which may be the same array as the queries). With a grid size G &gt; 0 both maps are the same map, split into
 * ceil(H/G) x ceil(W/G) windows whose tokens attend to the tokens of their own window only; a window cut by the
 * bottom/right edge simply holds fewer tokens, so nothing outside the map takes part. With G = 0 every query attends
 * to every key/value token. The softmax is recomputed in the backward pass instead of being stored.
 */
final class AttentionKernels {

    /**
     * Geometry of one attention core call.
     *
     * @param grid window side, or 0 for global attention
     */
    record Layout(int batch, int heads, int headDim, int qChannels, int qOffset, int qH, int qW, int kvChannels,
            int kOffset, int vOffset, int kH, int kW, int grid) {

        int outChannels() {
            return heads * headDim;
        }

        int windowRows() {
            return grid == 0 ? 1 : (qH + grid - 1) / grid;
        }

        int windowCols() {
            return grid == 0 ? 1 : (qW + grid - 1) / grid;
        }

        int maxQueryTokens() {
            return grid == 0 ? qH * qW : grid * grid;
        }

        int maxKeyTokens() {
            return grid == 0 ? kH * kW : grid * grid;
        }
    }

    private AttentionKernels() {
    }

    /** Output [B, heads*d, qH, qW] in C order (every value written: the windows cover the map). */
    static double[] forward(double[] q, double[] kv, Layout l) {
        double[] out = Scratch.take(l.batch * l.outChannels() * l.qH * l.qW);
        eachWindow(q, kv, l, false, (w, b, h) -> w.attendAndScatter(out, b, h));
        return out;
    }

    /**
     * Accumulates the gradients of the loss with respect to the queries into {@code dq} and to the keys/values into
     * {@code dkv} (which may be the same array when {@code q == kv}), given {@code dOut}, the gradient with respect
     * to the output.
     */
    static void backward(double[] q, double[] kv, double[] dOut, Layout l, double[] dq, double[] dkv) {
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
    private static void eachWindow(double[] q, double[] kv, Layout l, boolean backward, WindowStep step) {
        IntStream.range(0, l.batch * l.heads).parallel().forEach(task -> {
            Window w = Window.take(l);
            int b = task / l.heads;
            int h = task % l.heads;
            for (int wr = 0; wr < l.windowRows(); wr++) {
                for (int wc = 0; wc < l.windowCols(); wc++) {
                    w.select(wr, wc);
                    w.gather(q, kv, b, h, backward);
                    w.softmax();
                    step.apply(w, b, h);
                }
            }
            Window.FREE.offer(w);
        });
    }

    /**
     * Scratch space and the token lists of one window, reused across windows, (batch, head) tasks and calls: taken
     * from {@link #FREE} and put back (not thread-local: Java 17 erases the thread-locals of the common pool's
     * workers after every task). A window grows when a layout needs more room than any earlier one.
     */
    private static final class Window {
        static final ConcurrentLinkedQueue<Window> FREE = new ConcurrentLinkedQueue<>();

        Layout l;
        int d;
        double scale;
        final int[] qPos;
        final int[] kPos;
        int tq;
        int tk;
        final double[] qs;   // [tq, d], scaled queries
        final double[] kt;   // [d, tk], keys transposed
        final double[] kr;   // [tk, d], keys (backward only)
        final double[] v;    // [tk, d]
        final double[] vt;   // [d, tk] (backward only)
        final double[] p;    // [tq, tk], attention weights
        final double[] row;  // [max(tk, d)]
        final double[] dk;   // [tk, d]
        final double[] dv;   // [tk, d]
        final double[] dO;   // [d]
        final double[] dQ;   // [d]

        private Window(int mq, int mk, int d) {
            qPos = new int[mq];
            kPos = new int[mk];
            qs = new double[mq * d];
            kt = new double[d * mk];
            kr = new double[mk * d];
            v = new double[mk * d];
            vt = new double[d * mk];
            p = new double[mq * mk];
            row = new double[Math.max(mk, d)];
            dk = new double[mk * d];
            dv = new double[mk * d];
            dO = new double[d];
            dQ = new double[d];
        }

        /** A free window set up for {@code l}. */
        static Window take(Layout l) {
            int mq = l.maxQueryTokens();
            int mk = l.maxKeyTokens();
            int d = l.headDim;
            Window w = FREE.poll();
            if (w == null) {
                w = new Window(mq, mk, d);
            } else if (w.qPos.length < mq || w.kPos.length < mk || w.dO.length < d) {
                w = new Window(Math.max(mq, w.qPos.length), Math.max(mk, w.kPos.length), Math.max(d, w.dO.length));
            }
            w.l = l;
            w.d = d;
            w.scale = 1.0 / Math.sqrt(d);
            return w;
        }

        /** Token positions (y * width + x) of window (wr, wc), row-major. */
        void select(int wr, int wc) {
            if (l.grid == 0) {
                tq = l.qH * l.qW;
                tk = l.kH * l.kW;
                for (int t = 0; t < tq; t++) {
                    qPos[t] = t;
                }
                for (int t = 0; t < tk; t++) {
                    kPos[t] = t;
                }
                return;
            }
            int g = l.grid;
            int t = 0;
            for (int y = wr * g; y < Math.min(l.qH, wr * g + g); y++) {
                for (int x = wc * g; x < Math.min(l.qW, wc * g + g); x++) {
                    qPos[t] = y * l.qW + x;
                    kPos[t] = y * l.qW + x;
                    t++;
                }
            }
            tq = t;
            tk = t;
        }

        void gather(double[] q, double[] kvIn, int b, int h, boolean backward) {
            int qMap = l.qH * l.qW;
            int kMap = l.kH * l.kW;
            for (int j = 0; j < d; j++) {
                int qBase = (b * l.qChannels + l.qOffset + h * d + j) * qMap;
                for (int i = 0; i < tq; i++) {
                    qs[i * d + j] = q[qBase + qPos[i]] * scale;
                }
                int kBase = (b * l.kvChannels + l.kOffset + h * d + j) * kMap;
                int vBase = (b * l.kvChannels + l.vOffset + h * d + j) * kMap;
                for (int i = 0; i < tk; i++) {
                    double kij = kvIn[kBase + kPos[i]];
                    double vij = kvIn[vBase + kPos[i]];
                    kt[j * tk + i] = kij;
                    v[i * d + j] = vij;
                    if (backward) {
                        kr[i * d + j] = kij;
                        vt[j * tk + i] = vij;
                    }
                }
            }
        }

        /** p = softmax over keys of qs k^T. */
        void softmax() {
            for (int i = 0; i < tq; i++) {
                int r = i * tk;
                Arrays.fill(p, r, r + tk, 0.0);
                for (int j = 0; j < d; j++) {
                    double a = qs[i * d + j];
                    int kb = j * tk;
                    for (int t = 0; t < tk; t++) {
                        p[r + t] += a * kt[kb + t];
                    }
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < tk; t++) {
                    max = Math.max(max, p[r + t]);
                }
                double sum = 0;
                for (int t = 0; t < tk; t++) {
                    double e = Math.exp(p[r + t] - max);
                    p[r + t] = e;
                    sum += e;
                }
                double inv = 1.0 / sum;
                for (int t = 0; t < tk; t++) {
                    p[r + t] *= inv;
                }
            }
        }

        /** out[query] = p v, into channels head*d + j of the output. */
        void attendAndScatter(double[] out, int b, int h) {
            int qMap = l.qH * l.qW;
            double[] o = row;
            for (int i = 0; i < tq; i++) {
                Arrays.fill(o, 0, d, 0.0);
                int r = i * tk;
                for (int t = 0; t < tk; t++) {
                    double w = p[r + t];
                    int vb = t * d;
                    for (int j = 0; j < d; j++) {
                        o[j] += w * v[vb + j];
                    }
                }
                int base = (b * l.outChannels() + h * d) * qMap + qPos[i];
                for (int j = 0; j < d; j++) {
                    out[base + j * qMap] = o[j];
                }
            }
        }

        void backward(double[] dOut, double[] dq, double[] dkv, int b, int h) {
            int qMap = l.qH * l.qW;
            int kMap = l.kH * l.kW;
            Arrays.fill(dk, 0, tk * d, 0.0);
            Arrays.fill(dv, 0, tk * d, 0.0);
            double[] dS = row;
            for (int i = 0; i < tq; i++) {
                int base = (b * l.outChannels() + h * d) * qMap + qPos[i];
                for (int j = 0; j < d; j++) {
                    dO[j] = dOut[base + j * qMap];
                }
                int r = i * tk;
                // dP[i, t] = dO[i] . v[t];  dv[t] += p[i, t] dO[i]
                Arrays.fill(dS, 0, tk, 0.0);
                for (int j = 0; j < d; j++) {
                    double a = dO[j];
                    int vb = j * tk;
                    for (int t = 0; t < tk; t++) {
                        dS[t] += a * vt[vb + t];
                    }
                }
                double dot = 0;
                for (int t = 0; t < tk; t++) {
                    dot += dS[t] * p[r + t];
                }
                Arrays.fill(dQ, 0, d, 0.0);
                for (int t = 0; t < tk; t++) {
                    double pt = p[r + t];
                    double s = pt * (dS[t] - dot);
                    int kb = t * d;
                    int qb = i * d;
                    for (int j = 0; j < d; j++) {
                        dv[kb + j] += pt * dO[j];
                        dQ[j] += s * kr[kb + j];
                        dk[kb + j] += s * qs[qb + j];
                    }
                }
                int qBase = (b * l.qChannels + l.qOffset + h * d) * qMap + qPos[i];
                for (int j = 0; j < d; j++) {
                    dq[qBase + j * qMap] += dQ[j] * scale;
                }
            }
            int kBase = (b * l.kvChannels + l.kOffset + h * d) * kMap;
            int vBase = (b * l.kvChannels + l.vOffset + h * d) * kMap;
            for (int t = 0; t < tk; t++) {
                for (int j = 0; j < d; j++) {
                    dkv[kBase + j * kMap + kPos[t]] += dk[t * d + j];
                    dkv[vBase + j * kMap + kPos[t]] += dv[t * d + j];
                }
            }
        }
    }
}
