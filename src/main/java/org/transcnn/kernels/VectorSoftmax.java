package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention kernels' row-wise softmax and its backward pass ({@link AttentionFloat#softmaxRows},
 * {@link AttentionFloat#softmaxBackwardRows}, same contracts) with the Vector API:
 * the maximum and the sum as lane-wise reductions and the exponentials by the Vector API's {@code EXP} (HotSpot's
 * vector math library on x86), where Java 17 runs the plain loops' reductions scalar. The sum is kept in float (a few
 * hundred values in (0, 1] per row). Used only when {@link VectorSupport#AVAILABLE}.
 */
final class VectorSoftmax {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private VectorSoftmax() {
    }

    /** Double precision: the plain loops of the generated twin (the Vector API form is written for float). */
    static void rows(double[][] p, int rows, int n) {
        AttentionDouble.softmaxRows(p, rows, n);
    }

    static void rows(float[][] p, int rows, int n) {
        int bound = S.loopBound(n);
        for (int i = 0; i < rows; i++) {
            float[] pi = p[i];
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            int t = 0;
            for (; t < bound; t += S.length()) {
                m = m.max(FloatVector.fromArray(S, pi, t));
            }
            float max = m.reduceLanes(VectorOperators.MAX);
            for (; t < n; t++) {
                max = Math.max(max, pi[t]);
            }
            FloatVector sums = FloatVector.zero(S);
            for (t = 0; t < bound; t += S.length()) {
                FloatVector e = FloatVector.fromArray(S, pi, t).sub(max).lanewise(VectorOperators.EXP);
                e.intoArray(pi, t);
                sums = sums.add(e);
            }
            float sum = sums.reduceLanes(VectorOperators.ADD);
            for (; t < n; t++) {
                pi[t] = (float) Math.exp(pi[t] - max);
                sum += pi[t];
            }
            float inv = 1f / sum;
            for (t = 0; t < bound; t += S.length()) {
                FloatVector.fromArray(S, pi, t).mul(inv).intoArray(pi, t);
            }
            for (; t < n; t++) {
                pi[t] *= inv;
            }
        }
    }

    /** Double precision: the plain loops of the generated twin. */
    static void backward(double[][] dp, double[][] p, int rows, int n) {
        AttentionDouble.softmaxBackwardRows(dp, p, rows, n);
    }

    /** {@link AttentionFloat#softmaxBackward}: the row sum of {@code dp * p} as a lane-wise reduction. */
    static void backward(float[][] dp, float[][] p, int rows, int n) {
        int bound = S.loopBound(n);
        for (int i = 0; i < rows; i++) {
            float[] pi = p[i];
            float[] si = dp[i];
            FloatVector acc = FloatVector.zero(S);
            int t = 0;
            for (; t < bound; t += S.length()) {
                acc = FloatVector.fromArray(S, si, t).fma(FloatVector.fromArray(S, pi, t), acc);
            }
            float dot = acc.reduceLanes(VectorOperators.ADD);
            for (; t < n; t++) {
                dot += si[t] * pi[t];
            }
            for (t = 0; t < bound; t += S.length()) {
                FloatVector.fromArray(S, pi, t).mul(FloatVector.fromArray(S, si, t).sub(dot)).intoArray(si, t);
            }
            for (; t < n; t++) {
                si[t] = pi[t] * (si[t] - dot);
            }
        }
    }
}
