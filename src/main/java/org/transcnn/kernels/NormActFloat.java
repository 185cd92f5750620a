package org.transcnn.kernels;

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
 * sums are taken over rows of P values added elementwise into a row of partial sums (a loop C2 vectorises, which a
 * scalar reduction is not) and finished in double.
 */
public final class NormActFloat {

    private NormActFloat() {
    }

    /** Per-channel batch mean and biased variance of {@code x} [b, c, plane] into {@code mean}, {@code var} [c]. */
    public static void statistics(float[] x, int b, int c, int plane, double[] mean, double[] var) {
        double count = (double) b * plane;
        IntStream.range(0, c).parallel().forEach(ch -> {
            float[] acc = new float[plane];
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                for (int i = 0; i < plane; i++) {
                    acc[i] += x[base + i];
                }
            }
            double m = sum(acc) / count;
            float mf = (float) m;
            java.util.Arrays.fill(acc, 0);
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                for (int i = 0; i < plane; i++) {
                    float d = x[base + i] - mf;
                    acc[i] += d * d;
                }
            }
            mean[ch] = m;
            var[ch] = sum(acc) / count;
        });
    }

    /** {@code y = act(x * scale_c + shift_c)}, x and y [b, c, plane] (y may be x). */
    public static void forward(float[] x, float[] y, int b, int c, int plane, double[] scale, double[] shift,
            Activation act) {
        IntStream.range(0, c).parallel().forEach(ch -> {
            float s = (float) scale[ch];
            float t = (float) shift[ch];
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                if (act == Activation.SILU) {
                    for (int i = base; i < base + plane; i++) {
                        float z = x[i] * s + t;
                        y[i] = z * FastMath.sigmoidFloat(z);
                    }
                } else {
                    for (int i = base; i < base + plane; i++) {
                        y[i] = x[i] * s + t;
                    }
                }
            }
        });
    }

    /**
     * Training-mode backward pass of {@code y = act(BN(x))} with the batch statistics {@code mean}, {@code var}:
     * {@code dx} [b, c, plane] (may be dy), {@code dGamma}, {@code dBeta} [c].
     */
    public static void backward(float[] x, float[] dy, float[] dx, int b, int c, int plane, double[] mean,
            double[] var, double[] gamma, double[] beta, double eps, Activation act, double[] dGamma,
            double[] dBeta) {
        double count = (double) b * plane;
        IntStream.range(0, c).parallel().forEach(ch -> {
            double invStd = 1.0 / Math.sqrt(var[ch] + eps);
            float inv = (float) invStd;
            float m = (float) mean[ch];
            float s = (float) (gamma[ch] * invStd);
            float t = (float) (beta[ch] - mean[ch] * gamma[ch] * invStd);
            float[] sumDz = new float[plane];
            float[] sumDzXhat = new float[plane];
            for (int n = 0; n < b; n++) {
                int base = (n * c + ch) * plane;
                // dz = dy * act'(z) into dx, then the two sums: separate loops, each one vectorised
                if (act == Activation.SILU) {
                    for (int i = base; i < base + plane; i++) {
                        float z = x[i] * s + t;
                        float sg = FastMath.sigmoidFloat(z);
                        dx[i] = dy[i] * (sg + z * sg * (1 - sg));
                    }
                } else if (dx != dy) {
                    System.arraycopy(dy, base, dx, base, plane);
                }
                for (int i = 0; i < plane; i++) {
                    float g = dx[base + i];
                    sumDz[i] += g;
                    sumDzXhat[i] += g * ((x[base + i] - m) * inv);
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
                for (int i = base; i < base + plane; i++) {
                    float xhat = (x[i] - m) * inv;
                    dx[i] = s * (dx[i] - meanDz - xhat * meanDzXhat);
                }
            }
        });
    }

    private static double sum(float[] values) {
        double s = 0;
        for (float v : values) {
            s += v;
        }
        return s;
    }
}
