package org.transcnn.kernels;

/**
 * Geometry of one attention call of {@link AttentionFloat} (and its double twin): queries from channels
 * {@code qOffset + head*d + j} of a [B, qChannels, qH, qW] array; keys and values from channels
 * {@code kOffset + head*d + j} and {@code vOffset + head*d + j} of a [B, kvChannels, kH, kW] array.
 *
 * @param grid window side, or 0 for global attention
 */
public record AttentionLayout(int batch, int heads, int headDim, int qChannels, int qOffset, int qH, int qW,
        int kvChannels, int kOffset, int vOffset, int kH, int kW, int grid) {

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
