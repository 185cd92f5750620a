package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Inner loops of {@link NormActFloat} (same names, same contracts) with the Vector API: the per-channel sums, whose
 * loops add a plane at an offset into a row of partial sums and which Java 17's JIT runs scalar, the forward loop
 * (normalise and activate) and the derivative loop of planes shorter than {@link NormActFloat#VECTOR_BELOW}. Whole
 * vectors here, the last values of a plane by the plain loops; lane by lane the same IEEE operations in the same order as the plain loops (separate multiplies
 * and adds, no fused multiply-add, {@link FastMath#sigmoidFloat}'s rational form), so the results are the same bits,
 * interpreted or compiled, whichever path a plane takes. Used only when {@link VectorSupport#AVAILABLE}; the
 * preferred species, as in the other Vector API kernels (a second vector shape in one JVM made C2 give up on both
 * here).
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

    static void apply(double[] x, double[] y, int from, int to, double s, double t, Activation act) {
        NormActDouble.apply(x, y, from, to, s, t, act);
    }

    static void activationGradient(double[] x, double[] dy, double[] dx, int from, int to, double s, double t,
            Activation act) {
        NormActDouble.activationGradient(x, dy, dx, from, to, s, t, act);
    }

    static void applyRows(double[] x, double[] y, int base, double[] s, double[] t, int n, Activation act) {
        NormActDouble.applyRows(x, y, base, s, t, 0, n, act);
    }

    static void activationGradientRows(double[] x, double[] dy, double[] dx, int base, double[] s, double[] t, int n,
            Activation act) {
        NormActDouble.activationGradientRows(x, dy, dx, base, s, t, 0, n, act);
    }

    static double runSum(double[] x, int n) {
        return NormActDouble.runSum(x, n);
    }

    static double runSquares(double[] x, int n, double mean) {
        return NormActDouble.runSquares(x, n, mean);
    }

    static void runGradientSums(double[] x, double[] dz, int n, double m, double inv, double[] sums) {
        NormActDouble.runGradientSums(x, dz, n, m, inv, sums);
    }

    /*
     * The run sums go one run of at most RUN values per call of a short method, whose vector of lane sums is stored
     * and its lanes added in double by the caller: with a vector carried through a loop over a whole channel, or
     * reduceLanes, the JIT boxed the vector on every iteration in some runs, for good.
     */

    /** {@link NormActFloat#runSum}: vector lanes over runs of {@link NormActFloat#RUN} values. */
    static double runSum(float[] x, int n) {
        double total = 0;
        int bound = S.loopBound(n);
        float[] lanes = new float[L];
        for (int i = 0; i < bound; i += NormActFloat.RUN) {
            sum(x, i, Math.min(bound, i + NormActFloat.RUN), lanes);
            total += lanes(lanes, 0);
        }
        for (int i = bound; i < n; i++) {
            total += x[i];
        }
        return total;
    }

    /** The sum of {@code lanes[from, from + L)} in double. */
    private static double lanes(float[] lanes, int from) {
        double total = 0;
        for (int i = from; i < from + L; i++) {
            total += lanes[i];
        }
        return total;
    }

    private static void sum(float[] x, int from, int to, float[] lanes) {
        FloatVector a = FloatVector.zero(S);
        for (int i = from; i < to; i += L) {
            a = a.add(FloatVector.fromArray(S, x, i));
        }
        a.intoArray(lanes, 0);
    }

    /** {@link NormActFloat#runSquares}, summed as in {@link #runSum}. */
    static double runSquares(float[] x, int n, float mean) {
        double total = 0;
        int bound = S.loopBound(n);
        float[] lanes = new float[L];
        for (int i = 0; i < bound; i += NormActFloat.RUN) {
            squares(x, i, Math.min(bound, i + NormActFloat.RUN), mean, lanes);
            total += lanes(lanes, 0);
        }
        for (int i = bound; i < n; i++) {
            float d = x[i] - mean;
            total += d * d;
        }
        return total;
    }

    private static void squares(float[] x, int from, int to, float mean, float[] lanes) {
        FloatVector a = FloatVector.zero(S);
        for (int i = from; i < to; i += L) {
            FloatVector d = FloatVector.fromArray(S, x, i).sub(mean);
            a = a.add(d.mul(d));
        }
        a.intoArray(lanes, 0);
    }

    /** {@link NormActFloat#runGradientSums}, summed as in {@link #runSum}. */
    static void runGradientSums(float[] x, float[] dz, int n, float m, float inv, double[] sums) {
        double sDz = 0;
        double sDzXhat = 0;
        int bound = S.loopBound(n);
        float[] lanes = new float[2 * L];
        for (int i = 0; i < bound; i += NormActFloat.RUN) {
            gradientSums(x, dz, i, Math.min(bound, i + NormActFloat.RUN), m, inv, lanes);
            sDz += lanes(lanes, 0);
            sDzXhat += lanes(lanes, L);
        }
        for (int i = bound; i < n; i++) {
            float g = dz[i];
            sDz += g;
            sDzXhat += g * ((x[i] - m) * inv);
        }
        sums[0] = sDz;
        sums[1] = sDzXhat;
    }

    private static void gradientSums(float[] x, float[] dz, int from, int to, float m, float inv, float[] lanes) {
        FloatVector a = FloatVector.zero(S);
        FloatVector b = a;
        for (int i = from; i < to; i += L) {
            FloatVector g = FloatVector.fromArray(S, dz, i);
            a = a.add(g);
            b = b.add(g.mul(FloatVector.fromArray(S, x, i).sub(m).mul(inv)));
        }
        a.intoArray(lanes, 0);
        b.intoArray(lanes, L);
    }

    /** {@link NormActFloat#activationGradientRows}, whole vectors first, operation for operation. */
    static void activationGradientRows(float[] x, float[] dy, float[] dx, int base, float[] s, float[] t, int n,
            Activation act) {
        int i = 0;
        if (act == Activation.SILU) {
            int bound = S.loopBound(n);
            for (; i < bound; i += L) {
                FloatVector z = FloatVector.fromArray(S, x, base + i).mul(FloatVector.fromArray(S, s, i))
                        .add(FloatVector.fromArray(S, t, i));
                FloatVector sg = sigmoid(z);
                FloatVector.fromArray(S, dy, base + i).mul(sg.add(z.mul(sg).mul(sg.neg().add(1))))
                        .intoArray(dx, base + i);
            }
        }
        NormActFloat.activationGradientRows(x, dy, dx, base, s, t, i, n, act);
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

    static void apply(float[] x, float[] y, int from, int to, float s, float t, Activation act) {
        int i = from;
        int bound = from + S.loopBound(to - from);
        if (act == Activation.SILU) {
            for (; i < bound; i += L) {
                FloatVector z = FloatVector.fromArray(S, x, i).mul(s).add(t);
                z.mul(sigmoid(z)).intoArray(y, i);
            }
        } else {
            for (; i < bound; i += L) {
                FloatVector.fromArray(S, x, i).mul(s).add(t).intoArray(y, i);
            }
        }
        NormActFloat.apply(x, y, i, to, s, t, act);
    }

    static void applyRows(float[] x, float[] y, int base, float[] s, float[] t, int n, Activation act) {
        int i = 0;
        int bound = S.loopBound(n);
        if (act == Activation.SILU) {
            for (; i < bound; i += L) {
                FloatVector z = FloatVector.fromArray(S, x, base + i).mul(FloatVector.fromArray(S, s, i))
                        .add(FloatVector.fromArray(S, t, i));
                z.mul(sigmoid(z)).intoArray(y, base + i);
            }
        } else {
            for (; i < bound; i += L) {
                FloatVector.fromArray(S, x, base + i).mul(FloatVector.fromArray(S, s, i))
                        .add(FloatVector.fromArray(S, t, i)).intoArray(y, base + i);
            }
        }
        NormActFloat.applyRows(x, y, base, s, t, i, n, act);
    }

    static void activationGradient(float[] x, float[] dy, float[] dx, int from, int to, float s, float t,
            Activation act) {
        if (act != Activation.SILU) {
            NormActFloat.activationGradient(x, dy, dx, from, to, s, t, act);
            return;
        }
        int i = from;
        int bound = from + S.loopBound(to - from);
        for (; i < bound; i += L) {
            FloatVector z = FloatVector.fromArray(S, x, i).mul(s).add(t);
            FloatVector sg = sigmoid(z);
            FloatVector.fromArray(S, dy, i).mul(sg.add(z.mul(sg).mul(sg.neg().add(1)))).intoArray(dx, i);
        }
        NormActFloat.activationGradient(x, dy, dx, i, to, s, t, act);
    }

    /** {@link FastMath#sigmoidFloat} lane by lane, operation for operation: 0.5 + 0.5 tanh(z / 2). */
    static FloatVector sigmoid(FloatVector z) {
        FloatVector c = z.mul(0.5f).min(FastMath.TANH_CLAMP).max(-FastMath.TANH_CLAMP);
        FloatVector x2 = c.mul(c);
        FloatVector p = c.mul(x2.mul(FastMath.P13).add(FastMath.P11).mul(x2).add(FastMath.P9).mul(x2)
                .add(FastMath.P7).mul(x2).add(FastMath.P5).mul(x2).add(FastMath.P3).mul(x2).add(FastMath.P1));
        FloatVector q = x2.mul(FastMath.Q6).add(FastMath.Q4).mul(x2).add(FastMath.Q2).mul(x2).add(FastMath.Q0);
        return p.div(q).mul(0.5f).add(0.5f);
    }
}
