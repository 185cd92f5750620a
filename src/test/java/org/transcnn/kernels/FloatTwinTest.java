package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float kernels compute what their generated double twins compute (checked against DL4J's layers and SameDiff in
 * the layer tests), to float precision, on the same inputs: depthwise convolution on both sides of the widths where
 * it switches to its shifted-row loops, window and global attention.
 */
class FloatTwinTest {

    private static double[] gaussian(int n, Random r) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextGaussian();
        }
        return a;
    }

    private static float[] floats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    private static void assertClose(double[] expected, float[] actual, double tol, String what) {
        double worst = 0;
        double scale = 1;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= tol * scale, what + ": float differs from double by " + worst + " (scale " + scale + ")");
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 5, 7, 3", "1, 2, 16, 15, 5", "2, 2, 9, 17, 3", "1, 3, 6, 70, 7", "2, 2, 64, 64, 3",
            "1, 2, 5, 31, 5", "2, 1, 4, 32, 3"})
    void depthwiseMatchesItsDoubleTwin(int b, int c, int h, int w, int k) {
        Random r = new Random(h * 31 + w);
        double[] x = gaussian(b * c * h * w, r);
        double[] wt = gaussian(c * k * k, r);
        double[] dy = gaussian(x.length, r);
        double[] y = new double[x.length];
        float[] yf = new float[x.length];
        DepthwiseDouble.forward(x, wt, y, b, c, h, w, k, k);
        DepthwiseFloat.forward(floats(x), floats(wt), yf, b, c, h, w, k, k);
        assertClose(y, yf, 1e-5, "forward");
        double[] dx = new double[x.length];
        float[] dxf = new float[x.length];
        DepthwiseDouble.forward(dy, DepthwiseDouble.rotated(wt, c, k, k), dx, b, c, h, w, k, k);
        DepthwiseFloat.forward(floats(dy), DepthwiseFloat.rotated(floats(wt), c, k, k), dxf, b, c, h, w, k, k);
        assertClose(dx, dxf, 1e-5, "input gradient");
        double[] dw = new double[wt.length];
        float[] dwf = new float[wt.length];
        DepthwiseDouble.backwardWeights(dy, x, dw, b, c, h, w, k, k);
        DepthwiseFloat.backwardWeights(floats(dy), floats(x), dwf, b, c, h, w, k, k);
        assertClose(dw, dwf, 1e-5, "weight gradient");
        // the plain loops (run without the Vector API) as well
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
        DepthwiseFloat.forwardPlain(floats(x), floats(wt), yf, b, c, h, w, k, k);
        assertClose(y, yf, 1e-5, "forward, plain loops");
        float[] dwPlain = new float[wt.length];
        DepthwiseFloat.backwardWeightsPlain(floats(dy), floats(x), dwPlain, b, c, h, w, k, k);
        assertClose(dw, dwPlain, 1e-5, "weight gradient, plain loops");
    }

    /** grid 0: global attention of a 3C qkv map with itself; otherwise windows of side grid. */
    @ParameterizedTest
    @CsvSource({"2, 2, 8, 9, 7, 4", "1, 1, 16, 8, 8, 8", "1, 2, 4, 20, 17, 0", "2, 1, 8, 5, 3, 2"})
    void attentionMatchesItsDoubleTwin(int b, int heads, int d, int h, int w, int grid) {
        Random r = new Random(h * 17 + w + grid);
        int c = heads * d;
        AttentionLayout l = new AttentionLayout(b, heads, d, 3 * c, 0, h, w, 3 * c, c, 2 * c, h, w, grid);
        double[] qkv = gaussian(b * 3 * c * h * w, r);
        double[] dOut = gaussian(b * c * h * w, r);
        double[] out = new double[dOut.length];
        float[] outF = new float[dOut.length];
        AttentionDouble.forward(qkv, qkv, l, out);
        float[] qkvF = floats(qkv);
        AttentionFloat.forward(qkvF, qkvF, l, outF);
        assertClose(out, outF, 2e-5, "attention output");
        double[] dqkv = new double[qkv.length];
        float[] dqkvF = new float[qkv.length];
        AttentionDouble.backward(qkv, qkv, dOut, l, dqkv, dqkv);
        AttentionFloat.backward(qkvF, qkvF, floats(dOut), l, dqkvF, dqkvF);
        assertClose(dqkv, dqkvF, 5e-5, "attention gradient");
    }

    /** The patch matrix against its definition; its transpose is gather's adjoint and matches the double twin. */
    @ParameterizedTest
    @CsvSource({"2, 3, 7, 9, 3, 2, 1", "1, 2, 8, 8, 3, 2, 1", "2, 1, 5, 6, 2, 2, 0", "1, 3, 6, 5, 3, 1, 1",
            "1, 2, 9, 4, 3, 2, 2"})
    void patchesMatchTheirDefinitionAndTwin(int b, int c, int h, int w, int k, int stride, int pad) {
        Random r = new Random(h * 7 + w + k);
        int ho = (h + 2 * pad - k) / stride + 1;
        int wo = (w + 2 * pad - k) / stride + 1;
        PatchGeometry g = new PatchGeometry(b, c, h, w, ho, wo, k, k, stride, stride, pad, pad);
        double[] x = gaussian(b * c * h * w, r);
        float[] cols = new float[g.size()];
        java.util.Arrays.fill(cols, Float.NaN);
        PatchesFloat.gather(floats(x), cols, g);
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    for (int n = 0; n < b; n++) {
                        for (int oy = 0; oy < ho; oy++) {
                            for (int ox = 0; ox < wo; ox++) {
                                int iy = oy * stride - pad + i;
                                int ix = ox * stride - pad + j;
                                float expected = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0f
                                        : (float) x[((n * c + ch) * h + iy) * w + ix];
                                int row = (ch * k + i) * k + j;
                                int col = oy * wo + ox;
                                assertTrue(expected == cols[(n * g.rows() + row) * g.columns() + col],
                                        "image " + n + ", patch row " + row + ", column " + col);
                            }
                        }
                    }
                }
            }
        }
        double[] d = gaussian(cols.length, r);
        double[] dx = new double[x.length];
        float[] dxf = new float[x.length];
        PatchesDouble.scatter(d, dx, g);
        PatchesFloat.scatter(floats(d), dxf, g);
        assertClose(dx, dxf, 1e-6, "scatter");
        // scatter is the transpose of gather: <gather(x), d> = <x, scatter(d)>
        double[] colsD = new double[cols.length];
        PatchesDouble.gather(x, colsD, g);
        double left = 0;
        double right = 0;
        for (int i = 0; i < cols.length; i++) {
            left += colsD[i] * d[i];
        }
        for (int i = 0; i < x.length; i++) {
            right += x[i] * dx[i];
        }
        org.junit.jupiter.api.Assertions.assertEquals(left, right, 1e-9 * (1 + Math.abs(left)), "adjoint");
    }
}
