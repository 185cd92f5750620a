package org.transcnn.layers.runtime;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.kernels.BulkFloat;
import org.transcnn.kernels.FreeList;
import org.transcnn.kernels.GemmBatchDouble;
import org.transcnn.kernels.GemmBatchFloat;

import java.lang.ref.Reference;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Between ND4J arrays and the kernels: copies between ND4J arrays (FLOAT or DOUBLE, any layout) and Java float or
 * double arrays in C order, and the GEMMs of {@link GemmBatchFloat} on ND4J's buffers in place.
 */
public final class Buffers {


    /** Chunk buffers, reused across calls. */
    private static final FreeList<float[]> CHUNK_BUFFERS = new FreeList<>();

    private static float[] chunkBuffer() {
        return CHUNK_BUFFERS.take(chunk -> true, unused -> new float[BulkFloat.CHUNK]);
    }

    private Buffers() {
    }

    /** op(a) times op(b) into a new C-ordered matrix (op = transpose when the flag is set); a, b: 2-d matrices. */
    static INDArray gemm(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
        INDArray ca = cContiguous(a);
        INDArray cb = cContiguous(b);
        int rows = (int) (transposeA ? ca.columns() : ca.rows());
        int inner = (int) (transposeA ? ca.rows() : ca.columns());
        int cols = (int) (transposeB ? cb.rows() : cb.columns());
        INDArray c = Nd4j.createUninitialized(a.dataType(), new long[] {rows, cols}, 'c');
        gemm(1, transposeA, transposeB, rows, cols, inner, ca, 0, 0, (int) ca.columns(), cb, 0, 0, (int) cb.columns(), 0,
                c, 0, 0, cols);
        return c;
    }

    /**
     * {@link GemmBatchFloat#each} (or its double twin) on the buffers of C-contiguous FLOAT or DOUBLE arrays of one type
     * (see {@link #cContiguous}): {@code count} products, the i-th's matrices {@code xOff + i * xStride} elements into
     * the arrays (which may be views).
     */
    static void gemm(int count, boolean transA, boolean transB, int m, int n, int k, INDArray a, long aOff,
            long aStride, int lda, INDArray b, long bOff, long bStride, int ldb, double beta, INDArray c, long cOff,
            long cStride, int ldc) {
        blas(false, count, transA, transB, m, n, k, a, aOff, aStride, lda, b, bOff, bStride, ldb, beta, c, cOff,
                cStride, ldc);
    }

    /**
     * {@link GemmBatchFloat#sum} (or its double twin): {@code c = beta c + sum over i < count of op(a_i) op(b_i)},
     * on arrays as in {@link #gemm(int, boolean, boolean, int, int, int, INDArray, long, long, int, INDArray, long,
     * long, int, double, INDArray, long, long, int)}.
     */
    static void gemmSum(int count, boolean transA, boolean transB, int m, int n, int k, INDArray a, long aOff,
            long aStride, int lda, INDArray b, long bOff, long bStride, int ldb, double beta, INDArray c, long cOff,
            int ldc) {
        blas(true, count, transA, transB, m, n, k, a, aOff, aStride, lda, b, bOff, bStride, ldb, beta, c, cOff, 0,
                ldc);
    }

