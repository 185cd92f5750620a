package org.transcnn.kernels;

/**
 * The geometry of a k x k convolution's patch matrix ({@link PatchesFloat}): batch {@code b}, channels {@code c},
 * input {@code h x w}, output {@code ho x wo}, kernel {@code kh x kw}, strides {@code sh, sw}, zero padding
 * {@code ph, pw}.
 */
public record PatchGeometry(int b, int c, int h, int w, int ho, int wo, int kh, int kw, int sh, int sw, int ph,
        int pw) {

    /** Rows of the patch matrix: {@code c * kh * kw}. */
    public int rows() {
        return c * kh * kw;
    }

    /** Columns of the patch matrix: {@code b * ho * wo}. */
    public int columns() {
        return b * ho * wo;
    }
}
