package org.transcnn.kernels;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * TransCNN's inverted residual bottleneck (the official {@code blocks.s.i.conv}, optionally with the block's residual
 * and drop path around it) as one forward and one backward pass over NCHW batches, x [B, C, H, W] -&gt; y [B, C, H, W],
 * P = H*W pixels, E hidden channels:
 * <pre>
 * t1 = W1 x                       W1 [E, C]: per image the GEMM [E, C] x [C, P]
 * d  = depthwise_k(SiLU(BN1(t1)))  kernels [E, k*k], zero padding (k-1)/2
 * a2 = SiLU(BN2(d)) * m2           m2: Dropout2d mask per (image, channel) or none
 * t3 = W3 a2                       W3 [C, E]
 * y  = BN3(t3) * m3                without the residual
 * y  = x + BN3(t3) * m3 * q        with it (the official block's x + DropPath(conv(x))): q per image, or 1
 * </pre>
 * BatchNorm uses the batch statistics in training mode (kept in the {@link Norm}s for the backward pass) and the
 * running statistics otherwise. The maps ND4J holds are direct buffers at offset 0 (the weights at an offset into
 * theirs): the GEMMs run on them in place. Everything between the GEMMs runs channel by channel, in parallel over
 * the channels: a channel's BatchNorm statistics, activation, depthwise convolution and masks depend on that channel
 * alone, so one task gathers the channel's planes of the whole batch into an array of its own (B*P values, which
 * stay in the core's cache), runs every step between two GEMMs on it and writes the result back: each map is read
 * from and written to memory once per pass instead of once per step. A training-mode forward pass keeps {@code t1}
 * and {@code t3} (E + C values per pixel) for the backward pass, which recomputes the activations and {@code d} from
 * them, channel by channel (two more depthwise convolutions per step instead of E more values per pixel kept).
 *
 * <p>Written for float; the build generates the double twin {@code InvertedResidualDouble} (see {@link NormActFloat}).
 */
public final class InvertedResidualFloat {

    private InvertedResidualFloat() {
    }

    /**
     * The forward pass into {@code out}. {@code t1} [B, E, P], {@code a2} [B, E, P] and {@code t3} [B, C, P] are
     * written. Masks are [B*E], [B*C] and the drop path's [B], or
     * null; {@code residual} adds x to the output.
     */
    public static void forward(InvertedResidualShape s, FloatBuffer x, FloatBuffer w1, long w1Off, float[] wdw,
            FloatBuffer w3, long w3Off, Norm n1, Norm n2, Norm n3, boolean training, float[] mask2, float[] mask3,
            boolean residual, float[] path, FloatBuffer t1, FloatBuffer a2, FloatBuffer t3, FloatBuffer out,
            ArrayPool<float[]> pool) {
        int b = s.batch();
        int c = s.channels();
        int e = s.hidden();
        int p = s.pixels();
        int n = b * p;
        GemmBatchFloat.each(b, false, false, e, p, c, 1f, w1, w1Off, 0, c, x, 0, (long) c * p, p, 0f, t1, 0,
                (long) e * p, p);
        if (training) {
            n1.startBatchStatistics();
            n2.startBatchStatistics();
            n3.startBatchStatistics();
        }
        IntStream.range(0, e).parallel().forEach(ch -> {
            float[] a = pool.take(n);
            float[] d = pool.take(n);
            BulkFloat.getChannel(t1, b, e, ch, p, a);
            hidden(s, ch, a, d, wdw, n1, n2, training, mask2);
            BulkFloat.putChannel(d, a2, b, e, ch, p);
            pool.give(a);
            pool.give(d);
        });
        GemmBatchFloat.each(b, false, false, c, p, e, 1f, w3, w3Off, 0, e, a2, 0, (long) e * p, p, 0f, t3, 0,
                (long) c * p, p);
        IntStream.range(0, c).parallel().forEach(ch -> {
            float[] f = pool.take(n);
            BulkFloat.getChannel(t3, b, c, ch, p, f);
            if (training) {
                NormActFloat.runStatistics(f, n, ch, n3.batchMean, n3.batchVar);
            }
            double sc = n3.scale(ch, training);
            NormActFloat.applyRun(f, f, n, (float) sc, (float) n3.shift(ch, training, sc), Activation.IDENTITY);
            BulkFloat.scaleChannel(f, b, c, ch, p, mask3, path);
            if (residual) {
                float[] xs = pool.take(n);
                BulkFloat.getChannel(x, b, c, ch, p, xs);
                for (int i = 0; i < n; i++) {
                    f[i] += xs[i];
                }
                pool.give(xs);
            }
            BulkFloat.putChannel(f, out, b, c, ch, p);
            pool.give(f);
        });
    }

    /**
     * Hidden channel {@code ch} from conv1's output to conv3's input, on its planes gathered in {@code a}:
     * {@code a = SiLU(BN1(a))}, {@code d = SiLU(BN2(depthwise(a))) * m2}; in training mode the channel's batch statistics of
     * BN1 and BN2 are computed on the way.
     */
    private static void hidden(InvertedResidualShape s, int ch, float[] a, float[] d, float[] wdw, Norm n1,
            Norm n2, boolean training, float[] mask2) {
        int b = s.batch();
        int k = s.kernel();
        int n = b * s.pixels();
        activate(a, n, ch, n1, training, false);
        DepthwiseFloat.forwardPlanes(a, wdw, ch * k * k, d, 0, b, s.height(), s.width(), k, k);
        activate(d, n, ch, n2, training, false);
        BulkFloat.scaleChannel(d, b, s.hidden(), ch, s.pixels(), mask2, null);
    }

    /**
     * {@code v = SiLU(BN(v))} for channel {@code ch} gathered in {@code v[0, n)}; in training mode computes the
     * channel's batch statistics first, unless {@code reuse} (a backward pass recomputing its forward pass).
     */
    private static void activate(float[] v, int n, int ch, Norm norm, boolean training, boolean reuse) {
        if (training && !reuse) {
            NormActFloat.runStatistics(v, n, ch, norm.batchMean, norm.batchVar);
        }
        double sc = norm.scale(ch, training);
        NormActFloat.applyRun(v, v, n, (float) sc, (float) norm.shift(ch, training, sc), Activation.SILU);
    }

    /**
     * The backward pass of a training-mode {@link #forward} (whose {@code t1}, {@code t3}, masks and
     * batch statistics it is given), for the output gradient {@code dy}: writes the input gradient {@code dx}, the
     * weight gradients {@code dW1} [E, C], {@code dWdw} [E, k*k] (added to, so zero it first), {@code dW3} [C, E] and
     * each Norm's {@code dGamma}, {@code dBeta}. {@code work} [B, E, P] is scratch; {@code dx} is also used as
     * scratch first. With the residual, {@code dx} includes {@code dy} (the gradient through the identity branch).
     */
    public static void backward(InvertedResidualShape s, FloatBuffer x, FloatBuffer w1, long w1Off, float[] wdw,
            FloatBuffer w3, long w3Off, Norm n1, Norm n2, Norm n3, float[] mask2, float[] mask3, boolean residual,
            float[] path, FloatBuffer t1, FloatBuffer t3, FloatBuffer dy, FloatBuffer work, FloatBuffer dx,
            FloatBuffer dW1,
            long dW1Off, float[] dWdw, FloatBuffer dW3, long dW3Off, double[][] dNorm, ArrayPool<float[]> pool) {
        int b = s.batch();
        int c = s.channels();
        int e = s.hidden();
        int p = s.pixels();
        int k = s.kernel();
        int n = b * p;
        // BN3: dt3 (kept in dx until the GEMMs of conv3 have used it)
        IntStream.range(0, c).parallel().forEach(ch -> {
            float[] g = pool.take(n);
            float[] f = pool.take(n);
            BulkFloat.getChannel(dy, b, c, ch, p, g);
            BulkFloat.scaleChannel(g, b, c, ch, p, mask3, path);
            BulkFloat.getChannel(t3, b, c, ch, p, f);
            NormActFloat.backwardRun(f, g, n, ch, n3, Activation.IDENTITY, dNorm[4], dNorm[5]);
            BulkFloat.putChannel(g, dx, b, c, ch, p);
            pool.give(f);
            pool.give(g);
        });
        // a2 recomputed into work; conv3: dW3 = sum dt3 a2^T, da2 = W3^T dt3 (into work, image by image)
        IntStream.range(0, e).parallel().forEach(ch -> {
            float[] a = pool.take(n);
            float[] d = pool.take(n);
            BulkFloat.getChannel(t1, b, e, ch, p, a);
            activate(a, n, ch, n1, true, true);
            DepthwiseFloat.forwardPlanes(a, wdw, ch * k * k, d, 0, b, s.height(), s.width(), k, k);
            activate(d, n, ch, n2, true, true);
            BulkFloat.scaleChannel(d, b, e, ch, p, mask2, null);
            BulkFloat.putChannel(d, work, b, e, ch, p);
            pool.give(a);
            pool.give(d);
        });
        GemmBatchFloat.sum(b, false, true, c, e, p, 1f, dx, 0, (long) c * p, p, work, 0, (long) e * p, p, 0f, dW3,
                dW3Off, e);
        GemmBatchFloat.each(b, true, false, e, p, c, 1f, w3, w3Off, 0, e, dx, 0, (long) c * p, p, 0f, work, 0,
                (long) e * p, p);
        // per hidden channel: a1 = SiLU(BN1(t1)) and d = depthwise(a1) recomputed; BN2 + SiLU backward: dd; the
        // depthwise weight gradient from dd and a1; da1 = depthwise^T(dd); BN1 + SiLU backward: dt1 (into work)
        float[] rotated = DepthwiseFloat.rotated(wdw, e, k, k);
        IntStream.range(0, e).parallel().forEach(ch -> {
            float[] t = pool.take(n);
            float[] a = pool.take(n);
            float[] d = pool.take(n);
            float[] g = pool.take(n);
            BulkFloat.getChannel(t1, b, e, ch, p, t);
            System.arraycopy(t, 0, a, 0, n);
            activate(a, n, ch, n1, true, true);
            DepthwiseFloat.forwardPlanes(a, wdw, ch * k * k, d, 0, b, s.height(), s.width(), k, k);
            BulkFloat.getChannel(work, b, e, ch, p, g);
            BulkFloat.scaleChannel(g, b, e, ch, p, mask2, null);
            NormActFloat.backwardRun(d, g, n, ch, n2, Activation.SILU, dNorm[2], dNorm[3]);
            DepthwiseFloat.backwardWeightsPlanes(g, a, 0, p, b, dWdw, ch * k * k, s.height(), s.width(), k, k);
            DepthwiseFloat.forwardPlanes(g, rotated, ch * k * k, a, 0, b, s.height(), s.width(), k, k);
            NormActFloat.backwardRun(t, a, n, ch, n1, Activation.SILU, dNorm[0], dNorm[1]);
            BulkFloat.putChannel(a, work, b, e, ch, p);
            pool.give(t);
            pool.give(a);
            pool.give(d);
            pool.give(g);
        });
        if (residual) {
            dx.put(0, dy, 0, s.outer());
        }
        GemmBatchFloat.sum(b, false, true, e, c, p, 1f, work, 0, (long) e * p, p, x, 0, (long) c * p, p, 0f, dW1,
                dW1Off, c);
        GemmBatchFloat.each(b, true, false, c, p, e, 1f, w1, w1Off, 0, c, work, 0, (long) e * p, p,
                residual ? 1f : 0f, dx, 0, (long) c * p, p);
    }
}
