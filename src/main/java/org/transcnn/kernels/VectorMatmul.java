package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention kernels' small matrix products ({@link AttentionFloat#multiply}, same contract: the left operand
 * read by index from a map) with the Vector API: blocks of 4 rows x 4 vectors of {@code c} stay in registers over
 * the whole inner dimension (16 accumulators: C2 on JDK 17 compiles up to 16 to registers and collapses above), then
 * blocks of 4 rows x 2 and 4 rows x 1 vector; the last columns (less than a vector) and the last rows (fewer than four) by the
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
        int quads = n / (4 * L) * (4 * L);
        int pairs = n / (2 * L) * (2 * L);
        int cols = n / L * L;
        for (int i = 0; i < rows; i += 4) {
            for (int j = 0; j < quads; j += 4 * L) {
                block4x4(c, src, ri, rp, b, i, j, k);
            }
            for (int j = quads; j < pairs; j += 2 * L) {
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

    /** 4 rows x 4 vectors of {@code c}: 16 accumulators, each broadcast of the left operand used four times. */
    private static void block4x4(float[][] c, float[] src, int[] ri, int[] rp, float[][] b, int i, int j, int k) {
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c03 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c13 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c22 = c00;
        FloatVector c23 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c32 = c00;
        FloatVector c33 = c00;
        int r0 = ri[i];
        int r1 = ri[i + 1];
        int r2 = ri[i + 2];
        int r3 = ri[i + 3];
        for (int p = 0; p < k; p++) {
            float[] bp = b[p];
            int o = rp[p];
            FloatVector b0 = FloatVector.fromArray(S, bp, j);
            FloatVector b1 = FloatVector.fromArray(S, bp, j + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, j + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, bp, j + 3 * L);
            FloatVector a = FloatVector.broadcast(S, src[r0 + o]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            c02 = b2.fma(a, c02);
            c03 = b3.fma(a, c03);
            a = FloatVector.broadcast(S, src[r1 + o]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            c12 = b2.fma(a, c12);
            c13 = b3.fma(a, c13);
            a = FloatVector.broadcast(S, src[r2 + o]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            c22 = b2.fma(a, c22);
            c23 = b3.fma(a, c23);
            a = FloatVector.broadcast(S, src[r3 + o]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            c32 = b2.fma(a, c32);
            c33 = b3.fma(a, c33);
        }
        float[] d0 = c[i];
        float[] d1 = c[i + 1];
        float[] d2 = c[i + 2];
        float[] d3 = c[i + 3];
        c00.intoArray(d0, j);
        c01.intoArray(d0, j + L);
        c02.intoArray(d0, j + 2 * L);
        c03.intoArray(d0, j + 3 * L);
        c10.intoArray(d1, j);
        c11.intoArray(d1, j + L);
        c12.intoArray(d1, j + 2 * L);
        c13.intoArray(d1, j + 3 * L);
        c20.intoArray(d2, j);
        c21.intoArray(d2, j + L);
        c22.intoArray(d2, j + 2 * L);
        c23.intoArray(d2, j + 3 * L);
        c30.intoArray(d3, j);
        c31.intoArray(d3, j + L);
        c32.intoArray(d3, j + 2 * L);
        c33.intoArray(d3, j + 3 * L);
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
