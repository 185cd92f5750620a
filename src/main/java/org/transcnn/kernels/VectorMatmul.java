package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention kernels' small matrix products ({@link AttentionFloat#multiply}, same contract) with the Vector API:
 * blocks of 4 rows x 2 vectors of {@code c} stay in registers over the whole inner dimension (8 accumulators: C2 on
 * JDK 17 compiles up to 16 to registers and collapses above), the last columns under a mask. Used only when
 * {@link VectorSupport#AVAILABLE}; the preferred species, so AVX2 machines get 8 lanes and AVX-512 ones 16.
 */
final class VectorMatmul {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorMatmul() {
    }

    /** Double precision: the plain loops of the generated twin (the Vector API form is written for float). */
    static void multiply(double[][] c, double[][] a, boolean transposeA, double[][] b, int m, int k, int n) {
        AttentionDouble.multiply(c, a, transposeA, b, m, k, n);
    }

    private static float at(float[][] a, boolean transposeA, int i, int p) {
        return transposeA ? a[p][i] : a[i][p];
    }

    static void multiply(float[][] c, float[][] a, boolean transposeA, float[][] b, int m, int k, int n) {
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            int j = 0;
            for (; j + 2 * L <= n; j += 2 * L) {
                block4x2(c, a, transposeA, b, i, j, k);
            }
            for (; j < n; j += L) {
                block4x1(c, a, transposeA, b, i, j, k, S.indexInRange(j, n));
            }
        }
        for (; i < m; i++) {
            for (int j = 0; j < n; j += L) {
                VectorMask<Float> mask = S.indexInRange(j, n);
                FloatVector acc = FloatVector.zero(S);
                for (int p = 0; p < k; p++) {
                    acc = FloatVector.fromArray(S, b[p], j, mask).fma(FloatVector.broadcast(S, at(a, transposeA, i, p)),
                            acc);
                }
                acc.intoArray(c[i], j, mask);
            }
        }
    }

    private static void block4x2(float[][] c, float[][] a, boolean transposeA, float[][] b, int i, int j, int k) {
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        for (int p = 0; p < k; p++) {
            float[] bp = b[p];
            FloatVector b0 = FloatVector.fromArray(S, bp, j);
            FloatVector b1 = FloatVector.fromArray(S, bp, j + L);
            FloatVector a0 = FloatVector.broadcast(S, at(a, transposeA, i, p));
            FloatVector a1 = FloatVector.broadcast(S, at(a, transposeA, i + 1, p));
            FloatVector a2 = FloatVector.broadcast(S, at(a, transposeA, i + 2, p));
            FloatVector a3 = FloatVector.broadcast(S, at(a, transposeA, i + 3, p));
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

    private static void block4x1(float[][] c, float[][] a, boolean transposeA, float[][] b, int i, int j, int k,
            VectorMask<Float> mask) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b[p], j, mask);
            c0 = bv.fma(FloatVector.broadcast(S, at(a, transposeA, i, p)), c0);
            c1 = bv.fma(FloatVector.broadcast(S, at(a, transposeA, i + 1, p)), c1);
            c2 = bv.fma(FloatVector.broadcast(S, at(a, transposeA, i + 2, p)), c2);
            c3 = bv.fma(FloatVector.broadcast(S, at(a, transposeA, i + 3, p)), c3);
        }
        c0.intoArray(c[i], j, mask);
        c1.intoArray(c[i + 1], j, mask);
        c2.intoArray(c[i + 2], j, mask);
        c3.intoArray(c[i + 3], j, mask);
    }
}
