package org.transcnn.kernels;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FastMathTest {

    @Test
    void tanhAndSigmoidAreAccurateOverTheFloatRange() {
        Random r = new Random(3);
        double worstTanh = 0;
        double worstSigmoid = 0;
        for (int i = 0; i < 1_000_000; i++) {
            float x = (float) (r.nextGaussian() * (i % 2 == 0 ? 3 : 30));
            double t = Math.tanh(x);
            worstTanh = Math.max(worstTanh, Math.abs(FastMath.tanhFloat(x) - t) / Math.max(Math.abs(t), 1e-30));
            double s = 1 / (1 + Math.exp(-x));
            worstSigmoid = Math.max(worstSigmoid, Math.abs(FastMath.sigmoidFloat(x) - s));
        }
        double worstExp = 0;
        for (int i = 0; i < 1_000_000; i++) {
            float x = (float) -Math.abs(r.nextGaussian() * (i % 2 == 0 ? 2 : 20));
            worstExp = Math.max(worstExp, Math.abs(FastMath.expNonPositiveFloat(x) - Math.exp(x)));
        }
        assertTrue(worstExp < 5e-7, "exp absolute error " + worstExp);
        assertEquals(1.0f, FastMath.expNonPositiveFloat(0f), 1e-7);
        assertTrue(worstTanh < 5e-7, "tanh relative error " + worstTanh);
        assertTrue(worstSigmoid < 2e-7, "sigmoid absolute error " + worstSigmoid);
        assertEquals(1.0f, FastMath.tanhFloat(Float.POSITIVE_INFINITY), 1e-6);
        assertEquals(0.0f, FastMath.sigmoidFloat(Float.NEGATIVE_INFINITY), 1e-6);
        assertEquals(0.0f, FastMath.tanhFloat(0f));
        assertEquals(1 / (1 + Math.exp(-0.3)), FastMath.sigmoidDouble(0.3), 1e-16);
    }
}
