package org.transcnn.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Vector API products equal the plain loops, over full blocks, column tails and leftover rows. */
class VectorMatmulTest {

    @Test
    void theTestsRunWithTheVectorApi() {
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
    }

    @ParameterizedTest
    @CsvSource({"64, 64, 64, false", "64, 64, 64, true", "7, 5, 49, false", "5, 9, 3, true", "1, 1, 1, false",
            "12, 33, 40, true", "256, 64, 64, false"})
    void matchesThePlainLoops(int m, int k, int n, boolean transposeA) {
        Random r = new Random(m * 1000 + k * 10 + n);
        float[][] a = new float[transposeA ? k : m][transposeA ? m : k];
        float[][] b = new float[k][n + 3];
        for (float[] row : a) {
            for (int j = 0; j < row.length; j++) {
                row[j] = (float) r.nextGaussian();
            }
        }
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
        AttentionFloat.multiply(plain, a, transposeA, b, m, k, n);
        VectorMatmul.multiply(vector, a, transposeA, b, m, k, n);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(plain[i][j], vector[i][j], 1e-4 * (1 + Math.abs(plain[i][j])), "c[" + i + "][" + j + "]");
            }
            assertEquals(7f, vector[i][n], "column " + n + " past n is left alone");
        }
    }
}