    private static void blas(boolean sum, int count, boolean transA, boolean transB, int m, int n, int k, INDArray a,
            long aOff, long aStride, int lda, INDArray b, long bOff, long bStride, int ldb, double beta, INDArray c,
            long cOff, long cStride, int ldc) {
        DataType t = c.dataType();
        if (a.dataType() != t || b.dataType() != t || !isCContiguous(a) || !isCContiguous(b) || !isCContiguous(c)) {
            throw new IllegalStateException("gemm needs C-contiguous arrays of one type, got " + a.dataType() + ", "
                    + b.dataType() + ", " + t);
        }
        try {
            if (t == DataType.FLOAT) {
                FloatBuffer fa = a.data().asNioFloat();
                FloatBuffer fb = b.data().asNioFloat();
                FloatBuffer fc = c.data().asNioFloat();
                if (sum) {
                    GemmBatchFloat.sum(count, transA, transB, m, n, k, 1f, fa, a.offset() + aOff, aStride, lda, fb,
                            b.offset() + bOff, bStride, ldb, (float) beta, fc, c.offset() + cOff, ldc);
                } else {
                    GemmBatchFloat.each(count, transA, transB, m, n, k, 1f, fa, a.offset() + aOff, aStride, lda, fb,
                            b.offset() + bOff, bStride, ldb, (float) beta, fc, c.offset() + cOff, cStride, ldc);
                }
            } else if (t == DataType.DOUBLE) {
                DoubleBuffer da = a.data().asNioDouble();
                DoubleBuffer db = b.data().asNioDouble();
                DoubleBuffer dc = c.data().asNioDouble();
                if (sum) {
                    GemmBatchDouble.sum(count, transA, transB, m, n, k, 1.0, da, a.offset() + aOff, aStride, lda, db,
                            b.offset() + bOff, bStride, ldb, beta, dc, c.offset() + cOff, ldc);
                } else {
                    GemmBatchDouble.each(count, transA, transB, m, n, k, 1.0, da, a.offset() + aOff, aStride, lda, db,
                            b.offset() + bOff, bStride, ldb, beta, dc, c.offset() + cOff, cStride, ldc);
                }
            } else {
                throw new IllegalStateException("gemm supports FLOAT and DOUBLE arrays, got " + t);
            }
        } finally {
            // the NIO views do not keep ND4J's memory alive
            Reference.reachabilityFence(a);
            Reference.reachabilityFence(b);
            Reference.reachabilityFence(c);
        }
    }

    /**
     * Sets every value of channel c of the fresh C-ordered FLOAT or DOUBLE array {@code out} [B, C, H, W] to
     * {@code values[c]} (a bias, before a GEMM adds onto it), in parallel over the C channels.
     */
    static void fillChannels(INDArray out, INDArray values) {
        if (!isDense(out) || out.rank() != 4 || values.length() != out.size(1)
                || (out.dataType() != DataType.FLOAT && out.dataType() != DataType.DOUBLE)) {
            throw new IllegalStateException("fillChannels needs a fresh C-ordered FLOAT or DOUBLE [B, C, H, W] array "
                    + "and C values");
        }
        int c = (int) out.size(1);
        int plane = (int) (out.size(2) * out.size(3));
        double[] v = values.castTo(DataType.DOUBLE).dup().data().asDouble();
        boolean isFloat = out.dataType() == DataType.FLOAT;
        FloatBuffer fb = isFloat ? out.data().asNioFloat() : null;
        DoubleBuffer db = isFloat ? null : out.data().asNioDouble();
        int batch = (int) out.size(0);
        // one filled row per channel, copied into the plane of every image
        IntStream.range(0, c).parallel().forEach(ch -> {
            if (isFloat) {
                float[] row = new float[plane];
                Arrays.fill(row, (float) v[ch]);
                for (int n = 0; n < batch; n++) {
                    fb.put((n * c + ch) * plane, row, 0, plane);
                }
            } else {
                double[] row = new double[plane];
                Arrays.fill(row, v[ch]);
                for (int n = 0; n < batch; n++) {
                    db.put((n * c + ch) * plane, row, 0, plane);
                }
            }
        });
        Reference.reachabilityFence(out);
    }

    /** True when {@code a} is laid out in C order without gaps (a view at any offset qualifies). */
    static boolean isCContiguous(INDArray a) {
        return a.ordering() == 'c' && Arrays.equals(a.stride(), Nd4j.getStrides(a.shape(), 'c'));
    }

    /** {@code a} itself when {@link #isCContiguous}, else a C-ordered copy. */
    static INDArray cContiguous(INDArray a) {
        return isCContiguous(a) ? a : a.dup('c');
    }

    /** The values of {@code a} in C order, in a {@link Scratch} array the caller gives back. */
    public static double[] read(INDArray a) {
        INDArray c = contiguous(a);
        if (c.dataType() != DataType.DOUBLE && c.dataType() != DataType.FLOAT) {
            return c.data().asDouble();
        }
        int n = (int) c.length();
        double[] out = Scratch.take(n);
        if (c.dataType() == DataType.DOUBLE) {
            c.data().asNioDouble().get(out, 0, n);
        } else {
            FloatBuffer b = c.data().asNioFloat();
            BulkFloat.chunks(n).forEach(start -> {
                int len = Math.min(BulkFloat.CHUNK, n - start);
                float[] chunk = chunkBuffer();
                b.get(start, chunk, 0, len);
                for (int i = 0; i < len; i++) {
                    out[start + i] = chunk[i];
                }
                CHUNK_BUFFERS.give(chunk);
            });
        }
        return out;
    }

