package org.transcnn.layers;

import org.transcnn.kernels.AttentionLayout;

import java.util.List;

/**
 * Grid (window) multi-head self-attention of H-MHSA, without parameters.
 *
 * <p>Input {@code qkv}: [B, 3C, H, W] with channel index {@code t*C + head*d + j} (t = 0 query, 1 key, 2 value),
 * as produced by the {@code attn.qkv} 1x1 convolution. The map is split into ceil(H/G) x ceil(W/G) windows of up to
 * G x G tokens (token (u,v) of window (a,b) is pixel (a*G+u, b*G+v)); within each window and head the output is
 * {@code softmax(q k^T / sqrt(d)) v}. Output: [B, C, H, W] with channel {@code head*d + j}.
 *
 * <p>Any H and W: when a side is not a multiple of G, the windows at the bottom/right edge are cut by the map and
 * hold fewer tokens. Nothing is padded: the result is what zero-padding to the next multiple of G with the padded
 * tokens masked out of the softmax would give, every real token attending only to the real tokens of its window. At
 * sizes that divide by G this is the official computation.
 */
public class WindowAttentionCore extends AttentionCore {


    private int gridSize;

    public WindowAttentionCore() {
        // for JSON deserialisation
    }

    /**
     * @param heads    number of heads n (C = n * headDim)
     * @param headDim  channels per head d
     * @param gridSize window side G (edge windows are cut where the map does not divide by it)
     * @param height   map height H
     * @param width    map width W
     */
    public WindowAttentionCore(int heads, int headDim, int gridSize, int height, int width) {
        super(heads, headDim, height, width);
        require(gridSize > 0, "gridSize must be > 0, got " + gridSize);
        this.gridSize = gridSize;
    }

    @Override
    protected List<String> inputNames() {
        return List.of("qkv");
    }

    @Override
    protected long[][] expectedInputShapes() {
        return new long[][] {{3L * channels(), height, width}};
    }

    /** True when H or W is not a multiple of G, so the edge windows are cut by the map. */
    public boolean cutsEdgeWindows() {
        return height % gridSize != 0 || width % gridSize != 0;
    }

    @Override
    AttentionLayout layout(int batch) {
        int c = channels();
        return new AttentionLayout(batch, heads, headDim, 3 * c, 0, height, width, 3 * c, c, 2 * c, height,
                width, gridSize);
    }

    public int getGridSize() {
        return gridSize;
    }

    public void setGridSize(int gridSize) {
        this.gridSize = gridSize;
    }

    @Override
    public WindowAttentionCore clone() {
        return new WindowAttentionCore(heads, headDim, gridSize, height, width);
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o) && ((WindowAttentionCore) o).gridSize == gridSize;
    }

    @Override
    public int hashCode() {
        return 31 * super.hashCode() + gridSize;
    }
}
