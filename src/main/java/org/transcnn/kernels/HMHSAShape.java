package org.transcnn.kernels;

/**
 * The sizes of one call of the H-MHSA kernels: a batch of {@code batch} NCHW maps of {@code channels} = heads x
 * headDim channels, {@code height} x {@code width} pixels, window side {@code grid} (1: plain global attention) and
 * pooling ratio {@code ratio} of the global step's keys and values (grid &gt; 1 only).
 */
public record HMHSAShape(int batch, int channels, int heads, int height, int width, int grid, int ratio) {

    public HMHSAShape {
        if (batch < 1 || channels < 1 || heads < 1 || height < 1 || width < 1 || grid < 1 || ratio < 1) {
            throw new IllegalArgumentException("H-MHSA needs batch, channels, heads, height, width, grid, ratio >= 1, "
                    + "got " + batch + ", " + channels + ", " + heads + ", " + height + ", " + width + ", " + grid
                    + ", " + ratio);
        }
        if (channels % heads != 0) {
            throw new IllegalArgumentException("H-MHSA channels " + channels + " are not divisible by " + heads
                    + " heads");
        }
        if (grid > 1 && (height / ratio < 1 || width / ratio < 1)) {
            throw new IllegalArgumentException("H-MHSA pooling ratio " + ratio + " is larger than the input " + height
                    + "x" + width + " (HxW)");
        }
        if ((long) batch * 3 * channels * height * width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("H-MHSA: " + batch + " x " + 3 * channels + " x " + height + " x "
                    + width + " qkv values exceed 2^31 - 1; use a smaller batch");
        }
    }

    public int headDim() {
        return channels / heads;
    }

    public int pixels() {
        return height * width;
    }

    /** Values of the input or output batch, B*C*H*W. */
    public int outer() {
        return batch * channels * pixels();
    }

    /** Whether there is a window step (grid &gt; 1) followed by the pooled global step. */
    public boolean hierarchical() {
        return grid > 1;
    }

    public int pooledHeight() {
        return height / ratio;
    }

    public int pooledWidth() {
        return width / ratio;
    }

    public int pooledPixels() {
        return pooledHeight() * pooledWidth();
    }

    /**
     * The first attention step: G x G windows of the token-major qkv map [B, H*W, 3C], or (grid 1) global
     * self-attention over it.
     */
    public AttentionLayout first() {
        int c = channels;
        return new AttentionLayout(batch, heads, headDim(), 3 * c, 0, height, width, 3 * c, c, 2 * c, height, width,
                grid > 1 ? grid : 0, true);
    }

    /**
     * The global step of a hierarchical H-MHSA: token-major queries [B, H*W, C] to keys/values [B, H/r * W/r, 2C].
     */
    public AttentionLayout second() {
        int c = channels;
        return new AttentionLayout(batch, heads, headDim(), c, 0, height, width, 2 * c, 0, c, pooledHeight(),
                pooledWidth(), 0, true);
    }
}
