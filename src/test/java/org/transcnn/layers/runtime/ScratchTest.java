package org.transcnn.layers.runtime;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels' array pool: reuse by exact length for the layers, by the shortest array of at least the length (and at
 * most twice it) for the fused kernels' {@link org.transcnn.kernels.ArrayPool}s, zeroing on request, no array handed
 * out twice, and one bound on what it keeps however many threads use it.
 */
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
    void theKernelsPoolServesAShorterRequestFromTheShortestLongEnoughArray() {
        Scratch.clear();
        int n = Scratch.MIN_POOLED * 4;
        float[] shorter = new float[n];
        float[] longer = new float[n + 100];
        Scratch.give(longer, shorter);
        assertSame(shorter, Scratch.FLOATS.take(n - 7), "the shortest free array of at least the length");
        assertSame(longer, Scratch.FLOATS.take(n - 7));
        float[] fresh = Scratch.FLOATS.take(n - 7);
        assertEquals(n - 7, fresh.length, "none free: a new array of exactly the length");
        Scratch.give(fresh);
        assertNotSame(fresh, Scratch.takeFloats(n - 8), "the layers' takeFloats gives exactly the length asked");
        assertEquals(n - 8, Scratch.takeFloats(n - 8).length);
        Scratch.clear();
    }

    @Test
    void theKernelsPoolDoesNotHandOutMoreThanTwiceTheLength() {
        Scratch.clear();
        int n = Scratch.MIN_POOLED * 2;
        double[] big = new double[4 * n + 1];
        Scratch.give(big);
        assertEquals(2 * n, Scratch.DOUBLES.take(2 * n).length, "a 4n+1 array is not lent for 2n values");
        assertSame(big, Scratch.DOUBLES.take(2 * n + 1), "but is for 2n+1 (at most twice the length)");
        Scratch.clear();
        assertEquals(0, Scratch.pooledBytes());
    }

    @Test
    void smallArraysAreNotPooled() {
        double[] a = Scratch.take(16);
        Scratch.give(a);
        assertNotSame(a, Scratch.take(16));
    }

    @Test
    void manyThreadsTogetherStayWithinTheBound() throws InterruptedException {
        int n = (int) Math.min(Integer.MAX_VALUE - 8, Scratch.MAX_POOLED_BYTES / 8 / 24); // 32 arrays: 4/3 of the bound
        Thread[] threads = new Thread[16];
        CountDownLatch allTaken = new CountDownLatch(threads.length);
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Thread(() -> {
                double[] a = Scratch.take(n);
                double[] b = Scratch.take(n);
                allTaken.countDown();
                try {
                    allTaken.await(); // every thread holds its arrays before any gives them back
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                Scratch.give(a, b);
            });
            threads[i].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertTrue(Scratch.pooledBytes() <= Scratch.MAX_POOLED_BYTES,
                "pool holds " + Scratch.pooledBytes() + " bytes, bound " + Scratch.MAX_POOLED_BYTES);
        double[] reused = Scratch.take(n);
        Scratch.give(reused);
        assertSame(reused, Scratch.take(n), "an array given back on one thread serves the next taker");
        Scratch.clear();
        assertEquals(0, Scratch.pooledBytes());
    }
}
