package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API column softmax equals the plain loops' one bit for bit and a softmax computed in double from the same
 * logits, over full vectors, tails and rows shorter than a vector; values past {@code n} are left alone.
 */
class VectorSoftmaxTest {

    @ParameterizedTest
    @CsvSource({"64, 64, 4", "3, 1, 4", "5, 15, 4", "5, 16, 4", "5, 17, 4", "9, 100, 30", "2, 256, 30",
            "49, 4, 60", "64, 256, 4"})
    void matchesSoftmaxInDouble(int rows, int n, double spread) {
        Random r = new Random(rows * 1000L + n);
        float[][] vector = new float[rows][n + 2];
        float[][] plain = new float[rows][n + 2];
        for (int t = 0; t < rows; t++) {
            for (int i = 0; i < n; i++) {
                vector[t][i] = (float) (r.nextGaussian() * spread);
                plain[t][i] = vector[t][i];
            }
            vector[t][n] = 7f;
            plain[t][n] = 7f;
        }
        double[][] expected = new double[rows][n];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < rows; t++) {
                max = Math.max(max, vector[t][i]);
            }
            double sum = 0;
            for (int t = 0; t < rows; t++) {
                expected[t][i] = Math.exp(vector[t][i] - max);
                sum += expected[t][i];
            }
            for (int t = 0; t < rows; t++) {
                expected[t][i] /= sum;
            }
        }
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
        VectorSoftmax.columns(vector, rows, n, new float[n], new float[n]);
        AttentionFloat.softmaxColumns(plain, rows, 0, n, new float[n], new float[n]);
        for (int i = 0; i < n; i++) {
            double columnSum = 0;
            for (int t = 0; t < rows; t++) {
                assertEquals(expected[t][i], vector[t][i], 2e-7 + 2e-6 * expected[t][i], "row " + t + ", " + i);
                assertEquals(plain[t][i], vector[t][i], 0f, "plain loops, row " + t + ", " + i);
                columnSum += vector[t][i];
            }
            assertEquals(1.0, columnSum, 1e-5, "column " + i + " sums to 1");
        }
        for (int t = 0; t < rows; t++) {
            assertEquals(7f, vector[t][n], "values past n untouched");
        }
    }

    /** The backward pass against the same formula in double: dlogits = p * (dp - colsum(dp * p)). */
    @ParameterizedTest
    @CsvSource({"64, 64", "3, 1", "5, 15", "5, 17", "2, 256", "64, 256"})
    void backwardMatchesTheFormulaInDouble(int rows, int n) {
        Random r = new Random(rows * 7919L + n);
        float[][] p = new float[rows][n];
        float[][] vector = new float[rows][n + 1];
        float[][] plain = new float[rows][n + 1];
        for (int t = 0; t < rows; t++) {
            for (int i = 0; i < n; i++) {
                p[t][i] = (float) (r.nextGaussian() * 3);
                vector[t][i] = (float) r.nextGaussian();
                plain[t][i] = vector[t][i];
            }
            vector[t][n] = 5f;
        }
        AttentionFloat.softmaxColumns(p, rows, 0, n, new float[n], new float[n]);
        double[][] expected = new double[rows][n];
        for (int i = 0; i < n; i++) {
            double dot = 0;
            for (int t = 0; t < rows; t++) {
                dot += (double) vector[t][i] * p[t][i];
            }
            for (int t = 0; t < rows; t++) {
                expected[t][i] = p[t][i] * (vector[t][i] - dot);
            }
        }
        VectorSoftmax.columnsBackward(vector, p, rows, n, new float[n]);
        AttentionFloat.softmaxColumnsBackward(plain, p, rows, 0, n, new float[n]);
        for (int t = 0; t < rows; t++) {
            for (int i = 0; i < n; i++) {
                assertEquals(expected[t][i], vector[t][i], 1e-6, "row " + t + ", " + i);
                assertEquals(plain[t][i], vector[t][i], 0f, "plain loops, row " + t + ", " + i);
            }
            assertEquals(5f, vector[t][n], "values past n untouched");
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
