package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API loops of the fused BatchNorm give the same bits as the plain loops, over whole vectors, tails and
 * planes shorter than a vector, at a channel offset inside the batch; partial sums already holding values keep
 * adding to them.
 */
class VectorNormActTest {

    private static float[] gaussian(Random r, int n, double spread) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * spread);
        }
        return a;
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 1, 64", "2, 3, 2, 15", "1, 2, 1, 16", "3, 4, 3, 17", "2, 5, 0, 100", "2, 2, 1, 4096",
            "1, 1, 0, 1"})
    void sumsAndSquaresMatchThePlainLoopsBitForBit(int b, int c, int ch, int plane) {
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
        Random r = new Random(b * 1000L + c * 100L + plane);
        float[] x = gaussian(r, b * c * plane, 3);
        float[] start = gaussian(r, plane, 1);
        float[] vector = start.clone();
        float[] plain = start.clone();
        VectorNormAct.sums(x, b, c, ch, plane, vector);
        NormActFloat.sums(x, b, c, ch, plane, plain);
        assertArrayEquals(plain, vector, "sums");
        vector = start.clone();
        plain = start.clone();
        VectorNormAct.squares(x, b, c, ch, plane, 0.37f, vector);
        NormActFloat.squares(x, b, c, ch, plane, 0.37f, plain);
        assertArrayEquals(plain, vector, "squares");
    }

    @ParameterizedTest
    @CsvSource({"64, 0", "15, 3", "16, 16", "17, 5", "100, 200", "1, 0", "4096, 4096"})
    void gradientSumsMatchThePlainLoopsBitForBit(int plane, int base) {
        Random r = new Random(plane * 31L + base);
        float[] x = gaussian(r, base + plane, 2);
        float[] dz = gaussian(r, base + plane, 1);
        float[] sumDz = gaussian(r, plane, 1);
        float[] sumDzXhat = gaussian(r, plane, 1);
        float[] vDz = sumDz.clone();
        float[] vDzXhat = sumDzXhat.clone();
        VectorNormAct.gradientSums(x, dz, base, plane, 0.25f, 1.7f, vDz, vDzXhat);
        NormActFloat.gradientSums(x, dz, base, plane, 0.25f, 1.7f, sumDz, sumDzXhat);
        assertArrayEquals(sumDz, vDz, "sum of dz");
        assertArrayEquals(sumDzXhat, vDzXhat, "sum of dz * xhat");
    }

    @ParameterizedTest
    @CsvSource({"0, 64, SILU", "3, 15, SILU", "16, 17, SILU", "5, 100, IDENTITY", "0, 1, SILU", "7, 1000, SILU",
            "0, 33, IDENTITY"})
    void elementwiseLoopsMatchThePlainLoopsBitForBit(int from, int length, Activation act) {
        Random r = new Random(from * 131L + length);
        int to = from + length;
        float[] x = gaussian(r, to + 3, 6);
        float[] dy = gaussian(r, to + 3, 1);
        float[] vector = new float[to + 3];
        float[] plain = new float[to + 3];
        VectorNormAct.apply(x, vector, from, to, 1.3f, -0.2f, act);
        NormActFloat.apply(x, plain, from, to, 1.3f, -0.2f, act);
        assertArrayEquals(plain, vector, "normalise and activate");
        vector = new float[to + 3];
        plain = new float[to + 3];
        VectorNormAct.activationGradient(x, dy, vector, from, to, 0.8f, 0.1f, act);
        NormActFloat.activationGradient(x, dy, plain, from, to, 0.8f, 0.1f, act);
        assertArrayEquals(plain, vector, "the activation's derivative");
    }

    /**
     * Small planes are normalised image by image over all channels ({@link NormActFloat#ROWS_BELOW}): the same bits
     * as the per-channel loops, Vector API or plain.
     */
    @ParameterizedTest
    @CsvSource({"3, 5, 1, SILU", "2, 7, 4, SILU", "2, 9, 16, SILU", "1, 3, 63, SILU", "2, 6, 4, IDENTITY"})
    void smallPlanesImageByImageMatchThePerChannelLoopsBitForBit(int b, int c, int plane, Activation act) {
        Random r = new Random(b * 7L + c * 11L + plane);
        float[] x = gaussian(r, b * c * plane, 6);
        double[] scale = new double[c];
        double[] shift = new double[c];
        for (int ch = 0; ch < c; ch++) {
            scale[ch] = r.nextGaussian();
            shift[ch] = r.nextGaussian();
        }
        float[] expected = new float[x.length];
        for (int n = 0; n < b; n++) {
            for (int ch = 0; ch < c; ch++) {
                int base = (n * c + ch) * plane;
                NormActFloat.apply(x, expected, base, base + plane, (float) scale[ch], (float) shift[ch], act);
            }
        }
        float[] rows = new float[x.length];
        NormActFloat.forward(x, rows, b, c, plane, scale, shift, act);
        assertArrayEquals(expected, rows, "forward, image by image");
        float[] inPlace = x.clone();
        NormActFloat.forward(inPlace, inPlace, b, c, plane, scale, shift, act);
        assertArrayEquals(expected, inPlace, "forward in place");
    }
    /**
     * The training-mode backward pass of planes under {@link NormActFloat#ROWS_BELOW} pixels, image by image
     * ({@link NormActFloat#backwardRows}), gives the same bits as the channel-by-channel loops: input gradient (also
     * in place, dx == dy), gamma and beta gradients.
     */
    @ParameterizedTest
    @CsvSource({"3, 5, 1, SILU", "2, 7, 4, SILU", "128, 9, 16, SILU", "1, 3, 63, SILU", "2, 6, 4, IDENTITY",
            "5, 40, 49, SILU"})
    void smallPlanesBackwardImageByImageMatchesThePerChannelLoopsBitForBit(int b, int c, int plane,
            Activation act) {
        Random r = new Random(b * 5L + c * 13L + plane);
        float[] x = gaussian(r, b * c * plane, 4);
        float[] dy = gaussian(r, x.length, 1);
        double[] mean = new double[c];
        double[] var = new double[c];
        double[] gamma = new double[c];
        double[] beta = new double[c];
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = r.nextGaussian();
            var[ch] = 0.5 + r.nextDouble();
            gamma[ch] = r.nextGaussian();
            beta[ch] = r.nextGaussian();
        }
        float[] dxChannels = new float[x.length];
        double[] dGammaChannels = new double[c];
        double[] dBetaChannels = new double[c];
        NormActFloat.backwardChannels(x, dy, dxChannels, b, c, plane, mean, var, gamma, beta, 1e-5, act,
                dGammaChannels, dBetaChannels);
        float[] dxRows = new float[x.length];
        double[] dGammaRows = new double[c];
        double[] dBetaRows = new double[c];
        NormActFloat.backward(x, dy, dxRows, b, c, plane, mean, var, gamma, beta, 1e-5, act, dGammaRows, dBetaRows);
        assertArrayEquals(dxChannels, dxRows, "input gradient");
        assertArrayEquals(dGammaChannels, dGammaRows, "gamma gradient");
        assertArrayEquals(dBetaChannels, dBetaRows, "beta gradient");
        float[] inPlace = dy.clone();
        NormActFloat.backward(x, inPlace, inPlace, b, c, plane, mean, var, gamma, beta, 1e-5, act, dGammaRows,
                dBetaRows);
        assertArrayEquals(dxChannels, inPlace, "input gradient in place");
    }
}
