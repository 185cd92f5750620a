package org.transcnn.layers;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Large double arrays for the Java kernels' temporaries (activations copied out of ND4J, patch matrices, outputs
 * before they are copied back), kept by exact length and reused on the next call of the same shape. Allocating them
 * afresh on every call made G1 treat each one as a humongous object and grow the heap during long training runs.
 * One pool serves every thread (a few synchronized operations per layer call), so that many threads running models
 * cannot keep more than {@link #MAX_POOLED_BYTES} between them. Arrays under {@link #MIN_POOLED} values are left to
 * the garbage collector. A caller takes an array, uses it only within the call, and gives it back exactly once;
 * after that it must not touch it.
 */
final class Scratch {

    /** Arrays shorter than this (32 KB of doubles) are ordinary allocations. */
    static final int MIN_POOLED = 1 << 12;

    /**
     * When the pooled arrays would exceed this many bytes (768 MB or a quarter of the Java heap, whichever is less),
     * the pool is emptied: shapes changed, or the models in use need more than the pool may keep.
     */
    static final long MAX_POOLED_BYTES = Math.min(768L << 20, Runtime.getRuntime().maxMemory() / 4);

    private static final Map<Integer, ArrayDeque<double[]>> FREE = new HashMap<>();
    private static long pooledBytes;

    private Scratch() {
    }

    /** An array of {@code n} values with unspecified contents. */
    static double[] take(int n) {
        double[] a = n < MIN_POOLED ? null : poll(n);
        return a != null ? a : new double[n];
    }

    /** An array of {@code n} zeros. */
    static double[] zeros(int n) {
        double[] a = n < MIN_POOLED ? null : poll(n);
        if (a == null) {
            return new double[n];
        }
        Arrays.fill(a, 0.0);
        return a;
    }

    /** Returns arrays for reuse; each array at most once (a {@code null} or a repeated argument is skipped). */
    static void give(double[]... arrays) {
        for (int i = 0; i < arrays.length; i++) {
            double[] a = arrays[i];
            if (a != null && a.length >= MIN_POOLED && !repeated(arrays, i)) {
                offer(a);
            }
        }
    }

    /** Empties the pool (its arrays go to the garbage collector). */
    static synchronized void clear() {
        FREE.clear();
        pooledBytes = 0;
    }

    /** Bytes held by the pool now. */
    static synchronized long pooledBytes() {
        return pooledBytes;
    }

    private static boolean repeated(double[][] arrays, int i) {
        for (int j = 0; j < i; j++) {
            if (arrays[j] == arrays[i]) {
                return true;
            }
        }
        return false;
    }

    private static synchronized double[] poll(int n) {
        ArrayDeque<double[]> q = FREE.get(n);
        double[] a = q == null ? null : q.pollLast();
        if (a != null) {
            pooledBytes -= 8L * n;
        }
        return a;
    }

    private static synchronized void offer(double[] a) {
        long size = 8L * a.length;
        if (pooledBytes + size > MAX_POOLED_BYTES) {
            clear();
            if (size > MAX_POOLED_BYTES) {
                return;
            }
        }
        FREE.computeIfAbsent(a.length, k -> new ArrayDeque<>()).addLast(a);
        pooledBytes += size;
    }
}
