package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Vector API's transposing gather of window tokens gives the plain loop's bits, whole vectors and tail alike. */
class VectorTokensTest {

    @ParameterizedTest
    @CsvSource({"64, 64, 192", "37, 32, 96", "5, 3, 9", "16, 64, 128", "49, 64, 192"})
    void gatherMatchesThePlainLoop(int n, int d, int step) {
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
        Random r = new Random(n * 100L + d);
        int first = 7;
        float[] src = new float[first + (2 * n + 3) * step];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) r.nextGaussian();
        }
        int[] idx = new int[n];
        for (int t = 0; t < n; t++) {
            idx[t] = (2 * t + (t % 3)) * step; // increasing, with gaps, as a window's tokens in a map
        }
        float[][] vector = new float[d][n];
        float[][] plain = new float[d][n];
        VectorTokens.gather(src, first, idx, n, d, 0.125f, vector);
        AttentionFloat.gatherTokens(src, first, idx, 0, n, d, 0.125f, plain);
        for (int j = 0; j < d; j++) {
            assertArrayEquals(plain[j], vector[j], "channel " + j);
        }
    }
}
