package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API softmax equals a softmax computed in double from the same logits (and the plain loops' one), over
 * full vectors, tails and rows shorter than a vector; values past {@code n} are left alone.
 */
class VectorSoftmaxTest {

    @ParameterizedTest
    @CsvSource({"64, 64, 4", "3, 1, 4", "5, 15, 4", "5, 16, 4", "5, 17, 4", "9, 100, 30", "2, 256, 30",
            "4, 49, 60"})
    void matchesSoftmaxInDouble(int rows, int n, double spread) {
        Random r = new Random(rows * 1000L + n);
        float[][] vector = new float[rows][n + 2];
        float[][] plain = new float[rows][n + 2];
        for (int i = 0; i < rows; i++) {
            for (int t = 0; t < n; t++) {
                vector[i][t] = (float) (r.nextGaussian() * spread);
                plain[i][t] = vector[i][t];
            }
            vector[i][n] = 7f;
            plain[i][n] = 7f;
        }
        double[][] expected = new double[rows][n];
        for (int i = 0; i < rows; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < n; t++) {
                max = Math.max(max, vector[i][t]);
            }
            double sum = 0;
            for (int t = 0; t < n; t++) {
                expected[i][t] = Math.exp(vector[i][t] - max);
                sum += expected[i][t];
            }
            for (int t = 0; t < n; t++) {
                expected[i][t] /= sum;
            }
        }
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
        VectorSoftmax.rows(vector, rows, n);
        AttentionFloat.softmaxRows(plain, rows, n);
        for (int i = 0; i < rows; i++) {
            double rowSum = 0;
            for (int t = 0; t < n; t++) {
                assertEquals(expected[i][t], vector[i][t], 2e-7 + 2e-6 * expected[i][t], "row " + i + ", " + t);
                assertEquals(expected[i][t], plain[i][t], 2e-7 + 2e-6 * expected[i][t], "plain row " + i + ", " + t);
                rowSum += vector[i][t];
            }
            assertEquals(1.0, rowSum, 1e-5, "row " + i + " sums to 1");
            assertEquals(7f, vector[i][n], "values past n untouched");
        }
    }

    /** The backward pass against the same formula in double: dlogits = p * (dp - sum(dp * p)). */
    @ParameterizedTest
    @CsvSource({"64, 64", "3, 1", "5, 15", "5, 17", "2, 256"})
    void backwardMatchesTheFormulaInDouble(int rows, int n) {
        Random r = new Random(rows * 7919L + n);
        float[][] p = new float[rows][n];
        float[][] vector = new float[rows][n + 1];
        float[][] plain = new float[rows][n + 1];
        for (int i = 0; i < rows; i++) {
            for (int t = 0; t < n; t++) {
                p[i][t] = (float) (r.nextGaussian() * 3);
                vector[i][t] = (float) r.nextGaussian();
                plain[i][t] = vector[i][t];
            }
            vector[i][n] = 5f;
        }
        AttentionFloat.softmaxRows(p, rows, n);
        double[][] expected = new double[rows][n];
        for (int i = 0; i < rows; i++) {
            double dot = 0;
            for (int t = 0; t < n; t++) {
                dot += (double) vector[i][t] * p[i][t];
            }
            for (int t = 0; t < n; t++) {
                expected[i][t] = p[i][t] * (vector[i][t] - dot);
            }
        }
        VectorSoftmax.backward(vector, p, rows, n);
        AttentionFloat.softmaxBackwardRows(plain, p, rows, n);
        for (int i = 0; i < rows; i++) {
            for (int t = 0; t < n; t++) {
                assertEquals(expected[i][t], vector[i][t], 1e-6, "row " + i + ", " + t);
                assertEquals(expected[i][t], plain[i][t], 1e-6, "plain row " + i + ", " + t);
            }
            assertEquals(5f, vector[i][n], "values past n untouched");
        }
    }

    /**
     * The vector exponential is FastMath's scalar one bit for bit, interpreted and compiled alike (enough calls for
     * the JIT to compile both): the Vector API's own EXP rounds differently in the two tiers, which once made two
     * runs of one seeded training step diverge.
     */
    @org.junit.jupiter.api.Test
    void theExponentialIsFastMathsBitForBitInEveryTier() {
        jdk.incubator.vector.VectorSpecies<Float> s = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        Random r = new Random(3);
        float[] x = new float[s.length()];
        float[] e = new float[s.length()];
        for (int call = 0; call < 40_000; call++) {
            for (int l = 0; l < x.length; l++) {
                x[l] = (float) (-r.nextDouble() * (call % 2 == 0 ? 20 : 1));
            }
            VectorSoftmax.exp(jdk.incubator.vector.FloatVector.fromArray(s, x, 0)).intoArray(e, 0);
            for (int l = 0; l < x.length; l++) {
                float expected = FastMath.expNonPositiveFloat(x[l]);
                if (Float.floatToIntBits(expected) != Float.floatToIntBits(e[l])) {
                    assertEquals(expected, e[l], 0f, "call " + call + ", exp(" + x[l] + ")");
                }
            }
        }
    }
}
