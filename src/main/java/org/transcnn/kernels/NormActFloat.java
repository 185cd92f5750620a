package org.transcnn.kernels;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * BatchNorm fused with its activation, on an NCHW batch held as one C-ordered array [B, C, P] (P = H*W pixels per
 * plane), parallel over the C channels:
 * <pre>
 * statistics: mean_c, var_c = batch mean and biased variance of x[., c, .]
 * forward:    y = act(x * scale_c + shift_c)    (scale_c = gamma_c / sqrt(var_c + eps), shift_c = beta_c - mean_c scale_c)
 * backward:   dx, dgamma, dbeta of y = act(BN(x)) with the batch statistics (training mode), given dy
 * </pre>
 * The backward pass recomputes {@code BN(x)} and the activation's derivative from x instead of keeping them.
 *
 * <p>This file is written for float arrays; the build generates {@code NormActDouble}, the same code for double
 * arrays (every {@code float} and {@code Float} renamed, see the pom), so each formula exists once. Per-channel
 * sums are taken over rows of P values added elementwise into a row of partial sums and finished in double; those
 * loops run by {@link VectorNormAct} when the Vector API is there (Java 17's JIT runs them scalar), with the same
 * operations in the same order, so both give the same bits.
 */
public final class NormActFloat {

    private NormActFloat() {
    }

    /**
     * Planes of fewer pixels than this run the activation's derivative by {@link VectorNormAct}: C2 vectorises the
     * plain loop itself, but runs its first and last values scalar, which costs most of a short plane. The forward
     * loop (normalise and activate) takes {@link VectorNormAct} at every plane size: C2 compiles its plain form to
     * scalar code in most runs, about 7x slower at every size, and vectorised only in some
     * ({@code benchmarks/kernels/.../NormBench.java}, numbers in {@code benchmarks/README.md}).
     */
    static final int VECTOR_BELOW = 1024;

    /** Per-channel batch mean and biased variance of {@code x} [b, c, plane] into {@code mean}, {@code var} [c]. */
    public static void statistics(float[] x, int b, int c, int plane, double[] mean, double[] var) {
        double count = (double) b * plane;
        IntStream.range(0, c).parallel().forEach(ch -> {
            float[] acc = new float[plane];
            if (VectorSupport.AVAILABLE) {
                VectorNormAct.sums(x, b, c, ch, plane, acc);
            } else {
                sums(x, b, c, ch, plane, acc);
            }
            double m = sum(acc) / count;
            float mf = (float) m;
            java.util.Arrays.fill(acc, 0);
            if (VectorSupport.AVAILABLE) {
                VectorNormAct.squares(x, b, c, ch, plane, mf, acc);
            } else {
                squares(x, b, c, ch, plane, mf, acc);
            }
            mean[ch] = m;
            var[ch] = sum(acc) / count;
        });
    }

    /**
     * {@code v = act(BN(v))} in place with {@code norm}'s parameters: in training mode with its batch statistics,
     * computed from {@code v} first when it has none yet (a fresh Norm in a forward pass; a backward pass that
     * recomputes the forward pass reuses them), otherwise with its running statistics.
     */
    public static void normalise(float[] v, int b, int c, int plane, Norm norm, boolean training, Activation act) {
        if (training && norm.batchMean == null) {
            norm.batchMean = new double[c];
            norm.batchVar = new double[c];
            statistics(v, b, c, plane, norm.batchMean, norm.batchVar);
        }
        double[] scale = norm.scale(training);
        forward(v, v, b, c, plane, scale, norm.shift(training, scale), act);
    }

    /** {@link #backward} with {@code norm}'s batch statistics and parameters, in place: {@code g} (dy) becomes dx. */
    public static void backward(float[] x, float[] g, int b, int c, int plane, Norm norm, Activation act,
            double[] dGamma, double[] dBeta) {
        backward(x, g, g, b, c, plane, norm.batchMean, norm.batchVar, norm.gamma, norm.beta, norm.eps, act, dGamma,
                dBeta);
    }

    /**
     * Values summed in float (in a few running sums, or vector lanes) before their sum goes into a double total, in
     * the run kernels ({@link #runStatistics}, {@link #backwardRun}).
     */
    static final int RUN = 1024;

    /**
     * The batch mean and biased variance of one channel whose values over the whole batch are gathered in
     * {@code x[0, n)}, into {@code mean[ch]} and {@code var[ch]}, on the calling thread (a kernel that works channel by
     * channel: every channel's BatchNorm, depthwise convolution and activation are independent of the others').
     */
    public static void runStatistics(float[] x, int n, int ch, double[] mean, double[] var) {
        double m = (VectorSupport.AVAILABLE ? VectorNormAct.runSum(x, n) : runSum(x, n)) / n;
        float mf = (float) m;
        mean[ch] = m;
        var[ch] = (VectorSupport.AVAILABLE ? VectorNormAct.runSquares(x, n, mf) : runSquares(x, n, mf)) / n;
    }

    /** {@code y[i] = act(x[i] * s + t)} for {@code i < n} on the calling thread (y may be x). */
    public static void applyRun(float[] x, float[] y, int n, float s, float t, Activation act) {
        if (VectorSupport.AVAILABLE) {
            VectorNormAct.apply(x, y, 0, n, s, t, act);
        } else {
            apply(x, y, 0, n, s, t, act);
        }
    }

    /**
     * The training-mode backward pass of {@code y = act(BN(x))} for one channel gathered in {@code x[0, n)} (see
     * {@link #runStatistics}), with {@code norm}'s batch statistics, on the calling thread: {@code g} holds dy and
     * becomes dx; {@code dGamma[ch]}, {@code dBeta[ch]} are written.
     */
    public static void backwardRun(float[] x, float[] g, int n, int ch, Norm norm, Activation act, double[] dGamma,
            double[] dBeta) {
        Channel k = Channel.of(ch, norm.batchMean, norm.batchVar, norm.gamma, norm.beta, norm.eps);
        double[] sums = new double[2];
        if (VectorSupport.AVAILABLE) {
            VectorNormAct.activationGradient(x, g, g, 0, n, k.scale(), k.shift(), act);
            VectorNormAct.runGradientSums(x, g, n, k.mean(), k.inv(), sums);
        } else {
            activationGradient(x, g, g, 0, n, k.scale(), k.shift(), act);
            runGradientSums(x, g, n, k.mean(), k.inv(), sums);
        }
        dBeta[ch] = sums[0];
        dGamma[ch] = sums[1];
        inputGradient(x, g, 0, n, k.scale(), k.mean(), k.inv(), (float) (sums[0] / n), (float) (sums[1] / n));
    }

    /** The sum of {@code x[0, n)}: float sums of {@link #RUN} values (four running sums) added up in double. */
    static double runSum(float[] x, int n) {
        double total = 0;
        for (int from = 0; from < n; from += RUN) {
            int to = Math.min(n, from + RUN);
            float s0 = 0;
            float s1 = 0;
            float s2 = 0;
            float s3 = 0;
            int i = from;
            for (; i + 4 <= to; i += 4) {
                s0 += x[i];
                s1 += x[i + 1];
                s2 += x[i + 2];
                s3 += x[i + 3];
            }
            for (; i < to; i++) {
                s0 += x[i];
            }
            total += (double) (s0 + s1) + (s2 + s3);
        }
        return total;
    }

    /** The sum of {@code (x[i] - mean)^2} over {@code i < n}, summed as in {@link #runSum}. */
    static double runSquares(float[] x, int n, float mean) {
        double total = 0;
        for (int from = 0; from < n; from += RUN) {
            int to = Math.min(n, from + RUN);
            float s0 = 0;
            float s1 = 0;
            int i = from;
            for (; i + 2 <= to; i += 2) {
                float d0 = x[i] - mean;
                float d1 = x[i + 1] - mean;
                s0 += d0 * d0;
                s1 += d1 * d1;
            }
            for (; i < to; i++) {
                float d = x[i] - mean;
                s0 += d * d;
            }
            total += (double) s0 + s1;
        }
        return total;
    }

    /**
     * {@code sums[0] = sum dz[i]}, {@code sums[1] = sum dz[i] * (x[i] - m) * inv} over {@code i < n}, summed as in
     * {@link #runSum}.
     */
    static void runGradientSums(float[] x, float[] dz, int n, float m, float inv, double[] sums) {
        double sDz = 0;
        double sDzXhat = 0;
        for (int from = 0; from < n; from += RUN) {
            int to = Math.min(n, from + RUN);
            float a = 0;
            float b = 0;
            for (int i = from; i < to; i++) {
                float g = dz[i];
                a += g;
                b += g * ((x[i] - m) * inv);
            }
            sDz += a;
            sDzXhat += b;
        }
        sums[0] = sDz;
        sums[1] = sDzXhat;
    }

    /** {@code acc[i] += x[n, ch, i]} over the images n in order. */
    static void sums(float[] x, int b, int c, int ch, int plane, float[] acc) {
        for (int n = 0; n < b; n++) {
            int base = (n * c + ch) * plane;
            for (int i = 0; i < plane; i++) {
                acc[i] += x[base + i];
            }
        }
    }

    /** {@code acc[i] += (x[n, ch, i] - mean)^2} over the images n in order. */
    static void squares(float[] x, int b, int c, int ch, int plane, float mean, float[] acc) {
        for (int n = 0; n < b; n++) {
            int base = (n * c + ch) * plane;
            for (int i = 0; i < plane; i++) {
                float d = x[base + i] - mean;
                acc[i] += d * d;
            }
        }
    }

    /**
     * Planes of fewer pixels than this (maps of 7 x 7 and less) are normalised and activated image by image over all
     * channels at once ({@link #applyRows}): a channel's own plane would be shorter than a vector, all of it left to
     * the scalar tail loop.
     */
    static final int ROWS_BELOW = 64;

    /** {@code y = act(x * scale_c + shift_c)}, x and y [b, c, plane] (y may be x). */
    public static void forward(float[] x, float[] y, int b, int c, int plane, double[] scale, double[] shift,
            Activation act) {
        if (plane < ROWS_BELOW) {
            int n = c * plane;
            float[] s = new float[n];
            float[] t = new float[n];
            for (int ch = 0; ch < c; ch++) {
                for (int p = ch * plane; p < (ch + 1) * plane; p++) {
                    s[p] = (float) scale[ch];
                    t[p] = (float) shift[ch];
                }
            }
            IntStream.range(0, b).parallel().forEach(img -> {
                if (VectorSupport.AVAILABLE) {
                    VectorNormAct.applyRows(x, y, img * n, s, t, n, act);
                } else {
                    applyRows(x, y, img * n, s, t, 0, n, act);
                }
            });
            return;
        }
        IntStream.range(0, c).parallel().forEach(ch -> {
            float s = (float) scale[ch];
            float t = (float) shift[ch];
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                if (VectorSupport.AVAILABLE) {
                    VectorNormAct.apply(x, y, base, base + plane, s, t, act);
                } else {
                    apply(x, y, base, base + plane, s, t, act);
                }
            }
        });
    }

    /**
     * {@code y[base + i] = act(x[base + i] * s[i] + t[i])} for {@code from <= i < to}: {@link #apply} with a scale
     * and shift per value (one image's channels, each repeated over its plane).
     */
    static void applyRows(float[] x, float[] y, int base, float[] s, float[] t, int from, int to, Activation act) {
        if (act == Activation.SILU) {
            for (int i = from; i < to; i++) {
                float z = x[base + i] * s[i] + t[i];
                y[base + i] = z * FastMath.sigmoidFloat(z);
            }
        } else {
            for (int i = from; i < to; i++) {
                y[base + i] = x[base + i] * s[i] + t[i];
            }
        }
    }

    /** {@code y[i] = act(x[i] * s + t)} for {@code from <= i < to}. */
    static void apply(float[] x, float[] y, int from, int to, float s, float t, Activation act) {
        if (act == Activation.SILU) {
            for (int i = from; i < to; i++) {
                float z = x[i] * s + t;
                y[i] = z * FastMath.sigmoidFloat(z);
            }
        } else {
            for (int i = from; i < to; i++) {
                y[i] = x[i] * s + t;
            }
        }
    }

    /**
     * Training-mode backward pass of {@code y = act(BN(x))} with the batch statistics {@code mean}, {@code var}:
     * {@code dx} [b, c, plane] (may be dy), {@code dGamma}, {@code dBeta} [c].
     */
    public static void backward(float[] x, float[] dy, float[] dx, int b, int c, int plane, double[] mean,
            double[] var, double[] gamma, double[] beta, double eps, Activation act, double[] dGamma,
            double[] dBeta) {
        if (plane < ROWS_BELOW) {
            backwardRows(x, dy, dx, b, c, plane, mean, var, gamma, beta, eps, act, dGamma, dBeta);
        } else {
            backwardChannels(x, dy, dx, b, c, plane, mean, var, gamma, beta, eps, act, dGamma, dBeta);
        }
    }

    /**
     * One channel's constants of the backward pass, rounded to the kernel's precision once: 1/std, the mean, and the
     * scale and shift of {@code z = x * scale + shift} (gamma/std, beta - mean * gamma/std). Both backward paths take
     * them from here, so they compute with the same values.
     */
    private record Channel(float inv, float mean, float scale, float shift) {
        static Channel of(int ch, double[] mean, double[] var, double[] gamma, double[] beta, double eps) {
            double invStd = 1.0 / Math.sqrt(var[ch] + eps);
            return new Channel((float) invStd, (float) mean[ch], (float) (gamma[ch] * invStd),
                    (float) (beta[ch] - mean[ch] * gamma[ch] * invStd));
        }
    }

    /** {@link #backward} channel by channel, at any plane size. */
    static void backwardChannels(float[] x, float[] dy, float[] dx, int b, int c, int plane, double[] mean,
            double[] var, double[] gamma, double[] beta, double eps, Activation act, double[] dGamma,
            double[] dBeta) {
        double count = (double) b * plane;
        IntStream.range(0, c).parallel().forEach(ch -> {
            Channel k = Channel.of(ch, mean, var, gamma, beta, eps);
            float inv = k.inv();
            float m = k.mean();
            float s = k.scale();
            float t = k.shift();
            float[] sumDz = new float[plane];
            float[] sumDzXhat = new float[plane];
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                if (VectorSupport.AVAILABLE && plane < VECTOR_BELOW) {
                    VectorNormAct.activationGradient(x, dy, dx, base, base + plane, s, t, act);
                } else {
                    activationGradient(x, dy, dx, base, base + plane, s, t, act);
                }
                if (VectorSupport.AVAILABLE) {
                    VectorNormAct.gradientSums(x, dx, base, plane, m, inv, sumDz, sumDzXhat);
                } else {
                    gradientSums(x, dx, base, plane, m, inv, sumDz, sumDzXhat);
                }
            }
            double sDz = sum(sumDz);
            double sDzXhat = sum(sumDzXhat);
            dBeta[ch] = sDz;
            dGamma[ch] = sDzXhat;
            float meanDz = (float) (sDz / count);
            float meanDzXhat = (float) (sDzXhat / count);
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                inputGradient(x, dx, base, base + plane, s, m, inv, meanDz, meanDzXhat);
            }
        });
    }

    /**
     * {@link #backward} for planes of fewer than {@link #ROWS_BELOW} pixels, in three passes over whole images (rows
     * of c*plane values, each with its channel's constants repeated over the plane) instead of channel by channel,
     * where a plane would be shorter than a vector: dz image by image; the sums over images, in image order for
     * every value of a row as before; dx image by image. The same operations on every value in the same order, so
     * the same bits as the channel-by-channel loops.
     */
    static void backwardRows(float[] x, float[] dy, float[] dx, int b, int c, int plane, double[] mean,
            double[] var, double[] gamma, double[] beta, double eps, Activation act, double[] dGamma,
            double[] dBeta) {
        double count = (double) b * plane;
        int n = c * plane;
        float[] s = new float[n];
        float[] t = new float[n];
        float[] m = new float[n];
        float[] inv = new float[n];
        for (int ch = 0; ch < c; ch++) {
            Channel k = Channel.of(ch, mean, var, gamma, beta, eps);
            Arrays.fill(inv, ch * plane, (ch + 1) * plane, k.inv());
            Arrays.fill(m, ch * plane, (ch + 1) * plane, k.mean());
            Arrays.fill(s, ch * plane, (ch + 1) * plane, k.scale());
            Arrays.fill(t, ch * plane, (ch + 1) * plane, k.shift());
        }
        IntStream.range(0, b).parallel().forEach(img -> {
            if (VectorSupport.AVAILABLE) {
                VectorNormAct.activationGradientRows(x, dy, dx, img * n, s, t, n, act);
            } else {
                activationGradientRows(x, dy, dx, img * n, s, t, 0, n, act);
            }
        });
        float[] sumDz = new float[n];
        float[] sumDzXhat = new float[n];
        BulkFloat.chunks(n).forEach(from -> {
            int to = Math.min(n, from + BulkFloat.CHUNK);
            for (int img = 0; img < b; img++) {
                int base = img * n;
                for (int j = from; j < to; j++) {
                    float g = dx[base + j];
                    sumDz[j] += g;
                    sumDzXhat[j] += g * ((x[base + j] - m[j]) * inv[j]);
                }
            }
        });
        float[] meanDz = new float[n];
        float[] meanDzXhat = new float[n];
        for (int ch = 0; ch < c; ch++) {
            double sDz = sum(sumDz, ch * plane, plane);
            double sDzXhat = sum(sumDzXhat, ch * plane, plane);
            dBeta[ch] = sDz;
            dGamma[ch] = sDzXhat;
            Arrays.fill(meanDz, ch * plane, (ch + 1) * plane, (float) (sDz / count));
            Arrays.fill(meanDzXhat, ch * plane, (ch + 1) * plane, (float) (sDzXhat / count));
        }
        IntStream.range(0, b).parallel().forEach(img -> {
            int base = img * n;
            for (int j = 0; j < n; j++) {
                float xhat = (x[base + j] - m[j]) * inv[j];
                dx[base + j] = s[j] * (dx[base + j] - meanDz[j] - xhat * meanDzXhat[j]);
            }
        });
    }

    /**
     * {@code dx[base + i] = dy[base + i] * act'(z)}, {@code z = x[base + i] * s[i] + t[i]}, for {@code from <= i <
     * to}: {@link #activationGradient} with a scale and shift per value.
     */
    static void activationGradientRows(float[] x, float[] dy, float[] dx, int base, float[] s, float[] t, int from,
            int to, Activation act) {
        if (act == Activation.SILU) {
            for (int i = from; i < to; i++) {
                float z = x[base + i] * s[i] + t[i];
                float sg = FastMath.sigmoidFloat(z);
                dx[base + i] = dy[base + i] * (sg + z * sg * (1 - sg));
            }
        } else if (dx != dy) {
            System.arraycopy(dy, base + from, dx, base + from, to - from);
        }
    }

    /** {@code dz = dy * act'(z)} with {@code z = x * s + t} into {@code dx}, for {@code from <= i < to}. */
    static void activationGradient(float[] x, float[] dy, float[] dx, int from, int to, float s, float t,
            Activation act) {
        if (act == Activation.SILU) {
            for (int i = from; i < to; i++) {
                float z = x[i] * s + t;
                float sg = FastMath.sigmoidFloat(z);
                dx[i] = dy[i] * (sg + z * sg * (1 - sg));
            }
        } else if (dx != dy) {
            System.arraycopy(dy, from, dx, from, to - from);
        }
    }

    /**
     * The sums of the gradient {@code dz} of one plane (at {@code base} in {@code dz}): {@code sumDz[i] += dz[base +
     * i]} and {@code sumDzXhat[i] += dz[base + i] * (x[base + i] - m) * inv}.
     */
    static void gradientSums(float[] x, float[] dz, int base, int plane, float m, float inv, float[] sumDz,
            float[] sumDzXhat) {
        for (int i = 0; i < plane; i++) {
            float g = dz[base + i];
            sumDz[i] += g;
            sumDzXhat[i] += g * ((x[base + i] - m) * inv);
        }
    }

    /** {@code dx[i] = s * (dx[i] - meanDz - xhat * meanDzXhat)}, {@code xhat = (x[i] - m) * inv}, from..to. */
    static void inputGradient(float[] x, float[] dx, int from, int to, float s, float m, float inv,
            float meanDz, float meanDzXhat) {
        for (int i = from; i < to; i++) {
            float xhat = (x[i] - m) * inv;
            dx[i] = s * (dx[i] - meanDz - xhat * meanDzXhat);
        }
    }

    /** The sum of {@code values} in double: four running sums (values i mod 4), added at the end. */
    private static double sum(float[] values) {
        return sum(values, 0, values.length);
    }

    /** {@link #sum(float[])} of {@code values[from, from + length)}. */
    private static double sum(float[] values, int from, int length) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int n = length / 4 * 4;
        for (int i = 0; i < n; i += 4) {
            s0 += values[from + i];
            s1 += values[from + i + 1];
            s2 += values[from + i + 2];
            s3 += values[from + i + 3];
        }
        for (int i = n; i < length; i++) {
            s0 += values[from + i];
        }
        return (s0 + s1) + (s2 + s3);
    }
}
