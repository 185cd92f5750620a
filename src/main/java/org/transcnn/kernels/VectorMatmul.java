package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention kernels' small matrix products ({@link AttentionFloat#multiply}, same contract: the left operand
 * read by index from a map) with the Vector API: blocks of 4 rows x 2 vectors of {@code c} stay in registers over
 * the whole inner dimension (8 accumulators: C2 on JDK 17 compiles up to 16 to registers and collapses above), then
 * blocks of 4 rows x 1 vector; the last columns (less than a vector) and the last rows (fewer than four) by the
 * plain loops. Used only when
 * {@link VectorSupport#AVAILABLE}; the preferred species, so AVX2 machines get 8 lanes and AVX-512 ones 16.
 */
final class VectorMatmul {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorMatmul() {
    }

    /** Double precision: the plain loops of the generated twin (the Vector API form is written for float). */
    static void multiply(double[][] c, double[] src, int[] ri, int[] rp, double[][] b, int m, int k, int n) {
        AttentionDouble.multiply(c, src, ri, rp, b, m, k, n);
    }

    static void multiply(float[][] c, float[] src, int[] ri, int[] rp, float[][] b, int m, int k, int n) {
        int rows = m / 4 * 4;
        int pairs = n / (2 * L) * (2 * L);
        int cols = n / L * L;
        for (int i = 0; i < rows; i += 4) {
            for (int j = 0; j < pairs; j += 2 * L) {
                block4x2(c, src, ri, rp, b, i, j, k);
            }
            if (pairs < cols) {
                block4x1(c, src, ri, rp, b, i, pairs, k);
            }
        }
        if (cols < n) {
            AttentionFloat.multiply(c, src, ri, rp, b, 0, rows, k, cols, n);
        }
        AttentionFloat.multiply(c, src, ri, rp, b, rows, m, k, 0, n);
    }

    private static void block4x2(float[][] c, float[] src, int[] ri, int[] rp, float[][] b, int i, int j, int k) {
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        int r0 = ri[i];
        int r1 = ri[i + 1];
        int r2 = ri[i + 2];
        int r3 = ri[i + 3];
        for (int p = 0; p < k; p++) {
            float[] bp = b[p];
            int o = rp[p];
            FloatVector b0 = FloatVector.fromArray(S, bp, j);
            FloatVector b1 = FloatVector.fromArray(S, bp, j + L);
            FloatVector a0 = FloatVector.broadcast(S, src[r0 + o]);
            FloatVector a1 = FloatVector.broadcast(S, src[r1 + o]);
            FloatVector a2 = FloatVector.broadcast(S, src[r2 + o]);
            FloatVector a3 = FloatVector.broadcast(S, src[r3 + o]);
            c00 = b0.fma(a0, c00);
            c01 = b1.fma(a0, c01);
            c10 = b0.fma(a1, c10);
            c11 = b1.fma(a1, c11);
            c20 = b0.fma(a2, c20);
            c21 = b1.fma(a2, c21);
            c30 = b0.fma(a3, c30);
            c31 = b1.fma(a3, c31);
        }
        c00.intoArray(c[i], j);
        c01.intoArray(c[i], j + L);
        c10.intoArray(c[i + 1], j);
        c11.intoArray(c[i + 1], j + L);
        c20.intoArray(c[i + 2], j);
        c21.intoArray(c[i + 2], j + L);
        c30.intoArray(c[i + 3], j);
        c31.intoArray(c[i + 3], j + L);
    }

    /** {@link #block4x2} for one vector of columns. */
    private static void block4x1(float[][] c, float[] src, int[] ri, int[] rp, float[][] b, int i, int j, int k) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        int r0 = ri[i];
        int r1 = ri[i + 1];
        int r2 = ri[i + 2];
        int r3 = ri[i + 3];
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b[p], j);
            int o = rp[p];
            c0 = bv.fma(FloatVector.broadcast(S, src[r0 + o]), c0);
            c1 = bv.fma(FloatVector.broadcast(S, src[r1 + o]), c1);
            c2 = bv.fma(FloatVector.broadcast(S, src[r2 + o]), c2);
            c3 = bv.fma(FloatVector.broadcast(S, src[r3 + o]), c3);
        }
        c0.intoArray(c[i], j);
        c1.intoArray(c[i + 1], j);
        c2.intoArray(c[i + 2], j);
        c3.intoArray(c[i + 3], j);
    }
}
