package org.transcnn.kernels;

import org.bytedeco.javacpp.FloatPointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * One {@link Gemm} shape over every image of a batch: {@code count} matrix products whose operands start
 * {@code aStride}, {@code bStride}, {@code cStride} elements apart (a stride of 0 shares the operand, e.g. the
 * weights), either each into its own output ({@link #each}, a 1x1 convolution's forward pass and input gradient) or
 * summed into one ({@link #sum}, its weight gradient).
 *
 * <p>Why not a loop over {@link Gemm#gemm}: OpenBLAS runs a product of {@code m*n*k <= }{@value #SERIAL_MAX} on the
 * calling thread alone (its {@code interface/gemm.c}: {@code SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD}), and
 * the per-image products of small maps (the Fashion-MNIST network's, at most 512 x 128 x 4 per image) are all
 * that small, so a plain loop leaves every core but one idle. Below that size the images are split into one
 * contiguous run per core, each run's products single-threaded OpenBLAS calls on its own core; above it the images
 * go one by one, each product on all of OpenBLAS's threads. A run also reuses its JavaCPP pointers, which a call of
 * {@link Gemm#gemm} creates anew. {@link #sum} adds the runs' partial sums in run order, so its result depends on the
 * number of cores (deterministic on one machine), not on thread timing.
 *
 * <p>Offsets and buffers as in {@link Gemm}. Written for float; the build generates the double twin
 * {@code GemmBatchDouble} (see {@link NormActFloat}).
 */
public final class GemmBatchFloat {

    /** The largest {@code m*n*k} that OpenBLAS computes on one thread. */
    public static final long SERIAL_MAX = 262_144;

    /** The cores, read once rather than on every call (a container's count can cost a cgroup read). */
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    /** Partial-sum buffers of {@link #sum}, reused across calls. */
    private static final FreeList<FloatBuffer> PARTIALS = new FreeList<>();

    private GemmBatchFloat() {
    }

    /**
     * For each i &lt; count: C_i = alpha op(A_i) op(B_i) + beta C_i, where X_i is the matrix at
     * {@code xOff + i * xStride}; the C_i must not overlap.
     */
    public static void each(int count, boolean transA, boolean transB, int m, int n, int k, float alpha,
            FloatBuffer a, long aOff, long aStride, int lda, FloatBuffer b, long bOff, long bStride, int ldb,
            float beta, FloatBuffer c, long cOff, long cStride, int ldc) {
        check(count, transA, transB, m, n, k, a, aOff, aStride, lda, b, bOff, bStride, ldb, c, cOff, cStride, ldc);
        int runs = runs(count, m, n, k);
        IntStream indices = IntStream.range(0, runs);
        (runs > 1 ? indices.parallel() : indices).forEach(r -> {
            try (FloatPointer pa = pointer(a); FloatPointer pb = pointer(b); FloatPointer pc = pointer(c)) {
                for (int i = start(r, runs, count); i < start(r + 1, runs, count); i++) {
                    Gemm.blas(transA, transB, m, n, k, alpha, pa, aOff + i * aStride, lda, pb, bOff + i * bStride,
                            ldb, beta, pc, cOff + i * cStride, ldc);
                }
            }
        });
    }

    /**
     * C = alpha (sum over i &lt; count of op(A_i) op(B_i)) + beta C, C [m x n] (leading dimension ldc, at cOff).
     */
    public static void sum(int count, boolean transA, boolean transB, int m, int n, int k, float alpha,
            FloatBuffer a, long aOff, long aStride, int lda, FloatBuffer b, long bOff, long bStride, int ldb,
            float beta, FloatBuffer c, long cOff, int ldc) {
        check(count, transA, transB, m, n, k, a, aOff, aStride, lda, b, bOff, bStride, ldb, c, cOff, 0, ldc);
        int runs = runs(count, m, n, k);
        int size = m * n;
        FloatBuffer[] partial = new FloatBuffer[runs];
        for (int r = 1; r < runs; r++) {
            partial[r] = PARTIALS.take(t -> t.capacity() >= size,
                    old -> ByteBuffer.allocateDirect(size * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer());
        }
        IntStream indices = IntStream.range(0, runs);
        (runs > 1 ? indices.parallel() : indices).forEach(r -> {
            FloatBuffer out = r == 0 ? c : partial[r];
            long outOff = r == 0 ? cOff : 0;
            int ld = r == 0 ? ldc : n;
            try (FloatPointer pa = pointer(a); FloatPointer pb = pointer(b); FloatPointer pc = pointer(out)) {
                int first = start(r, runs, count);
                for (int i = first; i < start(r + 1, runs, count); i++) {
                    float into = i > first ? 1f : r == 0 ? beta : 0f;
                    Gemm.blas(transA, transB, m, n, k, alpha, pa, aOff + i * aStride, lda, pb, bOff + i * bStride,
                            ldb, into, pc, outOff, ld);
                }
            }
        });
        for (int r = 1; r < runs; r++) {
            FloatBuffer p = partial[r];
            for (int row = 0; row < m; row++) {
                long at = cOff + (long) row * ldc;
                for (int col = 0; col < n; col++) {
                    c.put((int) (at + col), c.get((int) (at + col)) + p.get(row * n + col));
                }
            }
            PARTIALS.give(p);
        }
    }

    /** How many runs the images are split into: one per core for small products, else one. */
    static int runs(int count, int m, int n, int k) {
        return (long) m * n * k <= SERIAL_MAX ? Math.max(1, Math.min(count, CORES)) : 1;
    }

    /** The first image of run r of runs over count images (contiguous runs, sizes differing by at most one). */
    private static int start(int r, int runs, int count) {
        return (int) ((long) r * count / runs);
    }

    private static FloatPointer pointer(FloatBuffer buffer) {
        return new FloatPointer(buffer.duplicate().clear());
    }

    private static void check(int count, boolean transA, boolean transB, int m, int n, int k, FloatBuffer a,
            long aOff, long aStride, int lda, FloatBuffer b, long bOff, long bStride, int ldb, FloatBuffer c, long cOff,
            long cStride, int ldc) {
        if (count < 1 || aStride < 0 || bStride < 0 || cStride < 0) {
            throw new IllegalArgumentException("batched gemm needs count >= 1 and strides >= 0, got count " + count
                    + ", strides " + aStride + ", " + bStride + ", " + cStride);
        }
        long last = count - 1;
        Gemm.check(transA, transB, m, n, k, lda, ldb, ldc, a.capacity() - aOff - last * aStride,
                b.capacity() - bOff - last * bStride, c.capacity() - cOff - last * cStride);
    }
}
