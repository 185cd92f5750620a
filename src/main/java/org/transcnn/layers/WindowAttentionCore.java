package org.transcnn.layers;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

import java.util.List;
import java.util.Map;

/**
 * Grid (window) multi-head self-attention of H-MHSA, without parameters.
 *
 * <p>Input {@code qkv}: [B, 3C, H, W] with channel index {@code t*C + head*d + j} (t = 0 query, 1 key, 2 value),
 * as produced by the {@code attn.qkv} 1x1 convolution. The map is split into (H/G) x (W/G) windows of G x G tokens
 * (token (u,v) of window (a,b) is pixel (a*G+u, b*G+v)); within each window and head the output is
 * {@code softmax(q k^T / sqrt(d)) v}. Output: [B, C, H, W] with channel {@code head*d + j}.
 */
public class WindowAttentionCore extends AttentionCore {

    private int gridSize;

    public WindowAttentionCore() {
        // for JSON deserialisation
    }

    /**
     * @param heads    number of heads n (C = n * headDim)
     * @param headDim  channels per head d
     * @param gridSize window side G; height and width must be multiples of it
     * @param height   map height H
     * @param width    map width W
     */
    public WindowAttentionCore(int heads, int headDim, int gridSize, int height, int width) {
        super(heads, headDim, height, width);
        require(gridSize > 0, "gridSize must be > 0, got " + gridSize);
        require(height % gridSize == 0, "map height " + height + " is not a multiple of the grid size " + gridSize);
        require(width % gridSize == 0, "map width " + width + " is not a multiple of the grid size " + gridSize);
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

    @Override
    public SDVariable defineVertex(SameDiff sd, Map<String, SDVariable> in, Map<String, SDVariable> params,
            Map<String, SDVariable> masks) {
        int g = gridSize;
        int rows = height / g;
        int cols = width / g;
        int n = heads;
        int d = headDim;
        // [B, 3, n, d, rows, u, cols, v] -> [3, B, rows, cols, n, u, v, d] -> [3, B*rows*cols*n, G*G, d]
        SDVariable[] qkv = sd.unstack(in.get("qkv").reshape(-1, 3, n, d, rows, g, cols, g)
                .permute(1, 0, 4, 6, 2, 5, 7, 3)
                .reshape(3, -1, (long) g * g, d), 0, 3);
        SDVariable q = qkv[0].mul(1.0 / Math.sqrt(d));
        SDVariable k = qkv[1];
        SDVariable v = qkv[2];
        SDVariable attn = sd.nn().softmax(sd.mmul(q, k, false, true, false), 2);
        // [B*rows*cols*n, G*G, d] -> [B, rows, cols, n, u, v, d] -> [B, n, d, rows, u, cols, v]
        return sd.mmul(attn, v).reshape(-1, rows, cols, n, g, g, d)
                .permute(0, 3, 6, 1, 4, 2, 5)
                .reshape(-1, (long) n * d, height, width);
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
