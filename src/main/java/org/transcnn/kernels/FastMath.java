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
    private static final float TANH_CLAMP = 7.90531110763549805f;

    private FastMath() {
    }

    /**
     * tanh(x) in float as Eigen computes it ({@code generic_fast_tanh_float}): x P(x^2) / Q(x^2) with a degree-13
     * odd numerator and a degree-6 even denominator on x clamped to +-7.905; relative error below 4e-7.
     */
    public static float tanhFloat(float x) {
        float c = Math.max(-TANH_CLAMP, Math.min(TANH_CLAMP, x));
        float x2 = c * c;
        float p = -2.76076847742355e-16f;
        p = p * x2 + 2.00018790482477e-13f;
        p = p * x2 - 8.60467152213735e-11f;
        p = p * x2 + 5.12229709037114e-08f;
        p = p * x2 + 1.48572235717979e-05f;
        p = p * x2 + 6.37261928875436e-04f;
        p = p * x2 + 4.89352455891786e-03f;
        float q = 1.19825839466702e-06f;
        q = q * x2 + 1.18534705686654e-04f;
        q = q * x2 + 2.26843463243900e-03f;
        q = q * x2 + 4.89352518554385e-03f;
        return c * p / q;
    }

    /** The logistic sigmoid 1 / (1 + e^-z) in float, as 0.5 + 0.5 tanh(z / 2); absolute error below 2e-7. */
    public static float sigmoidFloat(float z) {
        return 0.5f + 0.5f * tanhFloat(0.5f * z);
    }

    /**
     * e^x for x &lt;= 0 (a softmax after subtracting the maximum) in float, as s / (1 - s) with s = sigmoid(x):
     * absolute error below 5e-7; below x = -16 it returns about 1e-7 instead of the true value (at most 1.1e-7).
     */
    public static float expNonPositiveFloat(float x) {
        float s = sigmoidFloat(x);
        return s / (1 - s);
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
