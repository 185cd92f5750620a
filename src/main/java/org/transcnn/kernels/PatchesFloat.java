package org.transcnn.kernels;

import java.util.stream.IntStream;

/**
 * The patch matrix of a k x k convolution (im2col) and its transpose, on NCHW arrays in C order: for pixels x [B, C,
 * H, W] and a kernel kH x kW with strides (sh, sw) and zero padding (ph, pw), row {@code r = (ch*kH + i)*kW + j},
 * column {@code (n*Ho + oy)*Wo + ox} of the matrix [C*kH*kW, B*Ho*Wo] holds {@code x[n, ch, oy*sh - ph + i, ox*sw -
 * pw + j]} (0 outside the image; see {@link PatchGeometry}), so that the convolution is one GEMM with the
 * [Cout, C*kH*kW] weights. Parallel over rows (gather) and channels (scatter: each channel's rows add onto its own
 * planes only).
 *
 * <p>Written for float arrays; the build generates the double twin {@code PatchesDouble} from this file (see
 * {@link NormActFloat}).
 */
public final class PatchesFloat {

    private PatchesFloat() {
    }

    /** Fills every value of {@code cols} [rows, columns] from {@code x} [B, C, H, W]. */
    public static void gather(float[] x, float[] cols, PatchGeometry g) {
        IntStream.range(0, g.rows()).parallel().forEach(r -> walk(x, cols, g, r, true));
    }

    /** Adds the patch-matrix gradient {@code cols} onto {@code dx} [B, C, H, W] (the transpose of gather). */
    public static void scatter(float[] cols, float[] dx, PatchGeometry g) {
        IntStream.range(0, g.c()).parallel().forEach(ch -> {
            for (int r = ch * g.kh() * g.kw(); r < (ch + 1) * g.kh() * g.kw(); r++) {
                walk(dx, cols, g, r, false);
            }
        });
    }

    /**
     * Pairs patch-matrix row r with its pixels: copies them into the row (zeros where the patch lies outside the
     * image), or adds the row onto them.
     */
    private static void walk(float[] pixels, float[] cols, PatchGeometry g, int r, boolean intoColumns) {
        int kh = g.kh();
        int kw = g.kw();
        int ch = r / (kh * kw);
        int i = (r / kw) % kh;
        int j = r % kw;
        int wo = g.wo();
        // the output columns whose input column ox*sw - pw + j lies inside the image
        int lo = Math.min(wo, Math.max(0, (g.pw() - j + g.sw() - 1) / g.sw()));
        int last = g.w() - 1 + g.pw() - j;
        int hi = last < 0 ? lo : Math.max(lo, Math.min(wo, last / g.sw() + 1));
        for (int n = 0; n < g.b(); n++) {
            int plane = (n * g.c() + ch) * g.h() * g.w();
            for (int oy = 0; oy < g.ho(); oy++) {
                int iy = oy * g.sh() - g.ph() + i;
                int col = r * g.columns() + (n * g.ho() + oy) * wo;
                if (iy < 0 || iy >= g.h()) {
                    if (intoColumns) {
                        zero(cols, col, col + wo);
                    }
                    continue;
                }
                int row = plane + iy * g.w() - g.pw() + j;
                if (intoColumns) {
                    zero(cols, col, col + lo);
                    for (int ox = lo; ox < hi; ox++) {
                        cols[col + ox] = pixels[row + ox * g.sw()];
                    }
                    zero(cols, col + hi, col + wo);
                } else {
                    for (int ox = lo; ox < hi; ox++) {
                        pixels[row + ox * g.sw()] += cols[col + ox];
                    }
                }
            }
        }
    }

    /**
     * {@code a[from..to) = 0}: a plain loop, because the stretches are mostly 0 to 2 values (the padding of one
     * output row), where {@link java.util.Arrays#fill}'s call and range checks cost more than the stores.
     */
    private static void zero(float[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            a[i] = 0;
        }
    }
}
