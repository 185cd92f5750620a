package org.transcnn.kernels;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Direct multi-head attention kernels on arrays in NCHW order, forward and backward, used by the H-MHSA attention
 * cores: {@code softmax(q k^T / sqrt(d)) v} per (batch, head, window), with no permute copies.
 *
 * <p>The maps are described by an {@link AttentionLayout}. With a grid size G &gt; 0 both maps are the same map,
 * split into ceil(H/G) x ceil(W/G) windows whose tokens attend to the tokens of their own window only; a window cut by
 * the bottom/right edge simply holds fewer tokens, so nothing outside the map takes part. With G = 0 every query
 * attends to every key/value token; the queries are then taken {@value AttentionLayout#QUERY_BLOCK} at a time, so the
 * attention weights held at once stay [keys, {@value AttentionLayout#QUERY_BLOCK}] however large the map. The
 * softmax is recomputed in the backward pass instead of being stored.
 *
 * <p>Everything is computed transposed, channel-major: the window holds {@code q^T} ([d, queries], gathered a row per
 * channel), the attention weights {@code p^T = softmax over keys of k q^T} ([keys, queries], the softmax down the
 * columns, lane by lane) and {@code out^T = v^T p^T} ([d, queries], written back in runs of adjacent pixels of each
 * output plane). In every product the left operand is read one value at a time, so it is read straight from the maps
 * by position ({@link #multiply}) and keys, values and the output's gradient are never copied; only the right
 * operands (queries, the output's gradient) are gathered. Queries and keys/values may be NCHW or token-major
 * ({@link AttentionLayout#tokenMajor()}): the products and their order are the same, only the addresses differ.
 * Token-major is what H-MHSA uses: there the d channels of a token lie side by side, where NCHW puts them a plane
 * apart (16 KB on a 64x64 map, so the channels of one pixel compete for the same few L1 cache sets).
 *
 * <p>Written for float arrays; the build generates the double twin {@code AttentionDouble} from this file (see
 * {@link NormActFloat}).
 */
public final class AttentionFloat {

    private AttentionFloat() {
    }

    /** Output [B, heads*d, qH, qW] in C order (every value written: the windows cover the map). */
    public static void forward(float[] q, float[] kv, AttentionLayout l, float[] out) {
        eachWindow(l, (w, b, h) -> w.forward(q, kv, out));
    }

    /**
     * Accumulates the gradients of the loss with respect to the queries into {@code dq} and to the keys/values into
     * {@code dkv} (which may be the same array when {@code q == kv}), given {@code dOut}, the gradient with respect
     * to the output.
     */
    public static void backward(float[] q, float[] kv, float[] dOut, AttentionLayout l, float[] dq, float[] dkv) {
        eachWindow(l, (w, b, h) -> w.backward(q, kv, dOut, dq, dkv));
    }

    /** What to do with a window once its tokens are selected and its channels located. */
    private interface WindowStep {
        void apply(Window w, int batch, int head);
    }

    /**
     * Runs {@code step} on every window of every (batch, head): with a grid, the (batch, head, window row) triples in
     * parallel (windows hold disjoint tokens, so their gradients never meet), for global attention the (batch, head)
     * pairs, each going through its query blocks in turn (every block adds to the gradients of all keys and values).
     */
    private static void eachWindow(AttentionLayout l, WindowStep step) {
        int rowsPerTask = l.grid() == 0 ? l.windowRows() : 1;
        int tasksPerHead = l.windowRows() / rowsPerTask;
        IntStream.range(0, l.batch() * l.heads() * tasksPerHead).parallel().forEach(task -> {
            Window w = Window.take(l);
            int bh = task / tasksPerHead;
            int b = bh / l.heads();
            int h = bh % l.heads();
            w.locate(b, h);
            int firstRow = (task % tasksPerHead) * rowsPerTask;
            for (int wr = firstRow; wr < firstRow + rowsPerTask; wr++) {
                for (int wc = 0; wc < l.windowCols(); wc++) {
                    w.select(wr, wc);
                    step.apply(w, b, h);
                }
            }
            Window.FREE.give(w);
        });
    }

    /**
     * {@code c[i][0..n) = sum over p < k of src[ri[i] + rp[p]] * b[p][0..n)} for {@code i < m}: a product whose left
     * operand is read from {@code src} by index (row offsets {@code ri}, column offsets {@code rp}), by
     * {@link VectorMatmul} when the Vector API is there ({@link VectorSupport}).
     */
    static void product(float[][] c, float[] src, int[] ri, int[] rp, float[][] b, int m, int k, int n) {
        if (VectorSupport.AVAILABLE) {
            VectorMatmul.multiply(c, src, ri, rp, b, m, k, n);
        } else {
            multiply(c, src, ri, rp, b, m, k, n);
        }
    }

    /**
     * {@link #product} in plain loops, rows {@code from <= i < m} and columns {@code j0 <= j < n} only. Four rows of
     * {@code b} per pass over a row of {@code c}, so each value of {@code c} is loaded and stored k/4 times instead of
     * k times.
     */
    static void multiply(float[][] c, float[] src, int[] ri, int[] rp, float[][] b, int from, int m, int k, int j0,
            int n) {
        for (int i = from; i < m; i++) {
            float[] ci = c[i];
            int r = ri[i];
            Arrays.fill(ci, j0, n, 0);
            int p = 0;
            for (; p + 4 <= k; p += 4) {
                float s0 = src[r + rp[p]];
                float s1 = src[r + rp[p + 1]];
                float s2 = src[r + rp[p + 2]];
                float s3 = src[r + rp[p + 3]];
                float[] b0 = b[p];
                float[] b1 = b[p + 1];
                float[] b2 = b[p + 2];
                float[] b3 = b[p + 3];
                for (int j = j0; j < n; j++) {
                    ci[j] += s0 * b0[j] + s1 * b1[j] + s2 * b2[j] + s3 * b3[j];
                }
            }
            for (; p < k; p++) {
                float s = src[r + rp[p]];
                float[] bp = b[p];
                for (int j = j0; j < n; j++) {
                    ci[j] += s * bp[j];
                }
            }
        }
    }

    /** {@link #multiply(float[][], float[], int[], int[], float[][], int, int, int, int, int)}, all of c. */
    static void multiply(float[][] c, float[] src, int[] ri, int[] rp, float[][] b, int m, int k, int n) {
        multiply(c, src, ri, rp, b, 0, m, k, 0, n);
    }

    /** {@link #softmaxColumns}, by {@link VectorSoftmax} when the Vector API is there. */
    static void normaliseColumns(float[][] p, int rows, int n, float[] max, float[] sum) {
        if (VectorSupport.AVAILABLE) {
            VectorSoftmax.columns(p, rows, n, max, sum);
        } else {
            softmaxColumns(p, rows, 0, n, max, sum);
        }
    }

    /** {@link #softmaxColumnsBackward}, by {@link VectorSoftmax} when the Vector API is there. */
    static void normaliseColumnsBackward(float[][] dp, float[][] p, int rows, int n, float[] dot) {
        if (VectorSupport.AVAILABLE) {
            VectorSoftmax.columnsBackward(dp, p, rows, n, dot);
        } else {
            softmaxColumnsBackward(dp, p, rows, 0, n, dot);
        }
    }

    /**
     * Softmax down each column {@code from <= i < n} of {@code p[0..rows)} in place, with {@code max} and {@code sum}
     * scratch rows of at least {@code n}: {@code p[t][i] = exp(p[t][i] - max_t) / sum_t exp(p[t][i] - max_t)}. Every
     * column is a lane of its own, its maximum and sum taken over the rows in order, so the result does not depend on
     * how the loops are vectorised. The sums are kept in float (at most a few hundred values in (0, 1], the largest
     * 1).
     */
    static void softmaxColumns(float[][] p, int rows, int from, int n, float[] max, float[] sum) {
        Arrays.fill(max, from, n, Float.NEGATIVE_INFINITY);
        Arrays.fill(sum, from, n, 0);
        for (int t = 0; t < rows; t++) {
            float[] pt = p[t];
            for (int i = from; i < n; i++) {
                max[i] = Math.max(max[i], pt[i]);
            }
        }
        for (int t = 0; t < rows; t++) {
            float[] pt = p[t];
            for (int i = from; i < n; i++) {
                float e = FastMath.expNonPositiveFloat(pt[i] - max[i]);
                pt[i] = e;
                sum[i] += e;
            }
        }
        for (int i = from; i < n; i++) {
            sum[i] = 1 / sum[i];
        }
        for (int t = 0; t < rows; t++) {
            float[] pt = p[t];
            for (int i = from; i < n; i++) {
                pt[i] *= sum[i];
            }
        }
    }

    /**
     * The backward pass of {@link #softmaxColumns} in place, for the columns {@code from <= i < n}: {@code dp[t][i] =
     * p[t][i] * (dp[t][i] - sum_t' dp[t'][i] p[t'][i])}, where {@code p} is the softmax and {@code dp} the gradient
     * with respect to it on entry, with respect to the logits on return; {@code dot} is a scratch row of at least
     * {@code n}.
     */
    static void softmaxColumnsBackward(float[][] dp, float[][] p, int rows, int from, int n, float[] dot) {
        Arrays.fill(dot, from, n, 0);
        for (int t = 0; t < rows; t++) {
            float[] pt = p[t];
            float[] st = dp[t];
            for (int i = from; i < n; i++) {
                dot[i] += st[i] * pt[i];
            }
        }
        for (int t = 0; t < rows; t++) {
            float[] pt = p[t];
            float[] st = dp[t];
            for (int i = from; i < n; i++) {
                st[i] = pt[i] * (st[i] - dot[i]);
            }
        }
    }

    /** {@code rows[j][t] = scale * src[first + idx[t] + j]} for {@code from <= t < n}, {@code j < d}. */
    static void gatherTokens(float[] src, int first, int[] idx, int from, int n, int d, float scale,
            float[][] rows) {
        for (int t = from; t < n; t++) {
            int at = first + idx[t];
            for (int j = 0; j < d; j++) {
                rows[j][t] = src[at + j] * scale;
            }
        }
    }

    /** {@code dst[first + idx[t] + j] += scale * rows[j][t]} for {@code t < n}, {@code j < d}. */
    static void scatterTokens(float[][] rows, float scale, float[] dst, int first, int[] idx, int n, int d) {
        for (int t = 0; t < n; t++) {
            int to = first + idx[t];
            for (int j = 0; j < d; j++) {
                dst[to + j] += rows[j][t] * scale;
            }
        }
    }

    /** {@code dst[j][i] = src[i][j]} for {@code i < rows}, {@code j < cols}, in 8 x 8 tiles. */
    static void transpose(float[][] src, int rows, int cols, float[][] dst) {
        for (int i0 = 0; i0 < rows; i0 += 8) {
            int i1 = Math.min(rows, i0 + 8);
            for (int j0 = 0; j0 < cols; j0 += 8) {
                int j1 = Math.min(cols, j0 + 8);
                for (int j = j0; j < j1; j++) {
                    float[] dj = dst[j];
                    for (int i = i0; i < i1; i++) {
                        dj[i] = src[i][j];
                    }
                }
            }
        }
    }

    /**
     * Scratch space and the tokens of one window, reused across windows, tasks and calls through {@link #FREE}. A
     * window grows when a layout needs more room than any earlier one. Matrices are row arrays; a [rows, cols]
     * comment gives the rows and columns in use. The tokens of a window are {@code runs} runs of {@code runLength}
     * adjacent pixels (a window: one run per pixel row; global attention: one run), numbered run after run.
     */
    private static final class Window {
        static final FreeList<Window> FREE = new FreeList<>();

        AttentionLayout l;
        int d;
        float scale;
        final int[] qPos;    // pixel (y * width + x) of each query token: its offset in a plane of the output
        final int[] qIdx;    // offset of each query token in a channel of the queries (qPos * qPixelStep)
        final int[] kIdx;    // offset of each key token in a channel of the keys and values (pixel * kvPixelStep)
        final int[] qRow;    // [d], offset of the query channel planes of this (batch, head)
        final int[] kRow;    // key channel planes
        final int[] vRow;    // value channel planes
        final int[] oRow;    // output channel planes
        int runs;            // queries: runs of runLength adjacent pixels starting at qPos[r * runLength]
        int runLength;
        int tq;
        int tk;
        final float[][] qt;  // [d, tq], scaled queries
        final float[][] pt;  // [tk, tq], attention weights
        final float[][] ot;  // [d, tq], output, or its gradient in the backward pass
        final float[][] p;   // [tq, tk], attention weights (backward only)
        final float[][] dst; // [tk, tq], gradient of the weights, then of the logits (backward only)
        final float[][] ds;  // [tq, tk], gradient of the logits (backward only)
        final float[][] dqt; // [d, tq]
        final float[][] dkt; // [d, tk]
        final float[][] dvt; // [d, tk]
        final float[] colA;  // [tq], per-query scratch of the softmax
        final float[] colB;

        private Window(int mq, int mk, int d) {
            qPos = new int[mq];
            qIdx = new int[mq];
            kIdx = new int[mk];
            qRow = new int[d];
            kRow = new int[d];
            vRow = new int[d];
            oRow = new int[d];
            qt = new float[d][mq];
            pt = new float[mk][mq];
            ot = new float[d][mq];
            p = new float[mq][mk];
            dst = new float[mk][mq];
            ds = new float[mq][mk];
            dqt = new float[d][mq];
            dkt = new float[d][mk];
            dvt = new float[d][mk];
            colA = new float[mq];
            colB = new float[mq];
        }

        /** A free window set up for {@code l}. */
        static Window take(AttentionLayout l) {
            int mq = l.maxQueryTokens();
            int mk = l.maxKeyTokens();
            int d = l.headDim();
            Window w = FREE.take(f -> f.qPos.length >= mq && f.kIdx.length >= mk && f.qRow.length >= d,
                    f -> f == null ? new Window(mq, mk, d)
                            : new Window(Math.max(mq, f.qPos.length), Math.max(mk, f.kIdx.length),
                                    Math.max(d, f.qRow.length)));
            w.l = l;
            w.d = d;
            w.scale = (float) (1.0 / Math.sqrt(d));
            return w;
        }

        /**
         * The offsets of the channels of head {@code h} of image {@code b}: of its planes, or token-major of its
         * first token.
         */
        void locate(int b, int h) {
            int qMap = l.qH() * l.qW();
            int kMap = l.kH() * l.kW();
            int qImage = b * qMap * l.qChannels();
            int kImage = b * kMap * l.kvChannels();
            for (int j = 0; j < d; j++) {
                qRow[j] = qImage + (l.qOffset() + h * d + j) * l.qChannelStep();
                kRow[j] = kImage + (l.kOffset() + h * d + j) * l.kvChannelStep();
                vRow[j] = kImage + (l.vOffset() + h * d + j) * l.kvChannelStep();
                oRow[j] = (b * l.outChannels() + h * d + j) * qMap;
            }
        }

        /** The tokens of window (wr, wc), row-major; for global attention the queries of block wr and all keys. */
        void select(int wr, int wc) {
            if (l.grid() == 0) {
                int first = wr * AttentionLayout.QUERY_BLOCK;
                tq = Math.min(AttentionLayout.QUERY_BLOCK, l.qH() * l.qW() - first);
                tk = l.kH() * l.kW();
                for (int t = 0; t < tq; t++) {
                    qPos[t] = first + t;
                    qIdx[t] = qPos[t] * l.qPixelStep();
                }
                for (int t = 0; t < tk; t++) {
                    kIdx[t] = t * l.kvPixelStep();
                }
                runs = 1;
                runLength = tq;
                return;
            }
            int g = l.grid();
            int y0 = wr * g;
            int x0 = wc * g;
            runs = Math.min(l.qH(), y0 + g) - y0;
            runLength = Math.min(l.qW(), x0 + g) - x0;
            int t = 0;
            for (int y = y0; y < y0 + runs; y++) {
                for (int x = x0; x < x0 + runLength; x++) {
                    qPos[t] = y * l.qW() + x;
                    qIdx[t] = qPos[t] * l.qPixelStep();
                    kIdx[t] = qPos[t] * l.kvPixelStep();
                    t++;
                }
            }
            tq = t;
            tk = t;
        }

        /** {@code row[t] = scale * src[base + qPos[t]]}, the query pixels of an NCHW plane run after run. */
        private void gather(float[] src, int base, float scale, float[] row) {
            for (int r = 0, t = 0; r < runs; r++, t += runLength) {
                int from = base + qPos[t];
                for (int c = 0; c < runLength; c++) {
                    row[t + c] = src[from + c] * scale;
                }
            }
        }

        /**
         * {@code dst[base + pos[t]] = row[t]}, or with {@code add} {@code += scale * row[t]}, for the tokens of
         * {@code runs} runs of {@code runLength} adjacent pixels ({@code pos} of a run's first token at
         * {@code r * runLength}) of an NCHW plane: each run is one contiguous stretch of {@code dst}, a loop the JIT
         * vectorises.
         */
        private static void scatter(float[] row, float scale, boolean add, float[] dst, int base, int[] pos, int runs,
                int runLength) {
            for (int r = 0, t = 0; r < runs; r++, t += runLength) {
                int to = base + pos[t] - t;
                if (add) {
                    for (int c = t; c < t + runLength; c++) {
                        dst[to + c] += row[c] * scale;
                    }
                } else {
                    for (int c = t; c < t + runLength; c++) {
                        dst[to + c] = row[c];
                    }
                }
            }
        }

        /**
         * Token-major {@link #gather} of all d channels: {@code rows[j][t] = scale * src[first + idx[t] + j]} for
         * {@code t < n}, a token's channels read side by side ({@link VectorTokens} when the Vector API is there).
         */
        private void gatherTokens(float[] src, int first, int[] idx, int n, float scale, float[][] rows) {
            if (VectorSupport.AVAILABLE) {
                VectorTokens.gather(src, first, idx, n, d, scale, rows);
            } else {
                AttentionFloat.gatherTokens(src, first, idx, 0, n, d, scale, rows);
            }
        }

        /**
         * Token-major {@link #scatter} (adding) of all d channels: {@code dst[first + idx[t] + j] += scale *
         * rows[j][t]} for {@code t < n}, a token's channels written side by side (plain loops: the Vector API's
         * indexed stores measured slower).
         */
        private void scatterTokens(float[][] rows, float scale, float[] dst, int first, int[] idx, int n) {
            AttentionFloat.scatterTokens(rows, scale, dst, first, idx, n, d);
        }

        /** The key tokens as runs: a window's are its queries' runs; global attention's keys are one run. */
        private int keyRuns() {
            return l.grid() == 0 ? 1 : runs;
        }

        private int keyRunLength() {
            return l.grid() == 0 ? tk : runLength;
        }

        /** The scaled queries q^T and p^T = softmax over keys of k qs^T. */
        private void weights(float[] q, float[] kv) {
            if (l.tokenMajor()) {
                gatherTokens(q, qRow[0], qIdx, tq, scale, qt);
            } else {
                for (int j = 0; j < d; j++) {
                    gather(q, qRow[j], scale, qt[j]);
                }
            }
            product(pt, kv, kIdx, kRow, qt, tk, d, tq);
            normaliseColumns(pt, tk, tq, colA, colB);
        }

        /** out^T = v^T p^T, into channels head*d + j of the output. */
        void forward(float[] q, float[] kv, float[] out) {
            weights(q, kv);
            product(ot, kv, vRow, kIdx, pt, d, tk, tq);
            for (int j = 0; j < d; j++) {
                scatter(ot[j], 1, false, out, oRow[j], qPos, runs, runLength);
            }
        }

        /**
         * With dO the output's gradient: dv^T = dO^T p; dP^T = v dO^T; dS^T = p^T * (dP^T - colsum(dP^T * p^T))
         * (the softmax's backward); dqs^T = k^T dS^T; dk^T = qs^T dS = scale q^T dS; and dq = scale * dqs.
         */
        void backward(float[] q, float[] kv, float[] dOut, float[] dq, float[] dkv) {
            weights(q, kv);
            float[][] dOt = ot;
            for (int j = 0; j < d; j++) {
                gather(dOut, oRow[j], 1, dOt[j]);
            }
            transpose(pt, tk, tq, p);
            product(dvt, dOut, oRow, qPos, p, d, tq, tk);
            product(dst, kv, kIdx, vRow, dOt, tk, d, tq);
            normaliseColumnsBackward(dst, pt, tk, tq, colA);
            product(dqt, kv, kRow, kIdx, dst, d, tk, tq);
            transpose(dst, tk, tq, ds);
            product(dkt, q, qRow, qIdx, ds, d, tq, tk);
            if (l.tokenMajor()) {
                scatterTokens(dqt, scale, dq, qRow[0], qIdx, tq);
                scatterTokens(dkt, scale, dkv, kRow[0], kIdx, tk);
                scatterTokens(dvt, 1, dkv, vRow[0], kIdx, tk);
                return;
            }
            for (int j = 0; j < d; j++) {
                scatter(dqt[j], scale, true, dq, qRow[j], qPos, runs, runLength);
                scatter(dkt[j], scale, true, dkv, kRow[j], kIdx, keyRuns(), keyRunLength());
                scatter(dvt[j], 1, true, dkv, vRow[j], kIdx, keyRuns(), keyRunLength());
            }
        }
    }
}
