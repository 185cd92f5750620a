package org.transcnn.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Times the library's kernels alone on the shapes of SMALL at 256x256, batch 8 (best of N calls, milliseconds):
 * depthwise convolution (forward, weight gradient), BatchNorm with SiLU (statistics, forward, backward) and attention
 * (window and global, forward and backward), and whole inverted residual blocks. Run by benchmarks/kernels.sh, which compiles this file against the
 * library's classes; compare two builds by running it on each, alternating.
 */
public final class KernelBench {

    private KernelBench() {
    }

    private static float[] gaussian(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private interface Body {
        void run();
    }

    private static double best(int calls, Body body) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < calls; i++) {
            long t0 = System.nanoTime();
            body.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e6);
        }
        return best;
    }

    private static FloatBuffer direct(Random r, int n) {
        FloatBuffer f = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < n; i++) {
            f.put(i, (float) (0.1 * r.nextGaussian()));
        }
        return f;
    }

    /** Reuses arrays by exact length, as the library's pool does for a kernel's repeated takes. */
    private static final ArrayPool<float[]> POOL = new ArrayPool<>() {
        private final Map<Integer, ConcurrentLinkedQueue<float[]>> free = new ConcurrentHashMap<>();

        @Override
        public float[] take(int n) {
            float[] a = free.computeIfAbsent(n, k -> new ConcurrentLinkedQueue<>()).poll();
            return a != null ? a : new float[n];
        }

        @Override
        public void give(float[] a) {
            free.computeIfAbsent(a.length, k -> new ConcurrentLinkedQueue<>()).offer(a);
        }
    };

    private static Norm norm(int c) {
        double[] one = new double[c];
        Arrays.fill(one, 1);
        return new Norm(one.clone(), new double[c], new double[c], one.clone(), 1e-5);
    }

    /** One whole inverted residual block (expansion 4, with the residual): inference, training forward, backward. */
    private static void irb(Random r, int calls, int b, int c, int h, int w, int k) {
        InvertedResidualShape s = new InvertedResidualShape(b, c, 4 * c, h, w, k);
        int e = s.hidden();
        FloatBuffer x = direct(r, s.outer());
        FloatBuffer w1 = direct(r, e * c);
        FloatBuffer w3 = direct(r, e * c);
        float[] wdw = gaussian(r, e * k * k);
        FloatBuffer t1 = direct(r, s.inner());
        FloatBuffer a2 = direct(r, s.inner());
        FloatBuffer work = direct(r, s.inner());
        FloatBuffer t3 = direct(r, s.outer());
        FloatBuffer out = direct(r, s.outer());
        FloatBuffer dy = direct(r, s.outer());
        FloatBuffer dx = direct(r, s.outer());
        FloatBuffer dW1 = direct(r, e * c);
        FloatBuffer dW3 = direct(r, e * c);
        Norm[] n = {norm(e), norm(e), norm(c)};
        double inference = best(calls, () -> InvertedResidualFloat.forward(s, x, w1, 0, wdw, w3, 0, n[0], n[1], n[2],
                false, null, null, true, null, t1, a2, t3, out, POOL));
        double training = best(calls, () -> {
            n[0] = norm(e);
            n[1] = norm(e);
            n[2] = norm(c);
            InvertedResidualFloat.forward(s, x, w1, 0, wdw, w3, 0, n[0], n[1], n[2], true, null, null, true, null,
                    t1, a2, t3, out, POOL);
        });
        double backward = best(calls, () -> {
            double[][] dNorm = {new double[e], new double[e], new double[e], new double[e], new double[c],
                new double[c]};
            InvertedResidualFloat.backward(s, x, w1, 0, wdw, w3, 0, n[0], n[1], n[2], null, null, true, null, t1,
                    t3, dy, work, dx, dW1, 0, new float[e * k * k], dW3, 0, dNorm, POOL);
        });
        System.out.printf(Locale.ROOT, "IRB [%d,%d->%d,%d,%d] k%d: inference %.2f | training forward %.2f backward "
                + "%.2f%n", b, c, e, h, w, k, inference, training, backward);
    }

    /** One whole H-MHSA block (with the residual): inference, training forward, backward. */
    private static void hmhsa(Random r, int calls, int b, int c, int heads, int h, int w, int grid, int ratio) {
        HMHSAShape s = new HMHSAShape(b, c, heads, h, w, grid, ratio);
        int outer = s.outer();
        int pooled = b * 2 * c * s.pooledPixels();
        HMHSAFloat.Weights wt = new HMHSAFloat.Weights(direct(r, 7 * c * c), 0, 3L * c * c, 4L * c * c, 6L * c * c,
                gaussian(r, 3 * c), gaussian(r, c), gaussian(r, 2 * c), gaussian(r, c));
        HMHSAFloat.Weights grad = new HMHSAFloat.Weights(direct(r, 7 * c * c), 0, 3L * c * c, 4L * c * c,
                6L * c * c, null, null, null, null);
        FloatBuffer x = direct(r, outer);
        FloatBuffer qkv = direct(r, 3 * outer);
        FloatBuffer t = direct(r, outer);
        FloatBuffer q = direct(r, outer);
        FloatBuffer kv = direct(r, Math.max(1, pooled));
        FloatBuffer sum = direct(r, outer);
        FloatBuffer work = direct(r, outer);
        FloatBuffer out = direct(r, outer);
        FloatBuffer dy = direct(r, outer);
        FloatBuffer big = direct(r, 3 * outer);
        int scratch = Math.max(outer, pooled);
        FloatBuffer w1 = direct(r, scratch);
        FloatBuffer w2 = direct(r, scratch);
        FloatBuffer w3 = direct(r, scratch);
        FloatBuffer dx = direct(r, outer);
        Norm[] n = {norm(c), norm(c), norm(c)};
        double inference = best(calls, () -> HMHSAFloat.forward(s, x, wt, n[0], n[1], n[2], false, null, null, true,
                qkv, t, q, kv, sum, work, out, POOL));
        double training = best(calls, () -> {
            n[0] = norm(c);
            n[1] = norm(c);
            n[2] = norm(c);
            HMHSAFloat.forward(s, x, wt, n[0], n[1], n[2], true, null, null, true, qkv, t, q, kv, sum, work, out,
                    POOL);
        });
        double backward = best(calls, () -> {
            double[][] dBias = {new double[3 * c], new double[c], new double[2 * c], new double[c]};
            double[][] dNorm = new double[6][c];
            HMHSAFloat.backward(s, x, wt, n[0], n[1], n[2], null, null, true, qkv, t, q, kv, sum, dy, big, w1, w2,
                    w3, dx, grad, dBias, dNorm, POOL);
        });
        System.out.printf(Locale.ROOT, "H-MHSA [%d,%d,%d,%d] heads %d grid %d ratio %d: inference %.2f | training "
                + "forward %.2f backward %.2f%n", b, c, h, w, heads, grid, ratio, inference, training, backward);
    }

    public static void main(String[] args) {
        int calls = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        Random r = new Random(1);
        System.out.println("vector API: " + VectorSupport.AVAILABLE + ", best of " + calls + " calls, ms");
        for (int[] s : new int[][] {{8, 256, 64, 64, 5}, {8, 512, 32, 32, 3}, {8, 1024, 16, 16, 5},
                {8, 2048, 8, 8, 3}}) {
            int b = s[0], c = s[1], h = s[2], w = s[3], k = s[4];
            float[] x = gaussian(r, b * c * h * w);
            float[] dy = gaussian(r, x.length);
            float[] y = new float[x.length];
            float[] wt = gaussian(r, c * k * k);
            float[] dw = new float[wt.length];
            double fwd = best(calls, () -> DepthwiseFloat.forward(x, wt, y, b, c, h, w, k, k));
            double wgrad = best(calls, () -> DepthwiseFloat.backwardWeights(dy, x, dw, b, c, h, w, k, k));
            double[] scale = new double[c];
            double[] shift = new double[c];
            double[] mean = new double[c];
            double[] var = new double[c];
            double[] gamma = new double[c];
            double[] beta = new double[c];
            Arrays.fill(scale, 1.1);
            Arrays.fill(shift, 0.1);
            Arrays.fill(gamma, 1);
            Arrays.fill(var, 1);
            int p = h * w;
            double stats = best(calls, () -> NormActFloat.statistics(x, b, c, p, mean, var));
            double bnFwd = best(calls, () -> NormActFloat.forward(x, y, b, c, p, scale, shift, Activation.SILU));
            double bnBwd = best(calls, () -> NormActFloat.backward(x, dy, y, b, c, p, mean, var, gamma, beta, 1e-5,
                    Activation.SILU, new double[c], new double[c]));
            System.out.printf(Locale.ROOT, "[%d,%d,%d,%d] k%d: depthwise fwd %.2f wgrad %.2f | BN+SiLU stats %.2f fwd %.2f"
                    + " bwd %.2f%n", b, c, h, w, k, fwd, wgrad, stats, bnFwd, bnBwd);
        }
        for (int[] s : new int[][] {{8, 64, 64, 64, 5}, {8, 128, 32, 32, 3}, {8, 256, 16, 16, 5}, {8, 512, 8, 8, 3}}) {
            irb(r, calls, s[0], s[1], s[2], s[3], s[4]);
        }
        for (int[] s : new int[][] {{8, 64, 1, 64, 64, 8, 8}, {8, 128, 2, 32, 32, 8, 4}, {8, 256, 4, 16, 16, 8, 2},
                {8, 512, 8, 8, 8, 1, 1}}) {
            hmhsa(r, calls, s[0], s[1], s[2], s[3], s[4], s[5], s[6]);
        }
        // SMALL stage 1: 64 channels, one head of 64, 64x64 map; windows of 8x8, global keys pooled by 8
        int b = 8;
        int c = 64;
        int h = 64;
        int w = 64;
        float[] qkv = gaussian(r, b * 3 * c * h * w);
        float[] q = gaussian(r, b * c * h * w);
        float[] kv = gaussian(r, b * 2 * c * 8 * 8);
        float[] out = new float[b * c * h * w];
        float[] dOut = gaussian(r, out.length);
        float[] dqkv = new float[qkv.length];
        float[] dq = new float[q.length];
        float[] dkv = new float[kv.length];
        AttentionLayout window = new AttentionLayout(b, 1, 64, 3 * c, 0, h, w, 3 * c, c, 2 * c, h, w, 8);
        AttentionLayout global = new AttentionLayout(b, 1, 64, c, 0, h, w, 2 * c, 0, c, 8, 8, 0);
        double wf = best(calls, () -> AttentionFloat.forward(qkv, qkv, window, out));
        double wb = best(calls, () -> AttentionFloat.backward(qkv, qkv, dOut, window, dqkv, dqkv));
        double gf = best(calls, () -> AttentionFloat.forward(q, kv, global, out));
        double gb = best(calls, () -> AttentionFloat.backward(q, kv, dOut, global, dq, dkv));
        System.out.printf(Locale.ROOT, "attention [8,64,64,64]: window fwd %.2f bwd %.2f | global (keys 8x8) fwd %.2f"
                + " bwd %.2f%n", wf, wb, gf, gb);
    }
}
