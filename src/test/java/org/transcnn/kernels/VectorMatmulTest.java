package org.transcnn.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API products equal the plain loops and a product computed in double, over full blocks, column tails and
 * leftover rows, with the left operand read by index in both layouts the attention kernels use it in (a matrix
 * stored row by row, and one stored column by column).
 */
class VectorMatmulTest {

    @Test
    void theTestsRunWithTheVectorApi() {
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
    }

    @ParameterizedTest
    @CsvSource({"64, 64, 64, false", "64, 64, 64, true", "7, 5, 49, false", "5, 9, 3, true", "1, 1, 1, false",
            "12, 33, 40, true", "256, 64, 64, false", "64, 64, 256, true", "8, 3, 33, false",
            "9, 7, 117, false"})
    void matchesThePlainLoopsAndDouble(int m, int k, int n, boolean columnMajor) {
        Random r = new Random(m * 1000 + k * 10 + n);
        int offset = 5;
        float[] src = new float[offset + m * k];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) r.nextGaussian();
        }
        int[] ri = new int[m];
        int[] rp = new int[k];
        for (int i = 0; i < m; i++) {
            ri[i] = offset + (columnMajor ? i : i * k);
        }
        for (int p = 0; p < k; p++) {
            rp[p] = columnMajor ? p * m : p;
        }
        float[][] b = new float[k][n + 3];
        for (float[] row : b) {
            for (int j = 0; j < row.length; j++) {
                row[j] = (float) r.nextGaussian();
            }
        }
        float[][] plain = new float[m][n + 3];
        float[][] vector = new float[m][n + 3];
        for (int i = 0; i < m; i++) {
            plain[i][n] = 7f;
            vector[i][n] = 7f;
        }
        AttentionFloat.multiply(plain, src, ri, rp, b, m, k, n);
        VectorMatmul.multiply(vector, src, ri, rp, b, m, k, n);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double expected = 0;
                for (int p = 0; p < k; p++) {
                    expected += (double) src[ri[i] + rp[p]] * b[p][j];
                }
                double tol = 1e-5 * (1 + Math.sqrt(k));
                assertEquals(expected, vector[i][j], tol, "vector c[" + i + "][" + j + "]");
                assertEquals(expected, plain[i][j], tol, "plain c[" + i + "][" + j + "]");
            }
            assertEquals(7f, vector[i][n], "column " + n + " past n is left alone");
        }
    }
}
