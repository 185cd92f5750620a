package org.transcnn.models;

/**
 * The names of a TransCNN graph's vertices, in one place: they mirror the official module paths (so a checkpoint
 * key is a vertex name plus a parameter name) and are the fine-tuning API (TransferLearning takes them). Stage
 * indices are 0-based, as the official {@code blocks.<stage>} and timm's {@code out_indices}; the downsampling
 * block before stage index s (1..3) keeps its official name {@code ds<s+1>}.
 */
public final class VertexNames {

    public static final String INPUT = "input";
    public static final String INPUT_CHECK = "input.check";
    /** The stem; its sub-vertices are {@code patch_embed.0} .. {@code patch_embed.3}. */
    public static final String STEM = "patch_embed";
    /** The stem's last vertex. */
    public static final String STEM_OUTPUT = STEM + ".3";
    public static final String POOL = "avgpool";
    public static final String HEAD_DROPOUT = "classifier.0";
    public static final String LOGITS = "classifier.1";
    public static final String OUTPUT = "output";

    private static final String BLOCKS = "blocks.";

    private VertexNames() {
    }

    /** Block {@code block} of stage index {@code stage}: {@code blocks.<stage>.<block>}. */
    public static String block(int stage, int block) {
        requireStage(stage, 0);
        if (block < 0) {
            throw new IllegalArgumentException("block index must be >= 0, got " + block);
        }
        return BLOCKS + stage + "." + block;
    }

    /** The downsampling block before stage index {@code stage} (1..3): {@code ds2} .. {@code ds4}. */
    public static String downsample(int stage) {
        requireStage(stage, 1);
        return "ds" + (stage + 1);
    }

    /**
     * The stage index (0..3) a vertex belongs to: its block's stage, or for {@code dsN} and its sub-vertices the
     * stage it leads into; -1 for the stem, the head and anything else.
     */
    public static int stageOf(String vertex) {
        if (vertex.startsWith(BLOCKS)) {
            int end = vertex.indexOf('.', BLOCKS.length());
            String s = vertex.substring(BLOCKS.length(), end < 0 ? vertex.length() : end);
            return s.matches("[0-3]") ? Integer.parseInt(s) : -1;
        }
        if (vertex.matches("ds[2-4](\\..*)?")) {
            return vertex.charAt(2) - '1';
        }
        return -1;
    }

    private static void requireStage(int stage, int min) {
        if (stage < min || stage > 3) {
            throw new IllegalArgumentException("stage index must be " + min + "..3, got " + stage);
        }
    }
}
