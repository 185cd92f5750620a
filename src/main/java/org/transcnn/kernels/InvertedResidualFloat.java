package org.transcnn.kernels;

import java.nio.FloatBuffer;

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
 * theirs): the GEMMs run on them in place; normalisation, activation and the depthwise convolution run on Java copies
 * taken from {@code pool}, one copy in and one out per stage. A training-mode forward pass keeps {@code t1} and
 * {@code t3} (E + C values per pixel) for the backward pass, which recomputes the activations and {@code d} from them
 * (one more depthwise convolution per step instead of E more values per pixel kept).
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
        GemmBatchFloat.each(b, false, false, e, p, c, 1f, w1, w1Off, 0, c, x, 0, (long) c * p, p, 0f, t1, 0,
                (long) e * p, p);
        float[] f = pool.take(s.inner());
        float[] g = pool.take(s.inner());
        BulkFloat.get(t1, f, s.inner());
        NormActFloat.normalise(f, b, e, p, n1, training, Activation.SILU);
        DepthwiseFloat.forward(f, wdw, g, b, e, s.height(), s.width(), s.kernel(), s.kernel());
        NormActFloat.normalise(g, b, e, p, n2, training, Activation.SILU);
        BulkFloat.scalePlanes(g, mask2, p);
        BulkFloat.put(g, a2, s.inner());
        pool.give(f);
        pool.give(g);
        GemmBatchFloat.each(b, false, false, c, p, e, 1f, w3, w3Off, 0, e, a2, 0, (long) e * p, p, 0f, t3, 0,
                (long) c * p, p);
        float[] f3 = pool.take(s.outer());
        BulkFloat.get(t3, f3, s.outer());
        NormActFloat.normalise(f3, b, c, p, n3, training, Activation.IDENTITY);
        BulkFloat.scalePlanes(f3, mask3, p);
        BulkFloat.scalePlanes(f3, path, c * p);
        if (residual) {
            float[] xs = pool.take(s.outer());
            BulkFloat.get(x, xs, s.outer());
            BulkFloat.add(f3, xs, s.outer());
            pool.give(xs);
        }
        BulkFloat.put(f3, out, s.outer());
        pool.give(f3);
    }

    /**
     * The backward pass of a training-mode {@link #forward} (whose {@code t1}, {@code t3}, masks and
     * batch statistics it is given), for the output gradient {@code dy}: writes the input gradient {@code dx}, the
     * weight gradients {@code dW1} [E, C], {@code dWdw} [E, k*k], {@code dW3} [C, E] and each Norm's
     * {@code dGamma}, {@code dBeta}. {@code work} [B, E, P] is scratch; {@code dx} is also used as scratch first.
     * With the residual, {@code dx} includes {@code dy} (the gradient through the identity branch).
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
        // BN3: dt3 (kept in dx until the GEMMs of conv3 have used it)
        float[] g3 = pool.take(s.outer());
        float[] f3 = pool.take(s.outer());
        BulkFloat.get(dy, g3, s.outer());
        BulkFloat.scalePlanes(g3, mask3, p);
        BulkFloat.scalePlanes(g3, path, c * p);
        BulkFloat.get(t3, f3, s.outer());
        NormActFloat.backward(f3, g3, b, c, p, n3, Activation.IDENTITY, dNorm[4], dNorm[5]);
        BulkFloat.put(g3, dx, s.outer());
        pool.give(f3);
        pool.give(g3);
        // a1 = SiLU(BN1(t1)) and d = depthwise(a1) recomputed (a1 in a, d in fd), a2 from d into work;
        // conv3: dW3 = sum dt3 a2^T, da2 = W3^T dt3 (into work, image by image)
        float[] a = pool.take(s.inner());
        float[] fd = pool.take(s.inner());
        float[] g = pool.take(s.inner());
        BulkFloat.get(t1, a, s.inner());
        NormActFloat.forward(a, a, b, e, p, scale(n1), shift(n1), Activation.SILU);
        DepthwiseFloat.forward(a, wdw, fd, b, e, s.height(), s.width(), k, k);
        NormActFloat.forward(fd, g, b, e, p, scale(n2), shift(n2), Activation.SILU);
        BulkFloat.scalePlanes(g, mask2, p);
        BulkFloat.put(g, work, s.inner());
        GemmBatchFloat.sum(b, false, true, c, e, p, 1f, dx, 0, (long) c * p, p, work, 0, (long) e * p, p, 0f, dW3,
                dW3Off, e);
        GemmBatchFloat.each(b, true, false, e, p, c, 1f, w3, w3Off, 0, e, dx, 0, (long) c * p, p, 0f, work, 0,
                (long) e * p, p);
        // BN2 + SiLU: dd (in g)
        BulkFloat.get(work, g, s.inner());
        BulkFloat.scalePlanes(g, mask2, p);
        NormActFloat.backward(fd, g, b, e, p, n2, Activation.SILU, dNorm[2], dNorm[3]);
        // depthwise: dWdw from dd and a1, da1 (into fd)
        DepthwiseFloat.backwardWeights(g, a, dWdw, b, e, s.height(), s.width(), k, k);
        DepthwiseFloat.forward(g, DepthwiseFloat.rotated(wdw, e, k, k), fd, b, e, s.height(), s.width(), k, k);
        pool.give(g);
        // BN1 + SiLU: dt1 (t1 read again into a; dt1 into fd, then work); conv1: dW1 = sum dt1 x^T, dx = W1^T dt1
        BulkFloat.get(t1, a, s.inner());
        NormActFloat.backward(a, fd, b, e, p, n1, Activation.SILU, dNorm[0], dNorm[1]);
        BulkFloat.put(fd, work, s.inner());
        pool.give(a);
        pool.give(fd);
        if (residual) {
            dx.put(0, dy, 0, s.outer());
        }
        GemmBatchFloat.sum(b, false, true, e, c, p, 1f, work, 0, (long) e * p, p, x, 0, (long) c * p, p, 0f, dW1,
                dW1Off, c);
        GemmBatchFloat.each(b, true, false, c, p, e, 1f, w1, w1Off, 0, c, work, 0, (long) e * p, p,
                residual ? 1f : 0f, dx, 0, (long) c * p, p);
    }

    private static double[] scale(Norm norm) {
        return norm.scale(true);
    }

    private static double[] shift(Norm norm) {
        return norm.shift(true, norm.scale(true));
    }
}
