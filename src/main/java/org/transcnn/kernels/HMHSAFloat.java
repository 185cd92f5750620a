package org.transcnn.kernels;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * TransCNN's hierarchical multi-head self-attention (the official {@code blocks.s.i.attn}, optionally with the
 * block's residual and drop path around it) as one forward and one backward pass over NCHW batches, x [B, C, H, W]
 * -&gt; y [B, C, H, W], P = H*W pixels, n heads of d = C/n channels:
 * <pre>
 * grid G &gt; 1:
 *   qkv = (Wqkv BN0(x) + bqkv)^T                 [B, P, 3C]   (1x1 convolutions: per image a GEMM)
 *   t   = x + windowAttention_G(qkv)              [B, C, P]
 *   X1  = BN1(t)
 *   q   = (Wq X1 + bq)^T;  kv = (Wkv BN2(AvgPool_r(X1)) + bkv)^T     [B, P/r^2, 2C]
 *   s   = globalAttention(q, kv) + X1
 * grid 1:
 *   qkv as above;  s = globalAttention(qkv)
 * out = (Wproj s + bproj) * m                     m: Dropout2d mask per (image, channel) or none
 * y   = out, or with the residual x + out * path  path: drop-path factor per image, or 1
 * </pre>
 * BatchNorm uses the batch statistics in training mode (kept in the {@link Norm}s for the backward pass) and the
 * running statistics otherwise. The maps ND4J holds are direct buffers at offset 0, the weights at offsets into the
 * parameter buffer ({@link Weights}): the GEMMs run on them in place, normalisation, attention and pooling on Java
 * copies taken from {@code pool}. qkv, q and kv are token-major (each GEMM writes its product transposed, and the
 * backward GEMMs read their gradients so), which is how the attention kernels read them best
 * ({@link AttentionLayout#tokenMajor()}); everything else is NCHW. A training-mode forward pass keeps {@code qkv},
 * {@code t}, {@code q}, {@code kv} and {@code s} (6C + 2C/r^2 values per pixel; grid 1: qkv and s, 4C) for the
 * backward pass, which recomputes BN0(x), X1 and the pooled map from them.
 *
 * <p>Written for float; the build generates the double twin {@code HMHSADouble} (see {@link NormActFloat}).
 */
public final class HMHSAFloat {

    private HMHSAFloat() {
    }

    /**
     * Where the weights are: element offsets of the four 1x1-convolution weights ([3C, C], [C, C], [2C, C], [C, C],
     * row-major) in {@code buffer}, and the biases. Gradients use the same offsets in the gradient buffer.
     */
    public record Weights(FloatBuffer buffer, long qkv, long q, long kv, long proj, float[] bQkv, float[] bQ,
            float[] bKv, float[] bProj) {
    }

    /**
     * The forward pass into {@code out}. Written: {@code qkv} [B, P, 3C], {@code s} [B, C, P] and, with a grid,
     * {@code t} [B, C, P], {@code q} [B, P, C], {@code kv} [B, P/r^2, 2C] (null without a grid); {@code work} is
     * scratch of at least B*C*P values. {@code mask} [B*C] and {@code path} [B] may be null; {@code residual} adds x
     * to the output.
     */
    public static void forward(HMHSAShape s, FloatBuffer x, Weights w, Norm n0, Norm n1, Norm n2, boolean training,
            float[] mask, float[] path, boolean residual, FloatBuffer qkv, FloatBuffer t, FloatBuffer q,
            FloatBuffer kv, FloatBuffer sum, FloatBuffer work, FloatBuffer out, ArrayPool<float[]> pool) {
        int b = s.batch();
        int c = s.channels();
        int p = s.pixels();
        int n = b * p;
        int outer = s.outer();
        if (training) {
            n0.startBatchStatistics();
            if (s.hierarchical()) {
                n1.startBatchStatistics();
                n2.startBatchStatistics();
            }
        }
        IntStream.range(0, c).parallel().forEach(ch -> {
            float[] f = pool.take(n);
            BulkFloat.getChannel(x, b, c, ch, p, f);
            normalise(f, n, ch, n0, training);
            BulkFloat.putChannel(f, work, b, c, ch, p);
            pool.give(f);
        });
        conv(b, 3 * c, c, p, w, w.qkv, w.bQkv, work, qkv, true, pool);
        float[] a = pool.take(3 * outer);
        BulkFloat.get(qkv, a, 3 * outer);
        float[] f = pool.take(outer);
        if (s.hierarchical()) {
            float[] x1 = pool.take(outer);
            AttentionFloat.forward(a, a, s.first(), x1);
            pool.give(a);
            // per channel: t = x + attended (kept), X1 = BN1(t) (into x1 and work), BN2(AvgPool(X1)) (into sum)
            int pp = s.pooledPixels();
            IntStream.range(0, c).parallel().forEach(ch -> {
                float[] g = pool.take(n);
                float[] xs = pool.take(n);
                float[] pooled = pool.take(b * pp);
                BulkFloat.getChannel(x, b, c, ch, p, xs);
                for (int img = 0; img < b; img++) {
                    System.arraycopy(x1, (img * c + ch) * p, g, img * p, p);
                }
                for (int i = 0; i < n; i++) {
                    g[i] += xs[i];
                }
                BulkFloat.putChannel(g, t, b, c, ch, p);
                normalise(g, n, ch, n1, training);
                BulkFloat.putChannel(g, work, b, c, ch, p);
                for (int img = 0; img < b; img++) {
                    System.arraycopy(g, img * p, x1, (img * c + ch) * p, p);
                    avgPoolPlane(g, img * p, s, pooled, img * pp);
                }
                normalise(pooled, b * pp, ch, n2, training);
                BulkFloat.putChannel(pooled, sum, b, c, ch, pp);
                pool.give(g);
                pool.give(xs);
                pool.give(pooled);
            });
            conv(b, c, c, p, w, w.q, w.bQ, work, q, true, pool);
            conv(b, 2 * c, c, pp, w, w.kv, w.bKv, sum, kv, true, pool);
            float[] qs = pool.take(outer);
            float[] kvs = pool.take(2 * b * c * pp);
            BulkFloat.get(q, qs, outer);
            BulkFloat.get(kv, kvs, 2 * b * c * pp);
            AttentionFloat.forward(qs, kvs, s.second(), f);
            pool.give(qs);
            pool.give(kvs);
            BulkFloat.add(f, x1, outer);
            pool.give(x1);
        } else {
            AttentionFloat.forward(a, a, s.first(), f);
            pool.give(a);
        }
        BulkFloat.put(f, sum, outer);
        pool.give(f);
        conv(b, c, c, p, w, w.proj, w.bProj, sum, out, false, pool);
        if (mask != null || path != null || residual) {
            IntStream.range(0, c).parallel().forEach(ch -> {
                float[] o = pool.take(n);
                BulkFloat.getChannel(out, b, c, ch, p, o);
                BulkFloat.scaleChannel(o, b, c, ch, p, mask, path);
                if (residual) {
                    float[] xs = pool.take(n);
                    BulkFloat.getChannel(x, b, c, ch, p, xs);
                    for (int i = 0; i < n; i++) {
                        o[i] += xs[i];
                    }
                    pool.give(xs);
                }
                BulkFloat.putChannel(o, out, b, c, ch, p);
                pool.give(o);
            });
        }
    }

    /**
     * {@code v = BN(v)} for channel {@code ch} gathered in {@code v[0, n)}; in training mode with the channel's batch
     * statistics, computed here.
     */
    private static void normalise(float[] v, int n, int ch, Norm norm, boolean training) {
        if (training) {
            NormActFloat.runStatistics(v, n, ch, norm.batchMean, norm.batchVar);
        }
        double sc = norm.scale(ch, training);
        NormActFloat.applyRun(v, v, n, (float) sc, (float) norm.shift(ch, training, sc), Activation.IDENTITY);
    }

    /**
     * The backward pass of a training-mode {@link #forward} (whose kept maps, masks and batch statistics it is given)
     * for the output gradient {@code dy}: writes the input gradient {@code dx}, the weight gradients into
     * {@code grad}'s buffer at its offsets (its biases unused), the bias gradients {@code dBias} (qkv, q, kv, proj; q
     * and kv unused without a grid) and each Norm's gamma and beta gradients into {@code dNorm} (norm, grid_norm,
     * ds_norm: six arrays, the last four unused without a grid). {@code big} holds at least B*3C*P values,
     * {@code w1}..{@code w3} at least B*max(C*P, 2C*P/r^2); all four are scratch. With the residual, {@code dx} includes {@code dy}.
     */
    public static void backward(HMHSAShape s, FloatBuffer x, Weights w, Norm n0, Norm n1, Norm n2, float[] mask,
            float[] path, boolean residual, FloatBuffer qkv, FloatBuffer t, FloatBuffer q, FloatBuffer kv,
            FloatBuffer sum, FloatBuffer dy, FloatBuffer big, FloatBuffer w1, FloatBuffer w2, FloatBuffer w3,
            FloatBuffer dx, Weights grad, double[][] dBias, double[][] dNorm, ArrayPool<float[]> pool) {
        int b = s.batch();
        int c = s.channels();
        int p = s.pixels();
        int outer = s.outer();
        // proj: gout = dy * m * path; dWproj = sum gout s^T, ds = Wproj^T gout
        float[] g = pool.take(outer);
        BulkFloat.get(dy, g, outer);
        BulkFloat.scalePlanes(g, mask, p);
        BulkFloat.scalePlanes(g, path, c * p);
        channelSums(g, b, c, p, dBias[3]);
        BulkFloat.put(g, w1, outer);
        weightGradient(b, c, c, p, w1, sum, grad, grad.proj, false);
        inputGradient(b, c, c, p, w, w.proj, w1, w2, 0f, false);
        BulkFloat.get(w2, g, outer);
        if (s.hierarchical()) {
            int pp = s.pooledPixels();
            // global attention: dq, dkv from ds (g)
            float[] qs = pool.take(outer);
            float[] kvs = pool.take(2 * b * c * pp);
            float[] dq = pool.take(outer);
            float[] dkv = pool.take(2 * b * c * pp);
            Arrays.fill(dq, 0, outer, 0);
            Arrays.fill(dkv, 0, 2 * b * c * pp, 0);
            BulkFloat.get(q, qs, outer);
            BulkFloat.get(kv, kvs, 2 * b * c * pp);
            AttentionFloat.backward(qs, kvs, g, s.second(), dq, dkv);
            pool.give(qs);
            pool.give(kvs);
            // X1 = BN1(t) and the pooled map recomputed
            float[] ts = pool.take(outer);
            float[] x1 = pool.take(outer);
            BulkFloat.get(t, ts, outer);
            System.arraycopy(ts, 0, x1, 0, outer);
            NormActFloat.normalise(x1, b, c, p, n1, true, Activation.IDENTITY);
            BulkFloat.put(x1, w1, outer);
            float[] pooled = pool.take(b * c * pp);
            float[] pw = pool.take(b * c * pp);
            avgPool(x1, s, pooled);
            pool.give(x1);
            System.arraycopy(pooled, 0, pw, 0, b * c * pp);
            NormActFloat.normalise(pw, b, c, pp, n2, true, Activation.IDENTITY);
            BulkFloat.put(pw, w3, b * c * pp);
            // kv: dWkv = sum dkv pw^T, dpw = Wkv^T dkv
            tokenSums(dkv, b * pp, 2 * c, dBias[2]);
            BulkFloat.put(dkv, w2, 2 * b * c * pp);
            weightGradient(b, 2 * c, c, pp, w2, w3, grad, grad.kv, true);
            inputGradient(b, c, 2 * c, pp, w, w.kv, w2, big, 0f, true);
            BulkFloat.get(big, pw, b * c * pp);
            pool.give(dkv);
            // ds_norm and the pooling: dX1 (in g) += AvgPool^T(BN2'(dpw))
            NormActFloat.backward(pooled, pw, b, c, pp, n2, Activation.IDENTITY, dNorm[4], dNorm[5]);
            avgPoolBackward(pw, s, g);
            pool.give(pooled);
            pool.give(pw);
            // q: dWq = sum dq X1^T, dX1 += Wq^T dq
            tokenSums(dq, b * p, c, dBias[1]);
            BulkFloat.put(dq, w2, outer);
            pool.give(dq);
            weightGradient(b, c, c, p, w2, w1, grad, grad.q, true);
            BulkFloat.put(g, w3, outer);
            inputGradient(b, c, c, p, w, w.q, w2, w3, 1f, true);
            BulkFloat.get(w3, g, outer);
            // grid_norm: dt = BN1'(dX1) (in g); then t = x + L: dL = dt, dx gets dt
            NormActFloat.backward(ts, g, b, c, p, n1, Activation.IDENTITY, dNorm[2], dNorm[3]);
            pool.give(ts);
        }
        // the first attention step: dqkv from dL (g)
        float[] a = pool.take(3 * outer);
        float[] dqkv = pool.take(3 * outer);
        Arrays.fill(dqkv, 0, 3 * outer, 0);
        BulkFloat.get(qkv, a, 3 * outer);
        AttentionFloat.backward(a, a, g, s.first(), dqkv, dqkv);
        pool.give(a);
        // qkv: dWqkv = sum dqkv BN0(x)^T, dxn = Wqkv^T dqkv; BN0' into dxn
        tokenSums(dqkv, b * p, 3 * c, dBias[0]);
        BulkFloat.put(dqkv, big, 3 * outer);
        pool.give(dqkv);
        float[] xs = pool.take(outer);
        float[] xn = pool.take(outer);
        BulkFloat.get(x, xs, outer);
        System.arraycopy(xs, 0, xn, 0, outer);
        NormActFloat.normalise(xn, b, c, p, n0, true, Activation.IDENTITY);
        BulkFloat.put(xn, w1, outer);
        weightGradient(b, 3 * c, c, p, big, w1, grad, grad.qkv, true);
        inputGradient(b, c, 3 * c, p, w, w.qkv, big, w2, 0f, true);
        BulkFloat.get(w2, xn, outer);
        NormActFloat.backward(xs, xn, b, c, p, n0, Activation.IDENTITY, dNorm[0], dNorm[1]);
        pool.give(xs);
        if (s.hierarchical()) {
            BulkFloat.add(xn, g, outer); // dt: the gradient through t = x + L
        }
        if (residual) {
            float[] dys = pool.take(outer);
            BulkFloat.get(dy, dys, outer);
            BulkFloat.add(xn, dys, outer);
            pool.give(dys);
        }
        BulkFloat.put(xn, dx, outer);
        pool.give(xn);
        pool.give(g);
    }

    /**
     * A 1x1 convolution with bias, per image {@code dst_n [rows, p] = W [rows, cols] src_n [cols, p] + bias}, or with
     * {@code tokens} its transpose {@code dst_n [p, rows] = src_n^T W^T + bias} (the token-major maps the attention
     * reads: a token's channels side by side, see {@link AttentionLayout}): the bias is written first (one bulk copy
     * per image), the GEMM adds onto it.
     */
    private static void conv(int b, int rows, int cols, int p, Weights w, long wOff, float[] bias, FloatBuffer src,
            FloatBuffer dst, boolean tokens, ArrayPool<float[]> pool) {
        int image = rows * p;
        float[] template = pool.take(image);
        if (tokens) {
            for (int t = 0; t < p; t++) {
                System.arraycopy(bias, 0, template, t * rows, rows);
            }
        } else {
            for (int r = 0; r < rows; r++) {
                Arrays.fill(template, r * p, (r + 1) * p, bias[r]);
            }
        }
        IntStream.range(0, b).parallel().forEach(n -> dst.put(n * image, template, 0, image));
        pool.give(template);
        if (tokens) {
            GemmBatchFloat.each(b, true, true, p, rows, cols, 1f, src, 0, (long) cols * p, p, w.buffer, wOff, 0, cols,
                    1f, dst, 0, image, rows);
        } else {
            GemmBatchFloat.each(b, false, false, rows, p, cols, 1f, w.buffer, wOff, 0, cols, src, 0, (long) cols * p,
                    p, 1f, dst, 0, image, p);
        }
    }

    /**
     * {@code dW [rows, cols] = sum over images of g_n [rows, p] a_n [cols, p]^T}, at {@code wOff} in grad; with
     * {@code tokens} g is token-major, g_n [p, rows].
     */
    private static void weightGradient(int b, int rows, int cols, int p, FloatBuffer g, FloatBuffer a,
            Weights grad, long wOff, boolean tokens) {
        GemmBatchFloat.sum(b, tokens, true, rows, cols, p, 1f, g, 0, (long) rows * p, tokens ? rows : p, a, 0,
                (long) cols * p, p, 0f, grad.buffer, wOff, cols);
    }

    /**
     * {@code dst_n [cols, p] = W [rows, cols]^T g_n [rows, p] + beta dst_n}, image by image; with {@code tokens} g is
     * token-major, g_n [p, rows].
     */
    private static void inputGradient(int b, int cols, int rows, int p, Weights w, long wOff, FloatBuffer g,
            FloatBuffer dst, float beta, boolean tokens) {
        GemmBatchFloat.each(b, true, tokens, cols, p, rows, 1f, w.buffer, wOff, 0, cols, g, 0, (long) rows * p,
                tokens ? rows : p, beta, dst, 0, (long) cols * p, p);
    }

    /**
     * {@code sums[ch] = sum over tokens of g[t, ch]} for a token-major g [tokens, c]: float sums over runs of
     * {@value #SUM_RUN} tokens, added up in double.
     */
    private static void tokenSums(float[] g, int tokens, int c, double[] sums) {
        Arrays.fill(sums, 0, c, 0);
        int runs = (tokens + SUM_RUN - 1) / SUM_RUN;
        double[][] parts = new double[runs][];
        IntStream.range(0, runs).parallel().forEach(r -> {
            float[] acc = new float[c];
            for (int t = r * SUM_RUN; t < Math.min(tokens, (r + 1) * SUM_RUN); t++) {
                int row = t * c;
                for (int ch = 0; ch < c; ch++) {
                    acc[ch] += g[row + ch];
                }
            }
            double[] part = new double[c];
            for (int ch = 0; ch < c; ch++) {
                part[ch] = acc[ch];
            }
            parts[r] = part;
        });
        for (double[] part : parts) {
            for (int ch = 0; ch < c; ch++) {
                sums[ch] += part[ch];
            }
        }
    }

    /** Tokens summed in float before their sum goes into the double total ({@link #tokenSums}). */
    private static final int SUM_RUN = 64;

    /** {@code sums[ch] = sum over images and pixels of g[n, ch, .]}, in double (four float sums per plane). */
    private static void channelSums(float[] g, int b, int c, int p, double[] sums) {
        IntStream.range(0, c).parallel().forEach(ch -> {
            double total = 0;
            int n4 = p / 4 * 4;
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * p;
                float s0 = 0;
                float s1 = 0;
                float s2 = 0;
                float s3 = 0;
                for (int i = 0; i < n4; i += 4) {
                    s0 += g[base + i];
                    s1 += g[base + i + 1];
                    s2 += g[base + i + 2];
                    s3 += g[base + i + 3];
                }
                for (int i = n4; i < p; i++) {
                    s0 += g[base + i];
                }
                total += (double) s0 + s1 + s2 + s3;
            }
            sums[ch] = total;
        });
    }

    /**
     * r x r average pooling, stride r, remainder rows and columns dropped: [B, C, H, W] -&gt; [B, C, H/r, W/r]. Input
     * rows are read in order, each added into its pooled row (a pooled value sums its window row by row).
     */
    static void avgPool(float[] src, HMHSAShape s, float[] dst) {
        int hw = s.height() * s.width();
        int pp = s.pooledPixels();
        IntStream.range(0, s.batch() * s.channels()).parallel().forEach(plane ->
                avgPoolPlane(src, plane * hw, s, dst, plane * pp));
    }

    /** One plane of {@link #avgPool}: the plane of {@code src} at {@code in} into {@code dst} at {@code o}. */
    static void avgPoolPlane(float[] src, int in, HMHSAShape s, float[] dst, int o) {
        int r = s.ratio();
        int wd = s.width();
        int ph = s.pooledHeight();
        int pw = s.pooledWidth();
        float inv = 1f / (r * r);
        Arrays.fill(dst, o, o + ph * pw, 0f);
        for (int i = 0; i < ph; i++) {
            int out = o + i * pw;
            for (int y = i * r; y < (i + 1) * r; y++) {
                int row = in + y * wd;
                for (int j = 0; j < pw; j++) {
                    float acc = dst[out + j];
                    for (int xx = j * r; xx < (j + 1) * r; xx++) {
                        acc += src[row + xx];
                    }
                    dst[out + j] = acc;
                }
            }
            for (int j = 0; j < pw; j++) {
                dst[out + j] *= inv;
            }
        }
    }

    /** The backward pass of {@link #avgPool}: {@code dSrc} += each pooled gradient / r^2 over its window. */
    static void avgPoolBackward(float[] dDst, HMHSAShape s, float[] dSrc) {
        int r = s.ratio();
        int h = s.height();
        int wd = s.width();
        int ph = s.pooledHeight();
        int pw = s.pooledWidth();
        float inv = 1f / (r * r);
        IntStream.range(0, s.batch() * s.channels()).parallel().forEach(plane -> {
            int in = plane * h * wd;
            int o = plane * ph * pw;
            for (int i = 0; i < ph; i++) {
                for (int j = 0; j < pw; j++) {
                    float v = dDst[o + i * pw + j] * inv;
                    for (int y = i * r; y < (i + 1) * r; y++) {
                        int row = in + y * wd + j * r;
                        for (int xx = 0; xx < r; xx++) {
                            dSrc[row + xx] += v;
                        }
                    }
                }
            }
        });
    }
}
