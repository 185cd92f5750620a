package org.transcnn.kernels;

/**
 * Elementary functions for the kernels, in a float version that C2 compiles to vector instructions inside a loop
 * (multiplies, adds, a divide, min and max: no call, no branch, no float-int conversion; {@code Math.exp} and
 * {@code Math.tanh} are scalar calls, 10-20x slower per value), and an accurate double version. The generated
 * double-precision kernels call the double version: the generator renames {@code sigmoidFloat} to
 * {@code sigmoidDouble} as it renames every {@code Float}.
 */
public final class FastMath {

    /** tanh(x) is 1 - 2.4e-7 here: the rational form is clamped to this range. */
    static final float TANH_CLAMP = 7.90531110763549805f;

    // Eigen's generic_fast_tanh_float: tanh(x) = x P(x^2) / Q(x^2)
    static final float P13 = -2.76076847742355e-16f;
    static final float P11 = 2.00018790482477e-13f;
    static final float P9 = -8.60467152213735e-11f;
    static final float P7 = 5.12229709037114e-08f;
    static final float P5 = 1.48572235717979e-05f;
    static final float P3 = 6.37261928875436e-04f;
    static final float P1 = 4.89352455891786e-03f;
    static final float Q6 = 1.19825839466702e-06f;
    static final float Q4 = 1.18534705686654e-04f;
    static final float Q2 = 2.26843463243900e-03f;
    static final float Q0 = 4.89352518554385e-03f;

    private FastMath() {
    }

    /** x P(x^2) of the rational tanh, for x already clamped. */
    private static float numerator(float c) {
        float x2 = c * c;
        return c * ((((((P13 * x2 + P11) * x2 + P9) * x2 + P7) * x2 + P5) * x2 + P3) * x2 + P1);
    }

    /** Q(x^2) of the rational tanh. */
    private static float denominator(float c) {
        float x2 = c * c;
        return ((Q6 * x2 + Q4) * x2 + Q2) * x2 + Q0;
    }

    /**
     * tanh(x) in float as Eigen computes it ({@code generic_fast_tanh_float}): x P(x^2) / Q(x^2) with a degree-13
     * odd numerator and a degree-6 even denominator on x clamped to +-7.905; relative error below 4e-7.
     */
    public static float tanhFloat(float x) {
        float c = Math.max(-TANH_CLAMP, Math.min(TANH_CLAMP, x));
        return numerator(c) / denominator(c);
    }

    /** The logistic sigmoid 1 / (1 + e^-z) in float, as 0.5 + 0.5 tanh(z / 2); absolute error below 2e-7. */
    public static float sigmoidFloat(float z) {
        return 0.5f + 0.5f * tanhFloat(0.5f * z);
    }

    /**
     * e^x for x &lt;= 0 (a softmax after subtracting the maximum) in float: with t = tanh(x / 2) = P / Q (the rational
     * form of {@link #tanhFloat}), e^x = (1 + t) / (1 - t) = (Q + P) / (Q - P), one division. Absolute error below
     * 5e-7; below x = -16 it returns about 1e-7 instead of the true value (at most 1.1e-7).
     */
    public static float expNonPositiveFloat(float x) {
        float c = Math.max(-TANH_CLAMP, Math.min(TANH_CLAMP, 0.5f * x));
        float p = numerator(c);
        float q = denominator(c);
        return (q + p) / (q - p);
    }

    /** e^x in double. */
    public static double expNonPositiveDouble(double x) {
        return Math.exp(x);
    }

    /** The logistic sigmoid 1 / (1 + e^-z) in double. */
    public static double sigmoidDouble(double z) {
        return 1.0 / (1.0 + Math.exp(-z));
    }
}