    /** The values of the FLOAT array {@code a} in C order, in a {@link Scratch} float array the caller gives back. */
    public static float[] readFloats(INDArray a) {
        INDArray c = contiguous(a);
        if (c.dataType() != DataType.FLOAT) {
            throw new IllegalStateException("readFloats needs a FLOAT array, got " + c.dataType());
        }
        int n = (int) c.length();
        float[] out = Scratch.takeFloats(n);
        BulkFloat.get(c.data().asNioFloat(), out, n);
        Reference.reachabilityFence(c);
        return out;
    }

    /** Writes {@code values} (C order) into the C-ordered, offset-0 FLOAT array {@code out}; returns {@code out}. */
    public static INDArray write(float[] values, INDArray out) {
        if (!isDense(out) || out.length() != values.length || out.dataType() != DataType.FLOAT) {
            throw new IllegalStateException("output must be a fresh C-ordered FLOAT array of " + values.length);
        }
        BulkFloat.put(values, out.data().asNioFloat(), values.length);
        Reference.reachabilityFence(out);
        return out;
    }

    /** Writes {@code values} (C order) into the C-ordered, offset-0 array {@code out}; returns {@code out}. */
    public static INDArray write(double[] values, INDArray out) {
        if (!isDense(out) || out.length() != values.length) {
            throw new IllegalStateException("output must be a fresh C-ordered array of " + values.length);
        }
        if (out.dataType() == DataType.DOUBLE) {
            out.data().asNioDouble().put(values, 0, values.length);
        } else if (out.dataType() == DataType.FLOAT) {
            FloatBuffer b = out.data().asNioFloat();
            BulkFloat.chunks(values.length).forEach(start -> {
                int len = Math.min(BulkFloat.CHUNK, values.length - start);
                float[] chunk = chunkBuffer();
                for (int i = 0; i < len; i++) {
                    chunk[i] = (float) values[start + i];
                }
                b.put(start, chunk, 0, len);
                CHUNK_BUFFERS.give(chunk);
            });
        } else {
            out.data().setData(values);
        }
        return out;
    }

    /**
     * Copies {@code src} viewed as [a, b, run] (C order) into {@code dst} viewed as [b, a, run]: the first two axes
     * swapped, moving contiguous runs. Both arrays must be C-ordered, offset 0, FLOAT or DOUBLE and of equal type.
     */
    static void swapLeadingAxes(INDArray src, INDArray dst, int a, int b, int run) {
        if (!isDense(src) || !isDense(dst) || src.dataType() != dst.dataType() || src.length() != (long) a * b * run
                || dst.length() != src.length()) {
            throw new IllegalStateException("swapLeadingAxes needs two fresh C-ordered arrays of " + a + "x" + b + "x"
                    + run);
        }
        if (src.dataType() == DataType.FLOAT) {
            FloatBuffer in = src.data().asNioFloat();
            FloatBuffer out = dst.data().asNioFloat();
            for (int i = 0; i < a; i++) {
                for (int j = 0; j < b; j++) {
                    out.put((j * a + i) * run, in, (i * b + j) * run, run);
                }
            }
        } else if (src.dataType() == DataType.DOUBLE) {
            DoubleBuffer in = src.data().asNioDouble();
            DoubleBuffer out = dst.data().asNioDouble();
            for (int i = 0; i < a; i++) {
                for (int j = 0; j < b; j++) {
                    out.put((j * a + i) * run, in, (i * b + j) * run, run);
                }
            }
        } else {
            dst.assign(src.reshape('c', a, b, run).permute(1, 0, 2));
        }
    }

    /** {@code a} as a dense C-ordered array at the start of its buffer (itself when it already is one). */
    static INDArray contiguous(INDArray a) {
        return isDense(a) ? a : a.dup('c');
    }

    /** True when {@code a} has C-order default strides, offset 0 and a buffer of exactly its length. */
    static boolean isDense(INDArray a) {
        return !a.isView() && a.offset() == 0 && a.data().length() == a.length()
                && Arrays.equals(a.stride(), Nd4j.getStrides(a.shape(), 'c'));
    }
}
