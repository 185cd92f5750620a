package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The depthwise forward pass of planes smaller than a vector (computed directly, without padded copies) gives the same
 * bits as the padded-plane path, and agrees with the plain loops; larger planes are unaffected.
 */
class VectorDepthwiseTest {

    @ParameterizedTest
    @CsvSource({"3, 4, 1, 1, 3, 3", "2, 5, 2, 2, 5, 5", "2, 3, 2, 2, 3, 3", "1, 3, 1, 3, 3, 3", "2, 2, 3, 1, 5, 5",
            "1, 4, 3, 5, 3, 3", "2, 2, 2, 3, 3, 5", "2, 3, 4, 4, 5, 5", "1, 2, 8, 8, 5, 5"})
    void smallPlanesMatchThePaddedPathBitForBit(int b, int c, int h, int w, int kh, int kw) {
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
        Random r = new Random(b * 1000L + c * 100L + h * 10L + w + kh);
        float[] x = new float[b * c * h * w];
        float[] wt = new float[c * kh * kw];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < wt.length; i++) {
            wt[i] = (float) r.nextGaussian();
        }
        float[] direct = new float[x.length];
        float[] padded = new float[x.length];
        float[] plain = new float[x.length];
        VectorDepthwise.forward(x, wt, direct, b, c, h, w, kh, kw);
        for (int bc = 0; bc < b * c; bc++) {
            VectorDepthwise.forwardPadded(x, wt, (bc % c) * kh * kw, padded, bc * h * w, 1, h, w, kh, kw);
        }
        DepthwiseFloat.forwardPlain(x, wt, plain, b, c, h, w, kh, kw);
        assertArrayEquals(padded, direct, "direct against padded planes");
        for (int i = 0; i < x.length; i++) {
            assertEquals(plain[i], direct[i], 1e-5f * (1 + Math.abs(plain[i])), "against the plain loops at " + i);
        }
    }
}
