package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The per-channel sums of {@link NormActFloat} (same names, same contracts) with the Vector API: the loops that add
 * a plane at an offset into a row of partial sums, which Java 17's JIT runs scalar. Whole vectors here, the last
 * values of a plane by the plain loops; lane by lane the same IEEE operations in the same order as the plain loops
 * (separate multiplies and adds, no fused multiply-add), so the results are the same bits, interpreted or compiled.
 * The elementwise loops (normalise and activate, the activation's derivative, the input gradient) stay plain: C2
 * vectorises those itself, and they measured faster than their Vector API forms. Used only when
 * {@link VectorSupport#AVAILABLE}; the preferred species, as in the other Vector API kernels (a second vector shape
 * in one JVM made C2 give up on both here).
 */
final class VectorNormAct {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorNormAct() {
    }

    // Double precision: the plain loops of the generated twin (the Vector API forms are written for float).

    static void sums(double[] x, int b, int c, int ch, int plane, double[] acc) {
        NormActDouble.sums(x, b, c, ch, plane, acc);
    }

    static void squares(double[] x, int b, int c, int ch, int plane, double mean, double[] acc) {
        NormActDouble.squares(x, b, c, ch, plane, mean, acc);
    }

    static void gradientSums(double[] x, double[] dz, int base, int plane, double m, double inv, double[] sumDz,
            double[] sumDzXhat) {
        NormActDouble.gradientSums(x, dz, base, plane, m, inv, sumDz, sumDzXhat);
    }

    static void sums(float[] x, int b, int c, int ch, int plane, float[] acc) {
        int bound = S.loopBound(plane);
        for (int n = 0; n < b; n++) {
            int base = (n * c + ch) * plane;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector.fromArray(S, acc, i).add(FloatVector.fromArray(S, x, base + i)).intoArray(acc, i);
            }
            for (; i < plane; i++) {
                acc[i] += x[base + i];
            }
        }
    }

    static void squares(float[] x, int b, int c, int ch, int plane, float mean, float[] acc) {
        int bound = S.loopBound(plane);
        for (int n = 0; n < b; n++) {
            int base = (n * c + ch) * plane;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector d = FloatVector.fromArray(S, x, base + i).sub(mean);
                FloatVector.fromArray(S, acc, i).add(d.mul(d)).intoArray(acc, i);
            }
            for (; i < plane; i++) {
                float d = x[base + i] - mean;
                acc[i] += d * d;
            }
        }
    }

    static void gradientSums(float[] x, float[] dz, int base, int plane, float m, float inv, float[] sumDz,
            float[] sumDzXhat) {
        int bound = S.loopBound(plane);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector g = FloatVector.fromArray(S, dz, base + i);
            FloatVector.fromArray(S, sumDz, i).add(g).intoArray(sumDz, i);
            FloatVector.fromArray(S, sumDzXhat, i).add(g.mul(FloatVector.fromArray(S, x, base + i).sub(m).mul(inv)))
                    .intoArray(sumDzXhat, i);
        }
        for (; i < plane; i++) {
            float g = dz[base + i];
            sumDz[i] += g;
            sumDzXhat[i] += g * ((x[base + i] - m) * inv);
        }
    }
}
