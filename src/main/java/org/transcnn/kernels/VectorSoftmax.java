package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention kernels' column softmax and its backward pass ({@link AttentionFloat#softmaxColumns},
 * {@link AttentionFloat#softmaxColumnsBackward}, same contracts) with the Vector API, where Java 17 runs the plain
 * loops scalar (it does not vectorise their exponential). Each column is one lane, its maximum and sums taken over
 * the rows in order, and the exponential is {@link FastMath#expNonPositiveFloat}'s rational form in vector multiplies,
 * adds and one division: the same IEEE operations as the plain loops, so the same results, interpreted or compiled
 * (the Vector API's own {@code EXP} rounds differently in the two, which made two runs of one seeded training step
 * differ). Used only when {@link VectorSupport#AVAILABLE}.
 */
final class VectorSoftmax {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private VectorSoftmax() {
    }

    /** Double precision: the plain loops of the generated twin (the Vector API form is written for float). */
    static void columns(double[][] p, int rows, int n, double[] max, double[] sum) {
        AttentionDouble.softmaxColumns(p, rows, 0, n, max, sum);
    }

    /** Whole vectors of columns here, the last columns by the plain loops (lane for lane the same operations). */
    static void columns(float[][] p, int rows, int n, float[] max, float[] sum) {
        int bound = S.loopBound(n);
        for (int i = 0; i < bound; i += S.length()) {
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int t = 0; t < rows; t++) {
                m = m.max(FloatVector.fromArray(S, p[t], i));
            }
            FloatVector total = FloatVector.zero(S);
            for (int t = 0; t < rows; t++) {
                FloatVector e = exp(FloatVector.fromArray(S, p[t], i).sub(m));
                e.intoArray(p[t], i);
                total = total.add(e);
            }
            FloatVector inv = FloatVector.broadcast(S, 1f).div(total);
            for (int t = 0; t < rows; t++) {
                FloatVector.fromArray(S, p[t], i).mul(inv).intoArray(p[t], i);
            }
        }
        AttentionFloat.softmaxColumns(p, rows, bound, n, max, sum);
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

    /** Double precision: the plain loops of the generated twin. */
    static void columnsBackward(double[][] dp, double[][] p, int rows, int n, double[] dot) {
        AttentionDouble.softmaxColumnsBackward(dp, p, rows, 0, n, dot);
    }

    static void columnsBackward(float[][] dp, float[][] p, int rows, int n, float[] dot) {
        int bound = S.loopBound(n);
        for (int i = 0; i < bound; i += S.length()) {
            FloatVector sum = FloatVector.zero(S);
            for (int t = 0; t < rows; t++) {
                sum = sum.add(FloatVector.fromArray(S, dp[t], i).mul(FloatVector.fromArray(S, p[t], i)));
            }
            for (int t = 0; t < rows; t++) {
                FloatVector.fromArray(S, p[t], i).mul(FloatVector.fromArray(S, dp[t], i).sub(sum)).intoArray(dp[t], i);
            }
        }
        AttentionFloat.softmaxColumnsBackward(dp, p, rows, bound, n, dot);
    }
}
