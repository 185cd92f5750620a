package org.transcnn.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link GemmBatchFloat} and its double twin against plain loops: small products (split over the cores) and one
 * above {@link GemmBatchFloat#SERIAL_MAX} (one by one), operands shared (stride 0) or strided with gaps.
 */
class GemmBatchTest {

    private static DoubleBuffer doubles(int n, Random r) {
        DoubleBuffer b = ByteBuffer.allocateDirect(8 * n).order(ByteOrder.nativeOrder()).asDoubleBuffer();
        for (int i = 0; i < n; i++) {
            b.put(i, r.nextGaussian());
        }
        return b;
    }

    private static FloatBuffer floats(DoubleBuffer d) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * d.capacity()).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < d.capacity(); i++) {
            b.put(i, (float) d.get(i));
        }
        return b;
    }

    /** Element (i, j) of op(X) for X row-major with leading dimension ld at offset off. */
    private static double at(DoubleBuffer x, long off, int ld, boolean trans, int i, int j) {
        return x.get((int) off + (trans ? j * ld + i : i * ld + j));
    }

    private static double product(DoubleBuffer a, long aOff, int lda, boolean ta, DoubleBuffer b, long bOff, int ldb,
            boolean tb, int k, int i, int j) {
        double s = 0;
        for (int p = 0; p < k; p++) {
            s += at(a, aOff, lda, ta, i, p) * at(b, bOff, ldb, tb, p, j);
        }
        return s;
    }

    @ParameterizedTest(name = "count {0}, transA {1}, transB {2}, m {3} n {4} k {5}, A shared {6}")
    @CsvSource({"7,false,false,6,9,5,true", "5,true,false,4,7,3,false", "3,false,true,5,4,6,false",
            "8,true,true,3,5,4,true", "1,false,false,2,3,4,false", "3,false,false,64,64,65,true"})
    void eachMatchesLoops(int count, boolean ta, boolean tb, int m, int n, int k, boolean shared) {
        Random r = new Random(count * 131 + m * 31 + n * 7 + k);
        int lda = (ta ? m : k) + 1;
        int ldb = (tb ? k : n) + 2;
        int ldc = n + 1;
        long aStride = shared ? 0 : (long) (ta ? k : m) * lda + 3;
        long bStride = (long) (tb ? n : k) * ldb + 1;
        long cStride = (long) m * ldc + 2;
        long aOff = 2;
        long bOff = 4;
        long cOff = 3;
        DoubleBuffer a = doubles((int) (aOff + (count - 1) * aStride + (ta ? k : m) * lda), r);
        DoubleBuffer b = doubles((int) (bOff + (count - 1) * bStride + (tb ? n : k) * ldb), r);
        DoubleBuffer c = doubles((int) (cOff + count * cStride), r);
        FloatBuffer af = floats(a);
        FloatBuffer bf = floats(b);
        FloatBuffer cf = floats(c);
        DoubleBuffer expected = doubles(c.capacity(), r);
        for (int idx = 0; idx < c.capacity(); idx++) {
            expected.put(idx, c.get(idx));
        }
        for (int x = 0; x < count; x++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int idx = (int) (cOff + x * cStride + i * ldc + j);
                    expected.put(idx, 1.5 * product(a, aOff + x * aStride, lda, ta, b, bOff + x * bStride, ldb, tb,
                            k, i, j) + 0.5 * c.get(idx));
                }
            }
        }
        GemmBatchFloat.each(count, ta, tb, m, n, k, 1.5f, af, aOff, aStride, lda, bf, bOff, bStride, ldb, 0.5f, cf,
                cOff, cStride, ldc);
        GemmBatchDouble.each(count, ta, tb, m, n, k, 1.5, a, aOff, aStride, lda, b, bOff, bStride, ldb, 0.5, c, cOff,
                cStride, ldc);
        for (int idx = 0; idx < c.capacity(); idx++) {
            double e = expected.get(idx);
            assertEquals(e, c.get(idx), 1e-12 * (1 + Math.abs(e)) * k, "double C at " + idx);
            assertEquals(e, cf.get(idx), 1e-5 * (1 + Math.abs(e)) * k, "float C at " + idx);
        }
    }

    @ParameterizedTest(name = "count {0}, transA {1}, transB {2}, m {3} n {4} k {5}, beta {6}")
    @CsvSource({"9,false,true,6,5,8,0", "4,true,true,3,7,5,1", "5,false,false,7,1,9,0.25", "2,true,false,4,4,4,0",
            "1,false,true,3,3,3,1", "3,false,true,64,65,64,0.5"})
    void sumMatchesLoops(int count, boolean ta, boolean tb, int m, int n, int k, double beta) {
        Random r = new Random(count * 17 + m * 13 + n * 5 + k);
        int lda = (ta ? m : k) + 2;
        int ldb = tb ? k : n;
        int ldc = n + 2;
        long aStride = (long) (ta ? k : m) * lda + 1;
        long bStride = (long) (tb ? n : k) * ldb;
        long aOff = 1;
        long bOff = 0;
        long cOff = 5;
        DoubleBuffer a = doubles((int) (aOff + count * aStride), r);
        DoubleBuffer b = doubles((int) (bOff + count * bStride), r);
        DoubleBuffer c = doubles((int) (cOff + m * ldc + 4), r);
        FloatBuffer af = floats(a);
        FloatBuffer bf = floats(b);
        FloatBuffer cf = floats(c);
        double[] expected = new double[c.capacity()];
        for (int idx = 0; idx < expected.length; idx++) {
            expected[idx] = c.get(idx);
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int x = 0; x < count; x++) {
                    s += product(a, aOff + x * aStride, lda, ta, b, bOff + x * bStride, ldb, tb, k, i, j);
                }
                int idx = (int) (cOff + i * ldc + j);
                expected[idx] = 2 * s + beta * c.get(idx);
            }
        }
        GemmBatchFloat.sum(count, ta, tb, m, n, k, 2f, af, aOff, aStride, lda, bf, bOff, bStride, ldb, (float) beta,
                cf, cOff, ldc);
        GemmBatchDouble.sum(count, ta, tb, m, n, k, 2.0, a, aOff, aStride, lda, b, bOff, bStride, ldb, beta, c, cOff,
                ldc);
        for (int idx = 0; idx < expected.length; idx++) {
            double e = expected[idx];
            assertEquals(e, c.get(idx), 1e-12 * (1 + Math.abs(e)) * k * count, "double C at " + idx);
            assertEquals(e, cf.get(idx), 1e-5 * (1 + Math.abs(e)) * k * count, "float C at " + idx);
        }
    }

    @Test
    void splitsOnlyProductsThatOpenBlasRunsOnOneThread() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(Math.min(cores, 128), GemmBatchFloat.runs(128, 64, 256, 16));
        assertEquals(1, GemmBatchFloat.runs(128, 64, 256, 17));
        assertEquals(1, GemmBatchFloat.runs(1, 4, 4, 4));
    }

    @Test
    void refusesBatchesOutsideTheBuffers() {
        Random r = new Random(3);
        FloatBuffer a = floats(doubles(12, r));
        FloatBuffer b = floats(doubles(24, r));
        FloatBuffer c = floats(doubles(17, r));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GemmBatchFloat.each(2, false, false, 3, 3, 4, 1f, a, 0, 0, 4, b, 0, 12, 3, 0f, c, 0, 9, 3));
        assertTrue(e.getMessage().contains("C [3 x 3, ld 3] needs 9 values past its offset, the buffer has 8"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> GemmBatchFloat.sum(3, false, false, 3, 3, 4, 1f, a, 0, 0, 4, b, 0, 12, 3, 0f, c, 0, 3));
        assertThrows(IllegalArgumentException.class,
                () -> GemmBatchFloat.sum(0, false, false, 3, 3, 4, 1f, a, 0, 0, 4, b, 0, 12, 3, 0f, c, 0, 3));
    }
}
