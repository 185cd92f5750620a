package org.transcnn.layers;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Large double arrays for the Java kernels' temporaries (activations copied out of ND4J, patch matrices, outputs
 * before they are copied back), kept per thread by exact length and reused on the next call of the same shape.
 * Allocating them afresh on every call made G1 treat each one as a humongous object and grow the heap during long
 * training runs. Arrays under {@link #MIN_POOLED} values are left to the garbage collector. A caller takes an array,
 * uses it only within the call, and gives it back exactly once; after that it must not touch it.
 */
final class Scratch {

    /** Arrays shorter than this (32 KB of doubles) are ordinary allocations. */
    static final int MIN_POOLED = 1 << 12;

    /**
     * When the pooled arrays of one thread would exceed this many bytes (768 MB or a quarter of the Java heap,
     * whichever is less), the pool is emptied: shapes changed, or one step needs more than the pool may keep.
     */
    private static final long MAX_POOLED_BYTES = Math.min(768L << 20, Runtime.getRuntime().maxMemory() / 4);

    private static final ThreadLocal<Pool> POOL = ThreadLocal.withInitial(Pool::new);

    private Scratch() {
    }

    /** An array of {@code n} values with unspecified contents. */
    static double[] take(int n) {
        if (n < MIN_POOLED) {
            return new double[n];
        }
        double[] a = POOL.get().take(n);
        return a != null ? a : new double[n];
    }

    /** An array of {@code n} zeros. */
    static double[] zeros(int n) {
        if (n < MIN_POOLED) {
            return new double[n];
        }
        double[] a = POOL.get().take(n);
        if (a == null) {
            return new double[n];
        }
        Arrays.fill(a, 0.0);
        return a;
    }

    /** Returns arrays for reuse; each array at most once (a {@code null} or a repeated argument is skipped). */
    static void give(double[]... arrays) {
        Pool pool = null;
        for (int i = 0; i < arrays.length; i++) {
            double[] a = arrays[i];
            if (a == null || a.length < MIN_POOLED || repeated(arrays, i)) {
                continue;
            }
            if (pool == null) {
                pool = POOL.get();
            }
            pool.give(a);
        }
    }

    private static boolean repeated(double[][] arrays, int i) {
        for (int j = 0; j < i; j++) {
            if (arrays[j] == arrays[i]) {
                return true;
            }
        }
        return false;
    }

    /** Free arrays of one thread by length. */
    private static final class Pool {
        private final Map<Integer, ArrayDeque<double[]>> free = new HashMap<>();
        private long bytes;

        double[] take(int n) {
            ArrayDeque<double[]> q = free.get(n);
            double[] a = q == null ? null : q.pollLast();
            if (a != null) {
                bytes -= 8L * n;
            }
            return a;
        }

        void give(double[] a) {
            if (bytes + 8L * a.length > MAX_POOLED_BYTES) {
                free.clear();
                bytes = 0;
            }
            free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).addLast(a);
            bytes += 8L * a.length;
        }
    }
}
