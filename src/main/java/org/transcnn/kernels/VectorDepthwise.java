package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * {@link DepthwiseFloat}'s forward pass and weight gradient (same contracts) with the Vector API, on zero-padded
 * copies of each plane. A plane [h, w] is copied into a buffer whose rows are {@code w + kw - 1} wide, with the
 * zero rows and columns of the padding around it; in that layout every kernel tap (i, j) is one fixed offset
 * {@code i * (w + kw - 1) + j} from an output pixel, so a whole plane is one run of vectors: the forward pass keeps
 * four vectors of outputs in registers while it adds all kh*kw taps (each input vector loaded once per tap, no
 * partial outputs stored and reloaded), and the weight gradient of a tap is one long dot product of the output
 * gradient (in the same padded layout, zero in the padding columns) with the shifted input. The few outputs
 * computed in the padding columns are dropped. Sums go lane by lane in a fixed order and are finished in double, and
 * only multiplies, fused multiply-adds and adds are used (all exactly rounded), so the results do not depend on how
 * the JIT runs this code. Planes smaller than a vector skip the padded copy in the forward pass (see
 * {@link #correlateTiny}). Used only when {@link VectorSupport#AVAILABLE}.
 */
final class VectorDepthwise {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Output vectors held in registers at once by the forward pass. */
    private static final int BLOCK = 4;

    private VectorDepthwise() {
    }

    /** Double precision: the plain loops of the generated twin (the Vector API form is written for float). */
    static void forward(double[] x, double[] w, double[] y, int b, int c, int h, int wd, int kh, int kw) {
        DepthwiseDouble.forwardPlain(x, w, y, b, c, h, wd, kh, kw);
    }

    static void backwardWeights(double[] dy, double[] x, double[] dw, int b, int c, int h, int wd, int kh, int kw) {
        DepthwiseDouble.backwardWeightsPlain(dy, x, dw, b, c, h, wd, kh, kw);
    }

    static void forwardPlanes(double[] x, double[] w, int wb, double[] y, int base, int planes, int h, int wd,
            int kh, int kw) {
        DepthwiseDouble.forwardPlanesPlain(x, w, wb, y, base, planes, h, wd, kh, kw);
    }

    static void backwardWeightsPlanes(double[] dy, double[] x, int base, int stride, int planes, double[] dw,
            int dwBase, int h, int wd, int kh, int kw) {
        DepthwiseDouble.backwardWeightsPlanesPlain(dy, x, base, stride, planes, dw, dwBase, h, wd, kh, kw);
    }

    static void forward(float[] x, float[] w, float[] y, int b, int c, int h, int wd, int kh, int kw) {
        int plane = h * wd;
        int planes = b * c;
        int chunk = chunk(planes);
        IntStream.range(0, (planes + chunk - 1) / chunk).parallel().forEach(task -> {
            for (int bc = task * chunk; bc < Math.min(planes, (task + 1) * chunk); bc++) {
                forwardPlanes(x, w, (bc % c) * kh * kw, y, bc * plane, 1, h, wd, kh, kw);
            }
        });
    }

    /** Planes per parallel task, a few tasks per core: small planes cost less than a task each. */
    private static int chunk(int planes) {
        return Math.max(1, planes / (8 * Runtime.getRuntime().availableProcessors()));
    }

    /** {@link DepthwiseFloat#forwardPlanes}: tiny planes directly, the others through a zero-padded copy. */
    static void forwardPlanes(float[] x, float[] w, int wb, float[] y, int base, int planes, int h, int wd, int kh,
            int kw) {
        int plane = h * wd;
        if (plane < L) {
            for (int i = 0; i < planes; i++) {
                correlateTiny(x, w, wb, y, base + i * plane, h, wd, kh, kw);
            }
            return;
        }
        forwardPadded(x, w, wb, y, base, planes, h, wd, kh, kw);
    }

    /** {@link #forwardPlanes} through the zero-padded planes, whatever their size. */
    static void forwardPadded(float[] x, float[] w, int wb, float[] y, int base, int planes, int h, int wd, int kh,
            int kw) {
        int plane = h * wd;
        Padded p = Padded.take(h, wd, kh, kw);
        for (int i = 0; i < planes; i++) {
            int at = base + i * plane;
            p.pad(x, at);
            correlate(p, w, wb);
            for (int row = 0; row < h; row++) {
                System.arraycopy(p.out, row * p.stride, y, at + row * wd, wd);
            }
        }
        Padded.FREE.give(p);
    }

    /**
     * One plane of fewer pixels than a vector (the 2x2 and 1x1 maps of small inputs), directly: each output is the
     * fused multiply-adds of the taps that fall inside the plane, in {@link #correlate}'s tap order. There a tap in
     * the padding adds an exact zero to a sum that starts at +0, so the results are the same bits, without padding
     * a plane and computing a vector of outputs for one to four of them.
     */
    private static void correlateTiny(float[] x, float[] w, int wb, float[] y, int base, int h, int wd, int kh,
            int kw) {
        int ph = (kh - 1) / 2;
        int pw = (kw - 1) / 2;
        for (int oy = 0; oy < h; oy++) {
            for (int ox = 0; ox < wd; ox++) {
                float a = 0;
                for (int i = Math.max(0, ph - oy); i < Math.min(kh, h + ph - oy); i++) {
                    int row = base + (oy + i - ph) * wd - pw + ox;
                    for (int j = Math.max(0, pw - ox); j < Math.min(kw, wd + pw - ox); j++) {
                        a = Math.fma(x[row + j], w[wb + i * kw + j], a);
                    }
                }
                y[base + oy * wd + ox] = a;
            }
        }
    }

    /** {@code p.out} = the padded plane {@code p.in} correlated with the kernel at {@code w[wb ...]}. */
    private static void correlate(Padded p, float[] w, int wb) {
        int taps = p.kh * p.kw;
        int n = p.outLength;
        float[] in = p.in;
        float[] out = p.out;
        int[] off = p.offsets;
        int q = 0;
        for (; q + BLOCK * L <= n; q += BLOCK * L) {
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int t = 0; t < taps; t++) {
                FloatVector wt = FloatVector.broadcast(S, w[wb + t]);
                int o = q + off[t];
                a0 = FloatVector.fromArray(S, in, o).fma(wt, a0);
                a1 = FloatVector.fromArray(S, in, o + L).fma(wt, a1);
                a2 = FloatVector.fromArray(S, in, o + 2 * L).fma(wt, a2);
                a3 = FloatVector.fromArray(S, in, o + 3 * L).fma(wt, a3);
            }
            a0.intoArray(out, q);
            a1.intoArray(out, q + L);
            a2.intoArray(out, q + 2 * L);
            a3.intoArray(out, q + 3 * L);
        }
        // the rest one vector at a time (small planes: fewer values computed in the padding columns and past the end)
        for (; q < n; q += L) {
            FloatVector a0 = FloatVector.zero(S);
            for (int t = 0; t < taps; t++) {
                a0 = FloatVector.fromArray(S, in, q + off[t]).fma(FloatVector.broadcast(S, w[wb + t]), a0);
            }
            a0.intoArray(out, q);
        }
    }

    static void backwardWeights(float[] dy, float[] x, float[] dw, int b, int c, int h, int wd, int kh, int kw) {
        int plane = h * wd;
        IntStream.range(0, c).parallel().forEach(ch ->
                backwardWeightsPlanes(dy, x, ch * plane, c * plane, b, dw, ch * kh * kw, h, wd, kh, kw));
    }

    /** {@link DepthwiseFloat#backwardWeightsPlanes}: per tap, lane sums over all planes, finished in double. */
    static void backwardWeightsPlanes(float[] dy, float[] x, int base, int stride, int planes, float[] dw,
            int dwBase, int h, int wd, int kh, int kw) {
        Padded p = Padded.take(h, wd, kh, kw);
        int taps = kh * kw;
        float[] lanes = p.lanes;
        Arrays.fill(lanes, 0, taps * L, 0);
        float[] in = p.in;
        float[] g = p.grad;
        int[] off = p.offsets;
        int n = p.outLength;
        for (int img = 0; img < planes; img++) {
            int at = base + img * stride;
            p.pad(x, at);
            p.spread(dy, at);
            for (int t = 0; t < taps; t++) {
                int o = off[t];
                FloatVector a0 = FloatVector.zero(S);
                FloatVector a1 = a0;
                int q = 0;
                for (; q + 2 * L <= n; q += 2 * L) {
                    a0 = FloatVector.fromArray(S, g, q).fma(FloatVector.fromArray(S, in, q + o), a0);
                    a1 = FloatVector.fromArray(S, g, q + L).fma(FloatVector.fromArray(S, in, q + o + L), a1);
                }
                for (; q < n; q += L) {
                    a0 = FloatVector.fromArray(S, g, q).fma(FloatVector.fromArray(S, in, q + o), a0);
                }
                FloatVector.fromArray(S, lanes, t * L).add(a0.add(a1)).intoArray(lanes, t * L);
            }
        }
        for (int t = 0; t < taps; t++) {
            double sum = 0;
            for (int lane = 0; lane < L; lane++) {
                sum += lanes[t * L + lane];
            }
            dw[dwBase + t] += sum;
        }
        Padded.FREE.give(p);
    }

    /**
     * The padded copy of one plane ({@link #in}), the output of {@link #correlate} ({@link #out}) and an output
     * gradient plane ({@link #grad}) in the same row layout ({@link #outLength} values rounded up to {@link #blocks},
     * whole vectors), the taps' offsets and the weight gradient's lane sums; reused through {@link #FREE},
     * grown when a plane needs more room. {@link #in} and {@link #grad} are zeroed when the geometry is set: only a
     * plane's own pixels are written afterwards, so their padding stays zero.
     */
    private static final class Padded {
        static final FreeList<Padded> FREE = new FreeList<>();

        float[] in = new float[0];
        float[] out = new float[0];
        float[] grad = new float[0];
        float[] lanes = new float[0];
        int[] offsets = new int[0];
        int h = -1;
        int wd;
        int kh;
        int kw;
        int stride;
        int outLength;
        int blocks;
        int inLength;

        static Padded take(int h, int wd, int kh, int kw) {
            Padded p = FREE.take(f -> true, f -> new Padded());
            if (p.h != h || p.wd != wd || p.kh != kh || p.kw != kw) {
                p.prepare(h, wd, kh, kw);
            }
            return p;
        }

        private void prepare(int h, int wd, int kh, int kw) {
            this.h = h;
            this.wd = wd;
            this.kh = kh;
            this.kw = kw;
            stride = wd + kw - 1;
            outLength = h * stride;
            blocks = (outLength + L - 1) / L * L;
            // the last block of outputs reads up to (kh - 1) rows and kw - 1 columns past its end
            inLength = blocks + (kh - 1) * stride + kw - 1;
            if (in.length < inLength) {
                in = new float[inLength];
            }
            if (out.length < blocks) {
                out = new float[blocks];
                grad = new float[blocks];
            }
            if (lanes.length < kh * kw * L) {
                lanes = new float[kh * kw * L];
            }
            if (offsets.length < kh * kw) {
                offsets = new int[kh * kw];
            }
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++) {
                    offsets[i * kw + j] = i * stride + j;
                }
            }
            Arrays.fill(in, 0, inLength, 0);
            Arrays.fill(grad, 0, blocks, 0);
        }

        /**
         * {@link #in} = the plane of {@code x} at {@code base} with (kh-1)/2 zero rows above, (kw-1)/2 zero columns
         * to the left, the rest of the padding below and to the right, and zeros to {@link #inLength} (left by
         * {@link #prepare}).
         */
        void pad(float[] x, int base) {
            int top = (kh - 1) / 2;
            int left = (kw - 1) / 2;
            for (int row = 0; row < h; row++) {
                System.arraycopy(x, base + row * wd, in, (row + top) * stride + left, wd);
            }
        }

        /** {@link #grad} = the plane of {@code g} at {@code base} in rows {@link #stride} wide, zeros elsewhere. */
        void spread(float[] g, int base) {
            for (int row = 0; row < h; row++) {
                System.arraycopy(g, base + row * wd, grad, row * stride, wd);
            }
        }
    }
}
