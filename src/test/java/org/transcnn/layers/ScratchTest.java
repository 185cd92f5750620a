package org.transcnn.layers;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The kernels' array pool: reuse by exact length, zeroing on request, and no array handed out twice. */
class ScratchTest {

    @Test
    void largeArraysAreReusedAndZeroedOnRequest() {
        int n = Scratch.MIN_POOLED + 3;
        double[] a = Scratch.take(n);
        java.util.Arrays.fill(a, 7.0);
        Scratch.give(a);
        double[] b = Scratch.zeros(n);
        assertSame(a, b);
        for (double v : b) {
            assertEquals(0.0, v);
        }
        assertNotSame(b, Scratch.take(n), "an array already taken must not be handed out again");
        assertEquals(n + 1, Scratch.take(n + 1).length);
    }

    @Test
    void anArrayGivenTwiceInOneCallIsPooledOnce() {
        int n = Scratch.MIN_POOLED + 5;
        double[] a = Scratch.take(n);
        Scratch.give(a, null, a);
        assertSame(a, Scratch.take(n));
        assertNotSame(a, Scratch.take(n));
    }

    @Test
    void smallArraysAreNotPooled() {
        double[] a = Scratch.take(16);
        Scratch.give(a);
        assertNotSame(a, Scratch.take(16));
    }
}
