package org.transcnn.kernels;

/**
 * The geometry of a k x k convolution's patch matrices ({@link PatchesFloat}): batch {@code b}, channels {@code c},
 * input {@code h x w}, output {@code ho x wo}, kernel {@code kh x kw}, strides {@code sh, sw}, zero padding
 * {@code ph, pw}.
 */
public record PatchGeometry(int b, int c, int h, int w, int ho, int wo, int kh, int kw, int sh, int sw, int ph,
        int pw) {

    /** Rows of the patch matrix: {@code c * kh * kw}. */
    public int rows() {
        return c * kh * kw;
    }

    /** Columns of an image's patch matrix: {@code ho * wo}. */
    public int columns() {
        return ho * wo;
    }

    /** Values of the patch matrices of the batch: {@code b * rows() * columns()}. */
    public int size() {
        return b * rows() * columns();
    }
}
