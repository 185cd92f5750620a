package org.transcnn.kernels;

/**
 * The sizes of one call of the inverted residual kernels: a batch of {@code batch} NCHW maps of {@code channels}
 * channels, {@code height} x {@code width} pixels, expanded to {@code hidden} channels, depthwise kernel
 * {@code kernel} x {@code kernel} (odd).
 */
public record InvertedResidualShape(int batch, int channels, int hidden, int height, int width, int kernel) {

    public InvertedResidualShape {
        if (batch < 1 || channels < 1 || hidden < 1 || height < 1 || width < 1 || kernel < 1 || kernel % 2 == 0) {
            throw new IllegalArgumentException("inverted residual needs batch, channels, hidden, height, width >= 1 "
                    + "and an odd kernel, got " + batch + ", " + channels + ", " + hidden + ", " + height + ", "
                    + width + ", " + kernel);
        }
        if ((long) batch * hidden * height * width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("inverted residual: " + batch + " x " + hidden + " x " + height + " x "
                    + width + " hidden values exceed 2^31 - 1; use a smaller batch");
        }
    }

    public int pixels() {
        return height * width;
    }

    /** Values of the input or output batch, B*C*H*W. */
    public int outer() {
        return batch * channels * pixels();
    }

    /** Values of a hidden batch, B*E*H*W. */
    public int inner() {
        return batch * hidden * pixels();
    }
}
