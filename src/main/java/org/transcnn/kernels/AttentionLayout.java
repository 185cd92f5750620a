package org.transcnn.kernels;

/**
 * Geometry of one attention call of {@link AttentionFloat} (and its double twin): queries from channels
 * {@code qOffset + head*d + j} of a [B, qChannels, qH, qW] array; keys and values from channels
 * {@code kOffset + head*d + j} and {@code vOffset + head*d + j} of a [B, kvChannels, kH, kW] array. With
 * {@code tokenMajor} the query and key/value arrays (and their gradients) are held token by token instead, [B, qH*qW,
 * qChannels] and [B, kH*kW, kvChannels] in C order, as a 1x1 convolution written transposed produces them; the output
 * and its gradient are [B, heads*d, qH, qW] either way.
 *
 * @param grid window side, or 0 for global attention
 */
public record AttentionLayout(int batch, int heads, int headDim, int qChannels, int qOffset, int qH, int qW,
        int kvChannels, int kOffset, int vOffset, int kH, int kW, int grid, boolean tokenMajor) {

    /** The layout with all arrays in NCHW order. */
    public AttentionLayout(int batch, int heads, int headDim, int qChannels, int qOffset, int qH, int qW,
            int kvChannels, int kOffset, int vOffset, int kH, int kW, int grid) {
        this(batch, heads, headDim, qChannels, qOffset, qH, qW, kvChannels, kOffset, vOffset, kH, kW, grid, false);
    }

    /** The same geometry with the query and key/value arrays token-major. */
    public AttentionLayout tokens() {
        return new AttentionLayout(batch, heads, headDim, qChannels, qOffset, qH, qW, kvChannels, kOffset, vOffset,
                kH, kW, grid, true);
    }

    /** Distance between adjacent pixels of a query channel: 1 in NCHW, qChannels token-major. */
    int qPixelStep() {
        return tokenMajor ? qChannels : 1;
    }

    /** Distance between adjacent channels at one query pixel: a plane in NCHW, 1 token-major. */
    int qChannelStep() {
        return tokenMajor ? 1 : qH * qW;
    }

    /** {@link #qPixelStep} of the keys and values. */
    int kvPixelStep() {
        return tokenMajor ? kvChannels : 1;
    }

    /** {@link #qChannelStep} of the keys and values. */
    int kvChannelStep() {
        return tokenMajor ? 1 : kH * kW;
    }

    /** Queries per block of global attention. */
    public static final int QUERY_BLOCK = 256;

    public int outChannels() {
        return heads * headDim;
    }

    /** Windows down the map, or query blocks for global attention. */
    int windowRows() {
        return grid == 0 ? (qH * qW + QUERY_BLOCK - 1) / QUERY_BLOCK : (qH + grid - 1) / grid;
    }

    int windowCols() {
        return grid == 0 ? 1 : (qW + grid - 1) / grid;
    }

    int maxQueryTokens() {
        return grid == 0 ? Math.min(QUERY_BLOCK, qH * qW) : grid * grid;
    }

    int maxKeyTokens() {
        return grid == 0 ? kH * kW : grid * grid;
    }
}
