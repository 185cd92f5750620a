package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention kernels' row-wise softmax and its backward pass ({@link AttentionFloat#softmaxRows},
 * {@link AttentionFloat#softmaxBackwardRows}, same contracts) with the Vector API, where Java 17 runs the plain loops'
 * reductions scalar: the maximum, the sums and the dot products accumulate lane by lane, and the exponential is
 * {@link FastMath#expNonPositiveFloat}'s rational form in vector multiplies and adds.
 *
 * <p>Every result is the same whichever way the JIT runs this code. The Vector API's own {@code EXP} and
 * {@code reduceLanes(ADD)} round differently when interpreted and when compiled, which made two runs of one seeded
 * training step differ. So the exponential uses plain multiplies, adds and one division (exact IEEE operations in
 * both tiers), and the lanes of a sum are added in lane order by scalar code. The sums are kept in float (a few
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
        float[] lanes = new float[S.length()];
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
                FloatVector e = exp(FloatVector.fromArray(S, pi, t).sub(max));
                e.intoArray(pi, t);
                sums = sums.add(e);
            }
            float sum = inLaneOrder(sums, lanes);
            for (; t < n; t++) {
                pi[t] = FastMath.expNonPositiveFloat(pi[t] - max);
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

    /** {@link FastMath#expNonPositiveFloat} lane by lane, operation for operation. */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.mul(0.5f).max(-FastMath.TANH_CLAMP).min(FastMath.TANH_CLAMP);
        FloatVector x2 = c.mul(c);
        FloatVector p = c.mul(x2.mul(FastMath.P13).add(FastMath.P11).mul(x2).add(FastMath.P9).mul(x2)
                .add(FastMath.P7).mul(x2).add(FastMath.P5).mul(x2).add(FastMath.P3).mul(x2).add(FastMath.P1));
        FloatVector q = x2.mul(FastMath.Q6).add(FastMath.Q4).mul(x2).add(FastMath.Q2).mul(x2).add(FastMath.Q0);
        return q.add(p).div(q.sub(p));
    }

    /** The sum of the lanes of {@code v}, added in lane order (the same result interpreted and compiled). */
    private static float inLaneOrder(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        float sum = 0;
        for (float x : lanes) {
            sum += x;
        }
        return sum;
    }

    /** Double precision: the plain loops of the generated twin. */
    static void backward(double[][] dp, double[][] p, int rows, int n) {
        AttentionDouble.softmaxBackwardRows(dp, p, rows, n);
    }

    /** {@link AttentionFloat#softmaxBackward}: the row sum of {@code dp * p} accumulated lane by lane. */
    static void backward(float[][] dp, float[][] p, int rows, int n) {
        int bound = S.loopBound(n);
        float[] lanes = new float[S.length()];
        for (int i = 0; i < rows; i++) {
            float[] pi = p[i];
            float[] si = dp[i];
            FloatVector acc = FloatVector.zero(S);
            int t = 0;
            for (; t < bound; t += S.length()) {
                acc = FloatVector.fromArray(S, si, t).fma(FloatVector.fromArray(S, pi, t), acc);
            }
            float dot = inLaneOrder(acc, lanes);
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
