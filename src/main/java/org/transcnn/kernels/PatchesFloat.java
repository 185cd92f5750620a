package org.transcnn.kernels;

import java.util.stream.IntStream;

/**
 * The patch matrices of a k x k convolution (im2col) and their transpose, on NCHW arrays in C order, one per image:
 * for pixels x [B, C, H, W] and a kernel kH x kW with strides (sh, sw) and zero padding (ph, pw), image n's matrix
 * [C*kH*kW, Ho*Wo] holds at row {@code r = (ch*kH + i)*kW + j}, column {@code oy*Wo + ox} the pixel {@code x[n, ch,
 * oy*sh - ph + i, ox*sw - pw + j]} (0 outside the image; see {@link PatchGeometry}). The matrices lie one after the
 * other ([B, C*kH*kW, Ho*Wo]), so that the convolution of image n is one GEMM of the [Cout, C*kH*kW] weights with
 * matrix n, written straight into image n of the NCHW output, as a 1x1 convolution multiplies x_n itself.
 *
 * <p>Why one matrix per image rather than one [C*kH*kW, B*Ho*Wo] matrix for the batch: an image's pixels and its
 * matrix stay in the core's cache while it is gathered (the batch-wide matrix read every input plane kH*kW times
 * from memory), the output needs no [Cout, B, ...] to [B, Cout, ...] copy, and the work splits over images, so a
 * one-channel input (the Fashion-MNIST stem) keeps both cores busy in the scatter too. Parallel over (image, row)
 * pairs (gather) and (image, channel) pairs (scatter: each adds onto its own plane only).
 *
 * <p>Written for float arrays; the build generates the double twin {@code PatchesDouble} from this file (see
 * {@link NormActFloat}).
 */
public final class PatchesFloat {

    private PatchesFloat() {
    }

    /** Fills every value of {@code cols} [B, rows, Ho*Wo] from {@code x} [B, C, H, W]. */
    public static void gather(float[] x, float[] cols, PatchGeometry g) {
        int rows = g.rows();
        IntStream.range(0, g.b() * rows).parallel().forEach(u -> walk(x, cols, g, u / rows, u % rows, true));
    }

    /**
     * Adds the patch-matrix gradients {@code cols} [B, rows, Ho*Wo] onto {@code dx} [B, C, H, W] (the transpose of
     * gather).
     */
    public static void scatter(float[] cols, float[] dx, PatchGeometry g) {
        int c = g.c();
        int perChannel = g.kh() * g.kw();
        IntStream.range(0, g.b() * c).parallel().forEach(u -> {
            int n = u / c;
            int ch = u % c;
            for (int r = ch * perChannel; r < (ch + 1) * perChannel; r++) {
                walk(dx, cols, g, n, r, false);
            }
        });
    }

    /**
     * Pairs row r of image n's patch matrix with its pixels: copies them into the row (zeros where the patch lies
     * outside the image), or adds the row onto them.
     */
    private static void walk(float[] pixels, float[] cols, PatchGeometry g, int n, int r, boolean intoColumns) {
        int kh = g.kh();
        int kw = g.kw();
        int ch = r / (kh * kw);
        int i = (r / kw) % kh;
        int j = r % kw;
        int wo = g.wo();
        int sw = g.sw();
        // the output columns whose input column ox*sw - pw + j lies inside the image
        int lo = Math.min(wo, Math.max(0, (g.pw() - j + sw - 1) / sw));
        int last = g.w() - 1 + g.pw() - j;
        int hi = last < 0 ? lo : Math.max(lo, Math.min(wo, last / sw + 1));
        int plane = (n * g.c() + ch) * g.h() * g.w();
        int matrixRow = (n * g.rows() + r) * g.ho() * wo;
        for (int oy = 0; oy < g.ho(); oy++) {
            int iy = oy * g.sh() - g.ph() + i;
            int col = matrixRow + oy * wo;
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
                    cols[col + ox] = pixels[row + ox * sw];
                }
                zero(cols, col + hi, col + wo);
            } else {
                for (int ox = lo; ox < hi; ox++) {
                    pixels[row + ox * sw] += cols[col + ox];
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
