package org.transcnn.layers;

import org.transcnn.kernels.AttentionLayout;


import java.util.List;

/**
 * Global multi-head attention of H-MHSA, without parameters: every one of the H*W query tokens attends to all
 * key/value tokens, {@code softmax(q k^T / sqrt(d)) v}, tokens in row-major order.
 *
 * <p>Two forms:
 * <ul>
 *   <li>separate ({@link #pooled}): inputs {@code q} [B, C, H, W] (channel {@code head*d + j}) and {@code kv}
 *       [B, 2C, h, w] (channel {@code t*C + head*d + j}, t = 0 key, 1 value), the keys and values coming from the
 *       average-pooled map (stages with grid size &gt; 1);</li>
 *   <li>fused ({@link #fused}): one input {@code qkv} [B, 3C, H, W] (channel {@code t*C + head*d + j}), plain
 *       global self-attention (grid size 1, the last stage).</li>
 * </ul>
 * Output: [B, C, H, W], channel {@code head*d + j}.
 */
public class GlobalAttentionCore extends AttentionCore {

    private boolean fusedQkv;
    private int kvHeight;
    private int kvWidth;

    public GlobalAttentionCore() {
        // for JSON deserialisation
    }

    private GlobalAttentionCore(int heads, int headDim, int height, int width, boolean fusedQkv, int kvHeight,
            int kvWidth) {
        super(heads, headDim, height, width);
        require(kvHeight > 0 && kvWidth > 0, "key/value map must be at least 1x1, got " + kvHeight + "x" + kvWidth);
        this.fusedQkv = fusedQkv;
        this.kvHeight = kvHeight;
        this.kvWidth = kvWidth;
    }

    /** Plain global self-attention over a fused [B, 3C, H, W] qkv input. */
    public static GlobalAttentionCore fused(int heads, int headDim, int height, int width) {
        return new GlobalAttentionCore(heads, headDim, height, width, true, height, width);
    }

    /** Queries [B, C, H, W] attending to keys/values [B, 2C, kvHeight, kvWidth]. */
    public static GlobalAttentionCore pooled(int heads, int headDim, int height, int width, int kvHeight,
            int kvWidth) {
        return new GlobalAttentionCore(heads, headDim, height, width, false, kvHeight, kvWidth);
    }

    @Override
    protected List<String> inputNames() {
        return fusedQkv ? List.of("qkv") : List.of("q", "kv");
    }

    @Override
    protected long[][] expectedInputShapes() {
        long c = channels();
        return fusedQkv
                ? new long[][] {{3 * c, height, width}}
                : new long[][] {{c, height, width}, {2 * c, kvHeight, kvWidth}};
    }

    @Override
    AttentionLayout layout(int batch) {
        int c = channels();
        return fusedQkv
                ? new AttentionLayout(batch, heads, headDim, 3 * c, 0, height, width, 3 * c, c, 2 * c, height,
                        width, 0)
                : new AttentionLayout(batch, heads, headDim, c, 0, height, width, 2 * c, 0, c, kvHeight,
                        kvWidth, 0);
    }

    public boolean isFusedQkv() {
        return fusedQkv;
    }

    public void setFusedQkv(boolean fusedQkv) {
        this.fusedQkv = fusedQkv;
    }

    public int getKvHeight() {
        return kvHeight;
    }

    public void setKvHeight(int kvHeight) {
        this.kvHeight = kvHeight;
    }

    public int getKvWidth() {
        return kvWidth;
    }

    public void setKvWidth(int kvWidth) {
        this.kvWidth = kvWidth;
    }

    @Override
    public GlobalAttentionCore clone() {
        return new GlobalAttentionCore(heads, headDim, height, width, fusedQkv, kvHeight, kvWidth);
    }

    @Override
    public boolean equals(Object o) {
        if (!super.equals(o)) {
            return false;
        }
        GlobalAttentionCore g = (GlobalAttentionCore) o;
        return fusedQkv == g.fusedQkv && kvHeight == g.kvHeight && kvWidth == g.kvWidth;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * super.hashCode() + (fusedQkv ? 1 : 0)) + kvHeight) + kvWidth;
    }
}
