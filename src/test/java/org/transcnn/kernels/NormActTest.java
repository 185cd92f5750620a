package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * NormActFloat and its generated twin NormActDouble against a plainly written double-precision reference: the
 * forward pass against the formula, the backward pass against central differences of that reference.
 */
class NormActTest {

    private static final double EPS = 1e-5;

    /** Reference y = act(gamma (x - mean) / sqrt(var + eps) + beta) with the batch statistics of x. */
    private static double[] reference(double[] x, int b, int c, int p, double[] gamma, double[] beta, Activation act) {
        double[] y = new double[x.length];
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int n = 0; n < b; n++) {
                for (int i = 0; i < p; i++) {
                    sum += x[(n * c + ch) * p + i];
                }
            }
            double mean = sum / (b * p);
            double sq = 0;
            for (int n = 0; n < b; n++) {
                for (int i = 0; i < p; i++) {
                    double d = x[(n * c + ch) * p + i] - mean;
                    sq += d * d;
                }
            }
            double var = sq / (b * p);
            for (int n = 0; n < b; n++) {
                for (int i = 0; i < p; i++) {
                    int k = (n * c + ch) * p + i;
                    double z = gamma[ch] * (x[k] - mean) / Math.sqrt(var + EPS) + beta[ch];
                    y[k] = act == Activation.SILU ? z / (1 + Math.exp(-z)) : z;
                }
            }
        }
        return y;
    }

    /** (L(v + h) - L(v - h)) / 2h for v = values[i], h = 1e-5; values[i] is restored. */
    private static double centralDifference(double[] values, int i, DoubleSupplier loss) {
        double h = 1e-5;
        double keep = values[i];
        values[i] = keep + h;
        double plus = loss.getAsDouble();
        values[i] = keep - h;
        double minus = loss.getAsDouble();
        values[i] = keep;
        return (plus - minus) / (2 * h);
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 35, SILU", "1, 4, 64, IDENTITY", "3, 2, 1, SILU", "4, 5, 17, SILU", "2, 2, 300, IDENTITY"})
    void forwardAndBackwardMatchTheReference(int b, int c, int p, Activation act) {
        Random r = new Random(b * 100 + c * 10 + p);
        int len = b * c * p;
        double[] x = new double[len];
        double[] w = new double[len];
        for (int i = 0; i < len; i++) {
            x[i] = 3 * r.nextGaussian() + 1;
            w[i] = r.nextGaussian();
        }
        double[] gamma = new double[c];
        double[] beta = new double[c];
        for (int ch = 0; ch < c; ch++) {
            gamma[ch] = 0.5 + r.nextDouble();
            beta[ch] = r.nextGaussian();
        }
        double[] mean = new double[c];
        double[] var = new double[c];
        NormActDouble.statistics(x, b, c, p, mean, var);
        double[] scale = new double[c];
        double[] shift = new double[c];
        for (int ch = 0; ch < c; ch++) {
            scale[ch] = gamma[ch] / Math.sqrt(var[ch] + EPS);
            shift[ch] = beta[ch] - mean[ch] * scale[ch];
        }
        double[] y = new double[len];
        NormActDouble.forward(x, y, b, c, p, scale, shift, act);
        double[] ref = reference(x, b, c, p, gamma, beta, act);
        float[] xf = new float[len];
        for (int i = 0; i < len; i++) {
            xf[i] = (float) x[i];
        }
        double[] meanF = new double[c];
        double[] varF = new double[c];
        NormActFloat.statistics(xf, b, c, p, meanF, varF);
        float[] yf = new float[len];
        NormActFloat.forward(xf, yf, b, c, p, scale, shift, act);
        for (int i = 0; i < len; i++) {
            assertEquals(ref[i], y[i], 1e-12 * (1 + Math.abs(ref[i])), "double forward at " + i);
            assertEquals(ref[i], yf[i], 2e-5 * (1 + Math.abs(ref[i])), "float forward at " + i);
        }
        for (int ch = 0; ch < c; ch++) {
            assertEquals(mean[ch], meanF[ch], 1e-5 * (1 + Math.abs(mean[ch])), "float mean");
            assertEquals(var[ch], varF[ch], 1e-5 * (1 + var[ch]), "float variance");
        }

        // backward of the loss L = sum(w * y): dL/dy = w
        double[] dx = w.clone();
        double[] dGamma = new double[c];
        double[] dBeta = new double[c];
        NormActDouble.backward(x, dx, dx, b, c, p, mean, var, gamma, beta, EPS, act, dGamma, dBeta);
        float[] dxf = new float[len];
        for (int i = 0; i < len; i++) {
            dxf[i] = (float) w[i];
        }
        double[] dGammaF = new double[c];
        double[] dBetaF = new double[c];
        NormActFloat.backward(xf, dxf, dxf, b, c, p, mean, var, gamma, beta, EPS, act, dGammaF, dBetaF);
        // central differences of L = sum(w * reference(x, gamma, beta)) in each of x, gamma and beta
        DoubleSupplier loss = () -> dot(w, reference(x, b, c, p, gamma, beta, act));
        for (int i = 0; i < len; i += Math.max(1, len / 40)) {
            double numeric = centralDifference(x, i, loss);
            assertEquals(numeric, dx[i], 1e-6 * (1 + Math.abs(numeric)), "double dx at " + i);
            assertEquals(dx[i], dxf[i], 1e-3 * (1 + Math.abs(dx[i])), "float dx at " + i);
        }
        for (int ch = 0; ch < c; ch++) {
            assertEquals(centralDifference(gamma, ch, loss), dGamma[ch], 1e-6 * (1 + Math.abs(dGamma[ch])),
                    "dgamma " + ch);
            assertEquals(centralDifference(beta, ch, loss), dBeta[ch], 1e-6 * (1 + Math.abs(dBeta[ch])),
                    "dbeta " + ch);
            assertEquals(dGamma[ch], dGammaF[ch], 1e-3 * (1 + Math.abs(dGamma[ch])), "float dgamma " + ch);
            assertEquals(dBeta[ch], dBetaF[ch], 1e-3 * (1 + Math.abs(dBeta[ch])), "float dbeta " + ch);
        }
    }
}
