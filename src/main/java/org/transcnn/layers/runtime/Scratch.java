package org.transcnn.layers.runtime;

import org.transcnn.kernels.ArrayPool;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Large double and float arrays for the Java kernels' temporaries (activations copied out of ND4J, patch matrices, outputs
 * before they are copied back), kept by length and reused on later calls. Allocating them afresh on every call made G1
 * treat each one as a humongous object and grow the heap during long training runs. {@link #take}, {@link #takeFloats}
 * and the zeros variants give arrays of exactly the length asked for (their callers use {@code length}); the fused
 * kernels' {@link ArrayPool}s ({@link #FLOATS}, {@link #DOUBLES}) give the shortest free array of at least the length
 * asked for and at most twice it, so that one stage's arrays serve the next stage's smaller maps and the pool holds
 * about what one kernel call has in use at once rather than one array per shape of the network.
 * One pool serves every thread (a few synchronized operations per layer call), so that many threads running models
 * cannot keep more than {@link #MAX_POOLED_BYTES} between them. Arrays under {@link #MIN_POOLED} values are left to
 * the garbage collector. A caller takes an array, uses it only within the call, and gives it back exactly once;
 * after that it must not touch it.
 */
public final class Scratch {

    /** Arrays shorter than this (32 KB of doubles) are ordinary allocations. */
    static final int MIN_POOLED = 1 << 12;

    /**
     * When the pooled arrays would exceed this many bytes (768 MB or a quarter of the Java heap, whichever is less),
     * the pool is emptied: shapes changed, or the models in use need more than the pool may keep.
     */
    static final long MAX_POOLED_BYTES = Math.min(768L << 20, Runtime.getRuntime().maxMemory() / 4);

    /** Free float arrays by length. */
    private static final TreeMap<Integer, ArrayDeque<Object>> FREE_FLOATS = new TreeMap<>();

    /** Free double arrays by length. */
    private static final TreeMap<Integer, ArrayDeque<Object>> FREE_DOUBLES = new TreeMap<>();

    /** This pool as the kernels' {@link ArrayPool} of float arrays: at least, and at most twice, the length asked. */
    static final ArrayPool<float[]> FLOATS = new ArrayPool<>() {
        @Override
        public float[] take(int n) {
            float[] a = n < MIN_POOLED ? null : (float[]) pollAtLeast(new Key(true, n));
            return a != null ? a : new float[n];
        }

        @Override
        public void give(float[] array) {
            Scratch.give(array);
        }
    };

    /** This pool as the kernels' {@link ArrayPool} of double arrays: at least, and at most twice, the length asked. */
    static final ArrayPool<double[]> DOUBLES = new ArrayPool<>() {
        @Override
        public double[] take(int n) {
            double[] a = n < MIN_POOLED ? null : (double[]) pollAtLeast(new Key(false, n));
            return a != null ? a : new double[n];
        }

        @Override
        public void give(double[] array) {
            Scratch.give(array);
        }
    };
    private static long pooledBytes;

    private record Key(boolean isFloat, int length) {
        long bytes() {
            return (isFloat ? 4L : 8L) * length;
        }

        TreeMap<Integer, ArrayDeque<Object>> free() {
            return isFloat ? FREE_FLOATS : FREE_DOUBLES;
        }
    }

    private Scratch() {
    }

    /** An array of {@code n} values with unspecified contents. */
    public static double[] take(int n) {
        double[] a = n < MIN_POOLED ? null : (double[]) poll(new Key(false, n));
        return a != null ? a : new double[n];
    }

    /** A float array of {@code n} values with unspecified contents. */
    public static float[] takeFloats(int n) {
        float[] a = n < MIN_POOLED ? null : (float[]) poll(new Key(true, n));
        return a != null ? a : new float[n];
    }

    /** An array of {@code n} zeros. */
    public static double[] zeros(int n) {
        double[] a = n < MIN_POOLED ? null : (double[]) poll(new Key(false, n));
        if (a == null) {
            return new double[n];
        }
        Arrays.fill(a, 0.0);
        return a;
    }

    /** A float array of {@code n} zeros. */
    public static float[] zerosFloats(int n) {
        float[] a = n < MIN_POOLED ? null : (float[]) poll(new Key(true, n));
        if (a == null) {
            return new float[n];
        }
        Arrays.fill(a, 0);
        return a;
    }

    /** Returns arrays for reuse; each array at most once (a {@code null} or a repeated argument is skipped). */
    public static void give(double[]... arrays) {
        for (int i = 0; i < arrays.length; i++) {
            double[] a = arrays[i];
            if (a != null && a.length >= MIN_POOLED && !repeated(arrays, i)) {
                offer(new Key(false, a.length), a);
            }
        }
    }

    /** {@link #give(double[]...)} for float arrays. */
    public static void give(float[]... arrays) {
        for (int i = 0; i < arrays.length; i++) {
            float[] a = arrays[i];
            if (a != null && a.length >= MIN_POOLED && !repeated(arrays, i)) {
                offer(new Key(true, a.length), a);
            }
        }
    }

    /** Empties the pool (its arrays go to the garbage collector). */
    static synchronized void clear() {
        FREE_FLOATS.clear();
        FREE_DOUBLES.clear();
        pooledBytes = 0;
    }

    /** Bytes held by the pool now. */
    static synchronized long pooledBytes() {
        return pooledBytes;
    }

    private static boolean repeated(Object[] arrays, int i) {
        for (int j = 0; j < i; j++) {
            if (arrays[j] == arrays[i]) {
                return true;
            }
        }
        return false;
    }

    /** The shortest free array of {@code key}'s type with a length in [key.length, maxLength], or null. */
    private static synchronized Object poll(Key key, int maxLength) {
        for (Map.Entry<Integer, ArrayDeque<Object>> e : key.free().subMap(key.length(), true, maxLength, true).entrySet()) {
            Object a = e.getValue().pollLast();
            if (a != null) {
                pooledBytes -= new Key(key.isFloat(), e.getKey()).bytes();
                return a;
            }
        }
        return null;
    }

    /** {@link #poll(Key, int)} of the exact length. */
    private static Object poll(Key key) {
        return poll(key, key.length());
    }

    /** {@link #poll(Key, int)} of at most twice the length. */
    private static Object pollAtLeast(Key key) {
        return poll(key, (int) Math.min(Integer.MAX_VALUE, 2L * key.length()));
    }

    private static synchronized void offer(Key key, Object a) {
        long size = key.bytes();
        if (pooledBytes + size > MAX_POOLED_BYTES) {
            clear();
            if (size > MAX_POOLED_BYTES) {
                return;
            }
        }
        key.free().computeIfAbsent(key.length(), k -> new ArrayDeque<>()).addLast(a);
        pooledBytes += size;
    }
}
