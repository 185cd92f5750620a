package org.transcnn.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@link AttentionFloat} on token-major queries and keys/values ({@link AttentionLayout#tokens()}) computes the same
 * products in the same order as on NCHW maps, so outputs and gradients are the same bits once the gradients are
 * transposed back. Windows that do not divide the map, several heads and images, and global attention (self and
 * against a smaller key/value map, more queries than one block) are covered.
 */
class TokenMajorAttentionTest {

    private static float[] gaussian(int n, Random r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    /** [B, C, P] -> [B, P, C]. */
    private static float[] tokens(float[] nchw, int b, int c, int p) {
        float[] t = new float[nchw.length];
        for (int n = 0; n < b; n++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < p; i++) {
                    t[(n * p + i) * c + ch] = nchw[(n * c + ch) * p + i];
                }
            }
        }
        return t;
    }

    /** Self-attention of a [B, 3C, H, W] qkv map: windows of side grid, or grid 0 global. */
    @ParameterizedTest
    @CsvSource({"2, 2, 8, 9, 7, 4", "1, 1, 16, 8, 8, 8", "1, 2, 4, 20, 17, 0", "2, 1, 8, 5, 3, 2",
            "1, 3, 4, 3, 3, 4"})
    void selfAttentionSameBitsTokenMajor(int b, int heads, int d, int h, int w, int grid) {
        Random r = new Random(h * 31 + w + grid);
        int c = heads * d;
        int p = h * w;
        AttentionLayout l = new AttentionLayout(b, heads, d, 3 * c, 0, h, w, 3 * c, c, 2 * c, h, w, grid);
        float[] qkv = gaussian(b * 3 * c * p, r);
        float[] dOut = gaussian(b * c * p, r);
        float[] qkvT = tokens(qkv, b, 3 * c, p);
        float[] out = new float[dOut.length];
        float[] outT = new float[dOut.length];
        Arrays.fill(outT, Float.NaN);
        AttentionFloat.forward(qkv, qkv, l, out);
        AttentionFloat.forward(qkvT, qkvT, l.tokens(), outT);
        assertArrayEquals(out, outT, "output");
        float[] dqkv = new float[qkv.length];
        float[] dqkvT = new float[qkv.length];
        AttentionFloat.backward(qkv, qkv, dOut, l, dqkv, dqkv);
        AttentionFloat.backward(qkvT, qkvT, dOut, l.tokens(), dqkvT, dqkvT);
        assertArrayEquals(tokens(dqkv, b, 3 * c, p), dqkvT, "gradient of qkv");
    }

    /** Queries [B, C, H, W] against keys/values [B, 2C, kH, kW], as the global step of H-MHSA. */
    @ParameterizedTest
    @CsvSource({"2, 2, 4, 6, 5, 3, 2", "1, 1, 8, 17, 16, 4, 4", "2, 3, 4, 2, 3, 1, 1"})
    void globalAttentionSameBitsTokenMajor(int b, int heads, int d, int h, int w, int kh, int kw) {
        Random r = new Random(h * 7 + kh);
        int c = heads * d;
        int p = h * w;
        int pk = kh * kw;
        AttentionLayout l = new AttentionLayout(b, heads, d, c, 0, h, w, 2 * c, 0, c, kh, kw, 0);
        float[] q = gaussian(b * c * p, r);
        float[] kv = gaussian(b * 2 * c * pk, r);
        float[] dOut = gaussian(b * c * p, r);
        float[] out = new float[dOut.length];
        float[] outT = new float[dOut.length];
        AttentionFloat.forward(q, kv, l, out);
        AttentionFloat.forward(tokens(q, b, c, p), tokens(kv, b, 2 * c, pk), l.tokens(), outT);
        assertArrayEquals(out, outT, "output");
        float[] dq = new float[q.length];
        float[] dkv = new float[kv.length];
        float[] dqT = new float[q.length];
        float[] dkvT = new float[kv.length];
        AttentionFloat.backward(q, kv, dOut, l, dq, dkv);
        AttentionFloat.backward(tokens(q, b, c, p), tokens(kv, b, 2 * c, pk), dOut, l.tokens(), dqT, dkvT);
        assertArrayEquals(tokens(dq, b, c, p), dqT, "gradient of q");
        assertArrayEquals(tokens(dkv, b, 2 * c, pk), dkvT, "gradient of kv");
    }
}
