package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GemmTest {

    private static FloatBuffer floats(int n, Random r) {
        FloatBuffer b = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < n; i++) {
            b.put(i, (float) r.nextGaussian());
        }
        return b;
    }

    private static DoubleBuffer doubles(int n, Random r) {
        DoubleBuffer b = ByteBuffer.allocateDirect(8 * n).order(ByteOrder.nativeOrder()).asDoubleBuffer();
        for (int i = 0; i < n; i++) {
            b.put(i, r.nextGaussian());
        }
        return b;
    }

    /** Element (i, j) of op(X), X row-major with leading dimension ld at offset off. */
    private static double at(java.nio.Buffer x, long off, int ld, boolean trans, int i, int j) {
        int idx = (int) off + (trans ? j * ld + i : i * ld + j);
        return x instanceof FloatBuffer f ? f.get(idx) : ((DoubleBuffer) x).get(idx);
    }

    @ParameterizedTest
    @CsvSource({"false,false,5,7,3", "true,false,4,9,6", "false,true,8,3,5", "true,true,6,6,7", "false,false,1,1,1"})
    void matchesLoopsAtOffsetsInBothPrecisions(boolean ta, boolean tb, int m, int n, int k) {
        Random r = new Random(m * 31 + n * 7 + k);
        int lda = (ta ? m : k) + 2;
        int ldb = (tb ? k : n) + 1;
        int ldc = n + 3;
        int aOff = 5;
        int bOff = 3;
        int cOff = 7;
        int aLen = aOff + (ta ? k : m) * lda;
        int bLen = bOff + (tb ? n : k) * ldb;
        int cLen = cOff + m * ldc;
        FloatBuffer af = floats(aLen, r);
        FloatBuffer bf = floats(bLen, r);
        FloatBuffer cf = floats(cLen, r);
        DoubleBuffer ad = doubles(aLen, r);
        DoubleBuffer bd = doubles(bLen, r);
        DoubleBuffer cd = doubles(cLen, r);
        float[] cf0 = new float[cLen];
        cf.get(0, cf0);
        double[] cd0 = new double[cLen];
        cd.get(0, cd0);
        // positions are ignored: offsets are absolute (ND4J's view buffers come positioned at the view)
        af.position(2);
        bd.position(1);
        Gemm.gemm(ta, tb, m, n, k, 1.5f, af, aOff, lda, bf, bOff, ldb, 0.5f, cf, cOff, ldc);
        Gemm.gemm(ta, tb, m, n, k, 1.5, ad, aOff, lda, bd, bOff, ldb, 0.5, cd, cOff, ldc);
        for (int idx = 0; idx < cLen; idx++) {
            int i = (idx - cOff) / ldc;
            int j = (idx - cOff) % ldc;
            boolean inside = idx >= cOff && i < m && j < n;
            double sf = 0;
            double sd = 0;
            if (inside) {
                for (int p = 0; p < k; p++) {
                    sf += at(af, aOff, lda, ta, i, p) * at(bf, bOff, ldb, tb, p, j);
                    sd += at(ad, aOff, lda, ta, i, p) * at(bd, bOff, ldb, tb, p, j);
                }
            }
            double ef = inside ? 1.5 * sf + 0.5 * cf0[idx] : cf0[idx];
            double ed = inside ? 1.5 * sd + 0.5 * cd0[idx] : cd0[idx];
            assertEquals(ef, cf.get(idx), 1e-4 * (1 + Math.abs(ef)), "float C at " + idx);
            assertEquals(ed, cd.get(idx), 1e-12 * (1 + Math.abs(ed)), "double C at " + idx);
        }
    }

    @Test
    void refusesShapesOutsideTheBuffers() {
        Random r = new Random(1);
        FloatBuffer a = floats(12, r);
        FloatBuffer b = floats(12, r);
        FloatBuffer c = floats(9, r);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(false, false, 4, 4, 3, 1f, a, 0, 3, b, 0, 4, 0f, c, 0, 4));
        assertTrue(e.getMessage().contains("C [4 x 4, ld 4] needs 16 values past its offset, the buffer has 9"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(false, false, 3, 3, 3, 1f, a, 0, 2, b, 0, 3, 0f, c, 0, 3));
        assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(false, false, 3, 3, 0, 1f, a, 0, 3, b, 0, 3, 0f, c, 0, 3));
    }
}
