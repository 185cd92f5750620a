package org.transcnn.layers;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

/**
 * Grid (window) multi-head self-attention of H-MHSA, without parameters.
 *
 * <p>Input {@code qkv}: [B, 3C, H, W] with channel index {@code t*C + head*d + j} (t = 0 query, 1 key, 2 value),
 * as produced by the {@code attn.qkv} 1x1 convolution. The map is split into (H/G) x (W/G) windows of G x G tokens
 * (token (u,v) of window (a,b) is pixel (a*G+u, b*G+v)); within each window and head the output is
 * {@code softmax(q k^T / sqrt(d)) v}. Output: [B, C, H, W] with channel {@code head*d + j}.
 *
 * <p>Any H and W: when a side is not a multiple of G, the map is zero-padded at the bottom/right up to the next
 * multiple, the padded key tokens are masked out of the softmax (they receive exactly zero attention weight, so
 * every real token attends only to the real tokens of its window) and the output is cropped back to H x W. At
 * sizes that divide by G nothing is padded or masked and the computation is the official one.
 */
public class WindowAttentionCore extends AttentionCore {

    /** Logit given to padded key tokens: exp(-1e30 - max) is exactly 0 in float and double. */
    static final double MASKED = -1e30;

    private int gridSize;

    public WindowAttentionCore() {
        // for JSON deserialisation
    }

    /**
     * @param heads    number of heads n (C = n * headDim)
     * @param headDim  channels per head d
     * @param gridSize window side G (the map is padded to multiples of it and the padding masked)
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

    /** True when H or W is not a multiple of G, so the map is padded and the padding masked. */
    public boolean isPadded() {
        return height % gridSize != 0 || width % gridSize != 0;
    }

    @Override
    public SDVariable defineVertex(SameDiff sd, Map<String, SDVariable> in, Map<String, SDVariable> params,
            Map<String, SDVariable> masks) {
        int g = gridSize;
        int rows = (height + g - 1) / g;
        int cols = (width + g - 1) / g;
        int n = heads;
        int d = headDim;
        SDVariable x = in.get("qkv");
        if (isPadded()) {
            x = padEnd(sd, x, 3, cols * g - width);
            x = padEnd(sd, x, 2, rows * g - height);
        }
        // [B, 3, n, d, rows, u, cols, v] -> [3, B, rows, cols, n, u, v, d] -> [3, B*rows*cols*n, G*G, d]
        SDVariable[] qkv = sd.unstack(x.reshape(-1, 3, n, d, rows, g, cols, g)
                .permute(1, 0, 4, 6, 2, 5, 7, 3)
                .reshape(3, -1, (long) g * g, d), 0, 3);
        SDVariable q = qkv[0].mul(1.0 / Math.sqrt(d));
        SDVariable k = qkv[1];
        SDVariable v = qkv[2];
        SDVariable logits = sd.mmul(q, k, false, true, false);
        if (isPadded()) {
            // [B, rows*cols, n, query, key] + [rows*cols, 1, 1, key]: padded keys get a logit of -1e30
            logits = logits.reshape(-1, (long) rows * cols, n, (long) g * g, (long) g * g)
                    .add(sd.constant(keyMask(x.dataType())))
                    .reshape(-1, (long) g * g, (long) g * g);
        }
        SDVariable attn = sd.nn().softmax(logits, 2);
        // [B*rows*cols*n, G*G, d] -> [B, rows, cols, n, u, v, d] -> [B, n, d, rows, u, cols, v]
        SDVariable out = sd.mmul(attn, v).reshape(-1, rows, cols, n, g, g, d)
                .permute(0, 3, 6, 1, 4, 2, 5)
                .reshape(-1, (long) n * d, (long) rows * g, (long) cols * g);
        if (isPadded()) {
            out = sd.slice(out, new int[] {0, 0, 0, 0}, -1, -1, height, width);
        }
        return out;
    }

    /** Appends {@code count} zeros to axis {@code axis} (2 or 3) of a rank-4 variable (concat: no Pad op). */
    private static SDVariable padEnd(SameDiff sd, SDVariable x, int axis, int count) {
        if (count == 0) {
            return x;
        }
        SDVariable shape = x.shape();
        SDVariable zerosShape = axis == 3
                ? sd.concat(0, sd.slice(shape, new int[] {0}, 3), sd.constant(Nd4j.createFromArray((long) count)))
                : sd.concat(0, sd.slice(shape, new int[] {0}, 2), sd.constant(Nd4j.createFromArray((long) count)),
                        sd.slice(shape, new int[] {3}, 1));
        return sd.concat(axis, x, sd.fill(zerosShape, x.dataType(), 0.0));
    }

    /** [rows*cols, 1, 1, G*G]: 0 for a real key token of the window, -1e30 for a padded one. */
    private INDArray keyMask(DataType type) {
        int g = gridSize;
        int rows = (height + g - 1) / g;
        int cols = (width + g - 1) / g;
        INDArray mask = Nd4j.zeros(type, (long) rows * cols, 1, 1, (long) g * g);
        for (int a = 0; a < rows; a++) {
            for (int b = 0; b < cols; b++) {
                for (int u = 0; u < g; u++) {
                    for (int v = 0; v < g; v++) {
                        if (a * g + u >= height || b * g + v >= width) {
                            mask.putScalar(new long[] {(long) a * cols + b, 0, 0, (long) u * g + v}, MASKED);
                        }
                    }
                }
            }
        }
        return mask;
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
