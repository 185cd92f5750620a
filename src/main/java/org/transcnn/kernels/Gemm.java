package org.transcnn.kernels;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

/**
 * Level-3 matrix multiply {@code C = alpha op(A) op(B) + beta C} on row-major matrices held in direct NIO buffers
 * (ND4J's off-heap memory), at element offsets into them, with OpenBLAS's {@code cblas_sgemm} / {@code cblas_dgemm}
 * on every core.
 *
 * <p>Why not ND4J's {@code mmul}: it needs an INDArray per operand (a view per image of a batch), computes into a
 * Fortran-ordered temporary when asked for C order, and its matmul op ran the 1x1-convolution shapes on one thread.
 * Calling the OpenBLAS that this library depends on directly multiplies each image of an NCHW batch in place:
 * image b of [B, C, H, W] is the row-major matrix [C, H*W] at offset b*C*H*W.
 *
 * <p>Offsets are absolute indices into the buffers: their positions are ignored (ND4J sets a view's buffer position to
 * the view's offset). The buffers must be direct (as ND4J's are); the caller keeps the arrays that own them reachable
 * until the call returns.
 */
public final class Gemm {

    static {
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(Runtime.getRuntime().availableProcessors());
    }

    private Gemm() {
    }

    /**
     * C[m x n] (leading dimension ldc, at cOff) = alpha op(A)[m x k] op(B)[k x n] + beta C, where op(A) is A[m x k]
     * (lda) or, with {@code transA}, the transpose of A[k x m]; likewise B. One product of
     * {@link GemmBatchFloat#each}.
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a,
            long aOff, int lda, FloatBuffer b, long bOff, int ldb, float beta, FloatBuffer c, long cOff, int ldc) {
        GemmBatchFloat.each(1, transA, transB, m, n, k, alpha, a, aOff, 0, lda, b, bOff, 0, ldb, beta, c, cOff, 0,
                ldc);
    }

    /** The double-precision form of {@link #gemm(boolean, boolean, int, int, int, float, FloatBuffer, long, int,
     *  FloatBuffer, long, int, float, FloatBuffer, long, int)}. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, DoubleBuffer a,
            long aOff, int lda, DoubleBuffer b, long bOff, int ldb, double beta, DoubleBuffer c, long cOff, int ldc) {
        GemmBatchDouble.each(1, transA, transB, m, n, k, alpha, a, aOff, 0, lda, b, bOff, 0, ldb, beta, c, cOff, 0,
                ldc);
    }

    /** cblas_sgemm on JavaCPP pointers at element offsets (set as their positions); checked by the caller. */
    static void blas(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatPointer a, long aOff,
            int lda, FloatPointer b, long bOff, int ldb, float beta, FloatPointer c, long cOff, int ldc) {
        openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, op(transA), op(transB), m, n, k, alpha,
                a.position(aOff), lda, b.position(bOff), ldb, beta, c.position(cOff), ldc);
    }

    /** cblas_dgemm on JavaCPP pointers at element offsets (set as their positions); checked by the caller. */
    static void blas(boolean transA, boolean transB, int m, int n, int k, double alpha, DoublePointer a, long aOff,
            int lda, DoublePointer b, long bOff, int ldb, double beta, DoublePointer c, long cOff, int ldc) {
        openblas_nolapack.cblas_dgemm(openblas_nolapack.CblasRowMajor, op(transA), op(transB), m, n, k, alpha,
                a.position(aOff), lda, b.position(bOff), ldb, beta, c.position(cOff), ldc);
    }

    private static int op(boolean transpose) {
        return transpose ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
    }

    /** Refuses shapes that would make OpenBLAS read or write outside the buffers (it does not check). */
    static void check(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc,
            long aAvail, long bAvail, long cAvail) {
        if (m < 1 || n < 1 || k < 1) {
            throw new IllegalArgumentException("gemm needs m, n, k >= 1, got " + m + ", " + n + ", " + k);
        }
        need("A", transA ? k : m, transA ? m : k, lda, aAvail);
        need("B", transB ? n : k, transB ? k : n, ldb, bAvail);
        need("C", m, n, ldc, cAvail);
    }

    private static void need(String name, int rows, int cols, int ld, long available) {
        if (ld < cols) {
            throw new IllegalArgumentException("gemm: leading dimension of " + name + " is " + ld + ", less than its "
                    + cols + " columns");
        }
        long last = (long) (rows - 1) * ld + cols;
        if (last > available) {
            throw new IllegalArgumentException("gemm: " + name + " [" + rows + " x " + cols + ", ld " + ld
                    + "] needs " + last + " values past its offset, the buffer has " + available);
        }
    }
}
