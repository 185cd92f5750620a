package org.transcnn.models;

import org.nd4j.linalg.activations.IActivation;
import org.transcnn.layers.ExactGELU;
import org.nd4j.linalg.activations.impl.ActivationSwish;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Immutable, validated TransCNN architecture: a stem of stride {@code stemStride} (4 in the official model, so
 * stages at strides 4, 8, 16, 32; 2 for small images), four stages of {@code depths[s]} blocks, each at twice the
 * previous stride, with {@code dims[s]} channels, and the input it is built for. Create with {@link #builder()} or
 * {@link Preset#config()}; derive variants with {@link #toBuilder()}. Every invalid combination fails in
 * {@link Builder#build()} with a message naming the field, the stage and the value.
 */
public final class TransCnnConfig {

    /** Activation used throughout the network. */
    public enum Act {
        /** SiLU (swish), the official choice. */
        SILU,
        /** Exact (erf) GELU, as PyTorch's nn.GELU. */
        GELU;

        public IActivation create() {
            return this == SILU ? new ActivationSwish() : new ExactGELU();
        }
    }

    /** Total stride of the official network (stem stride 4); inputs must be multiples of {@link #stride()}. */
    public static final int STRIDE = 32;

    /** The official stem's stride: two stride-2 convolutions. */
    public static final int STEM_STRIDE = 4;

    private final int[] dims;
    private final int[] depths;
    private final int[] expansions;
    private final int[] kernelSizes;
    private final int[] gridSizes;
    private final int[] dsRatios;
    private final int headDim;
    private final int numClasses;
    private final int inChannels;
    private final int height;
    private final int width;
    private final double dropRate;
    private final double dropPathRate;
    private final double headDropRate;
    private final Act activation;
    private final boolean[] attention;
    private final int stemStride;

    private TransCnnConfig(Settings<?> b) {
        this.dims = b.dims.clone();
        this.depths = b.depths.clone();
        this.expansions = b.expansions.clone();
        this.kernelSizes = b.kernelSizes.clone();
        this.gridSizes = b.gridSizes.clone();
        this.dsRatios = b.dsRatios.clone();
        this.headDim = b.headDim;
        this.numClasses = b.numClasses;
        this.inChannels = b.inChannels;
        this.height = b.height;
        this.width = b.width;
        this.dropRate = b.dropRate;
        this.dropPathRate = b.dropPathRate;
        this.headDropRate = b.headDropRate;
        this.activation = b.activation;
        this.attention = perStage(b.attentionStages);
        this.stemStride = b.stemStride;
        validate();
    }

    /** Stage s's flag set for each index of {@code stages}; the attentionStages error if one is invalid. */
    private static boolean[] perStage(int[] stages) {
        boolean[] perStage = new boolean[4];
        try {
            for (int s : checkAttentionStages(stages)) {
                perStage[s] = true;
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("attentionStages " + Arrays.toString(stages) + ": " + e.getMessage());
        }
        return perStage;
    }

    /**
     * {@code stages} ascending, if each is a stage index 0..3 that appears once; otherwise an error naming the index
     * (without the setting's name, which the caller adds: {@code attentionStages} here, {@code --attention-stages}
     * on the command line).
     */
    public static int[] checkAttentionStages(int... stages) {
        boolean[] seen = new boolean[4];
        for (int s : stages) {
            if (s < 0 || s > 3) {
                throw new IllegalArgumentException("stage index " + s + " is out of range: expected 0..3 (0-based: "
                        + "0 is stage 1, at the largest maps)");
            }
            if (seen[s]) {
                throw new IllegalArgumentException("stage index " + s + " appears twice");
            }
            seen[s] = true;
        }
        return IntStream.range(0, 4).filter(s -> seen[s]).toArray();
    }

    private void validate() {
        fourPositive("dims", dims);
        fourPositive("expansions", expansions);
        fourPositive("kernelSizes", kernelSizes);
        fourPositive("gridSizes", gridSizes);
        fourPositive("dsRatios", dsRatios);
        if (depths == null || depths.length != 4) {
            throw new IllegalArgumentException("depths must have 4 entries (one per stage), got "
                    + Arrays.toString(depths));
        }
        for (int s = 0; s < 4; s++) {
            if (depths[s] < 1) {
                throw new IllegalArgumentException("depths[" + s + "] must be >= 1, got " + depths[s]);
            }
            if (kernelSizes[s] % 2 == 0) {
                throw new IllegalArgumentException("kernelSizes[" + s + "] must be odd, got " + kernelSizes[s]);
            }
        }
        if (headDim < 1) {
            throw new IllegalArgumentException("headDim must be >= 1, got " + headDim);
        }
        for (int s = 0; s < 4; s++) {
            if (attention[s] && dims[s] % headDim != 0) {
                throw new IllegalArgumentException("dims[" + s + "] = " + dims[s] + " is not divisible by headDim "
                        + headDim + " (heads per stage = dims / headDim; stage " + (s + 1) + " has H-MHSA)");
            }
        }
        if (numClasses < 0) {
            throw new IllegalArgumentException("numClasses must be >= 1 for a classifier head (or 0 for no head), got "
                    + numClasses);
        }
        if (inChannels < 1) {
            throw new IllegalArgumentException("inChannels must be >= 1, got " + inChannels);
        }
        if (stemStride != 2 && stemStride != 4) {
            throw new IllegalArgumentException("stemStride must be 4 (the official stem: two stride-2 convolutions) or "
                    + "2 (the first convolution at stride 1), got " + stemStride);
        }
        checkSize("height", height);
        checkSize("width", width);
        for (int s = 0; s < 4; s++) {
            int h = stageHeight(s);
            int w = stageWidth(s);
            if (attention[s] && gridSizes[s] > 1 && (h / dsRatios[s] < 1 || w / dsRatios[s] < 1)) {
                throw new IllegalArgumentException("dsRatios[" + s + "] = " + dsRatios[s]
                        + " does not fit stage " + (s + 1) + ", which has H-MHSA: its map is only " + h + "x" + w
                        + " (HxW)");
            }
        }
        rate("dropRate", dropRate);
        rate("dropPathRate", dropPathRate);
        rate("headDropRate", headDropRate);
        if (activation == null) {
            throw new IllegalArgumentException("activation must not be null");
        }
    }

    private static void fourPositive(String name, int[] v) {
        if (v == null || v.length != 4) {
            throw new IllegalArgumentException(name + " must have 4 entries (one per stage), got " + Arrays.toString(v));
        }
        for (int s = 0; s < 4; s++) {
            if (v[s] < 1) {
                throw new IllegalArgumentException(name + "[" + s + "] must be >= 1, got " + v[s]);
            }
        }
    }

    private void checkSize(String name, int v) {
        int stride = stride();
        if (v < stride || v % stride != 0) {
            throw new IllegalArgumentException("input " + name + " " + v + " is not supported: it must be a positive "
                    + "multiple of " + stride + " (the network's total stride" + (stemStride == STEM_STRIDE ? ""
                    : ", 8 x stem stride " + stemStride) + ")");
        }
    }

    private static void rate(String name, double v) {
        if (!(v >= 0 && v < 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1), got " + v);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder initialised with this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.dims = dims.clone();
        b.depths = depths.clone();
        b.expansions = expansions.clone();
        b.kernelSizes = kernelSizes.clone();
        b.gridSizes = gridSizes.clone();
        b.dsRatios = dsRatios.clone();
        b.headDim = headDim;
        b.numClasses = numClasses;
        b.inChannels = inChannels;
        b.height = height;
        b.width = width;
        b.dropRate = dropRate;
        b.dropPathRate = dropPathRate;
        b.headDropRate = headDropRate;
        b.activation = activation;
        b.attentionStages = attentionStages();
        b.stemStride = stemStride;
        return b;
    }

    /** Height of stage {@code s}'s map (0-based stage): H / stemStride / 2^s. */
    public int stageHeight(int s) {
        return height / reduction(s);
    }

    /** Width of stage {@code s}'s map (0-based stage): W / stemStride / 2^s. */
    public int stageWidth(int s) {
        return width / reduction(s);
    }

    /** Stride of stage {@code s}'s map (0-based stage) relative to the input: stemStride * 2^s. */
    public int reduction(int s) {
        return stemStride << s;
    }

    /** Total stride of the network: 8 x {@link #stemStride()} (32 for the official stem). */
    public int stride() {
        return reduction(3);
    }

    /** Stride of the stem: 4 (official) or 2. */
    public int stemStride() {
        return stemStride;
    }

    /** Blocks over all stages. */
    public int totalBlocks() {
        return depths[0] + depths[1] + depths[2] + depths[3];
    }

    /** Drop-path rate of block {@code j} counted over all stages: linspace(0, dropPathRate, totalBlocks)[j]. */
    public double blockDropPathRate(int j) {
        int n = totalBlocks();
        return n == 1 ? 0.0 : dropPathRate * j / (n - 1);
    }

    public int dim(int s) {
        return dims[s];
    }

    public int[] dims() {
        return dims.clone();
    }

    public int[] depths() {
        return depths.clone();
    }

    public int[] expansions() {
        return expansions.clone();
    }

    public int[] kernelSizes() {
        return kernelSizes.clone();
    }

    public int[] gridSizes() {
        return gridSizes.clone();
    }

    public int[] dsRatios() {
        return dsRatios.clone();
    }

    public int headDim() {
        return headDim;
    }

    public int numClasses() {
        return numClasses;
    }

    public int inChannels() {
        return inChannels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public double dropRate() {
        return dropRate;
    }

    public double dropPathRate() {
        return dropPathRate;
    }

    public double headDropRate() {
        return headDropRate;
    }

    public Act activation() {
        return activation;
    }

    /** Whether any stage's blocks carry H-MHSA: false for the IRB-only ablation. */
    public boolean attention() {
        return attentionStages().length > 0;
    }

    /** Whether the blocks of stage {@code s} (0-based) carry H-MHSA; IRB-only blocks where not. */
    public boolean attention(int s) {
        return attention[s];
    }

    /** The 0-based stages whose blocks carry H-MHSA, ascending: {0, 1, 2, 3} by default, none for the ablation. */
    public int[] attentionStages() {
        return IntStream.range(0, 4).filter(s -> attention[s]).toArray();
    }

    @Override
    public String toString() {
        return "TransCnnConfig{dims=" + Arrays.toString(dims) + ", depths=" + Arrays.toString(depths)
                + ", expansions=" + Arrays.toString(expansions) + ", kernelSizes=" + Arrays.toString(kernelSizes)
                + ", gridSizes=" + Arrays.toString(gridSizes) + ", dsRatios=" + Arrays.toString(dsRatios)
                + ", headDim=" + headDim + ", numClasses=" + numClasses + ", inChannels=" + inChannels
                + ", input=" + height + "x" + width + ", dropRate=" + dropRate + ", dropPathRate=" + dropPathRate
                + ", headDropRate=" + headDropRate + ", activation=" + activation + ", attentionStages="
                + Arrays.toString(attentionStages())
                + (stemStride == STEM_STRIDE ? "" : ", stemStride=" + stemStride) + "}";
    }

    /**
     * The architecture settings, with the official defaults: H-MHSA in every stage, release grid sizes 8,8,8,1,
     * pooling ratios 8,4,2,1, kernels 5,3,5,3, head dim 64, 1000 classes, RGB 256x256, SiLU, head dropout 0.2, no
     * block dropout or drop path.
     * Both {@link Builder} and {@code TransCNN.Builder} inherit these setters, so each setting is set one way.
     */
    public abstract static class Settings<B extends Settings<B>> {
        int[] dims = {64, 128, 256, 512};
        int[] depths = {2, 2, 4, 2};
        int[] expansions = {4, 4, 4, 4};
        int[] kernelSizes = {5, 3, 5, 3};
        int[] gridSizes = {8, 8, 8, 1};
        int[] dsRatios = {8, 4, 2, 1};
        int headDim = 64;
        int numClasses = 1000;
        int inChannels = 3;
        int height = 256;
        int width = 256;
        double dropRate;
        double dropPathRate;
        double headDropRate = 0.2;
        Act activation = Act.SILU;
        int[] attentionStages = {0, 1, 2, 3};
        int stemStride = STEM_STRIDE;

        Settings() {
        }

        /** This builder, typed as the subclass, so that the setters chain. */
        protected abstract B self();

        /** Channels C1..C4 of the four stages. */
        public B dims(int... dims) {
            this.dims = dims.clone();
            return self();
        }

        /** Blocks per stage. */
        public B depths(int... depths) {
            this.depths = depths.clone();
            return self();
        }

        /** IRB expansion ratio per stage. */
        public B expansions(int... expansions) {
            this.expansions = expansions.clone();
            return self();
        }

        /** IRB depthwise kernel size per stage (odd). */
        public B kernelSizes(int... kernelSizes) {
            this.kernelSizes = kernelSizes.clone();
            return self();
        }

        /** Window side G1 per stage; 1 = plain global attention (used in stages with H-MHSA). */
        public B gridSizes(int... gridSizes) {
            this.gridSizes = gridSizes.clone();
            return self();
        }

        /** Key/value average-pooling ratio G2 per stage (used where the grid size is &gt; 1). */
        public B dsRatios(int... dsRatios) {
            this.dsRatios = dsRatios.clone();
            return self();
        }

        /** Channels per attention head (each stage with H-MHSA needs dims divisible by it). */
        public B headDim(int headDim) {
            this.headDim = headDim;
            return self();
        }

        /** Classes of the classifier head; 0 = no head (the output is the pooled C4 embedding). */
        public B numClasses(int numClasses) {
            this.numClasses = numClasses;
            return self();
        }

        /** Input channels. */
        public B inChannels(int inChannels) {
            this.inChannels = inChannels;
            return self();
        }

        /**
         * Input height and width, each a multiple of 32 (a stage map that does not divide by its grid size has its
         * edge windows cut).
         */
        public B inputSize(int height, int width) {
            this.height = height;
            this.width = width;
            return self();
        }

        /** Dropout2d rate inside the blocks (official drop_rate). */
        public B dropRate(double dropRate) {
            this.dropRate = dropRate;
            return self();
        }

        /** Stochastic depth: the last block's drop-path rate, rising linearly from 0 at the first block. */
        public B dropPathRate(double dropPathRate) {
            this.dropPathRate = dropPathRate;
            return self();
        }

        /** Dropout before the classifier (0.2 in the official code). */
        public B headDropRate(double headDropRate) {
            this.headDropRate = headDropRate;
            return self();
        }

        public B activation(Act activation) {
            this.activation = activation;
            return self();
        }

        /**
         * False removes H-MHSA from every block (the paper's IRB-only ablation), true puts it into every block (the
         * default); {@link #attentionStages} chooses per stage.
         */
        public B attention(boolean attention) {
            this.attentionStages = attention ? new int[] {0, 1, 2, 3} : new int[0];
            return self();
        }

        /**
         * The 0-based stages whose blocks carry H-MHSA (as timm's {@code out_indices} count stages); the blocks of
         * the other stages are IRB-only. {@code attentionStages(0)} keeps attention at the largest maps only, where
         * its windows and pooled keys have the most pixels to work with; {@code attentionStages()} is the ablation.
         * Each index must be 0..3 and appear once (checked by {@link Builder#build()}).
         */
        public B attentionStages(int... stages) {
            this.attentionStages = stages.clone();
            return self();
        }

        /**
         * Stride of the stem: 4, the official two stride-2 convolutions ({@code patch_embed}), or 2, which runs the
         * first of them at stride 1, so that every stage sees a map twice as high and wide (for small images such as
         * 28x28 Fashion-MNIST, where a stride-4 stem leaves stage 1 at 8x8). The parameters are the same either way.
         */
        public B stemStride(int stemStride) {
            this.stemStride = stemStride;
            return self();
        }

        /**
         * The grid sizes set so far, not yet validated: for code that completes a configuration from other sources
         * (such as {@code TransCnnWeights.inferConfig}, which turns the grids of stages without grid attention to
         * 1) before the one validation in {@link #build}.
         */
        public int[] currentGridSizes() {
            return gridSizes.clone();
        }

        /** Copies every setting of {@code other} into this builder. */
        void copyFrom(Settings<?> other) {
            dims = other.dims.clone();
            depths = other.depths.clone();
            expansions = other.expansions.clone();
            kernelSizes = other.kernelSizes.clone();
            gridSizes = other.gridSizes.clone();
            dsRatios = other.dsRatios.clone();
            headDim = other.headDim;
            numClasses = other.numClasses;
            inChannels = other.inChannels;
            height = other.height;
            width = other.width;
            dropRate = other.dropRate;
            dropPathRate = other.dropPathRate;
            headDropRate = other.headDropRate;
            activation = other.activation;
            attentionStages = other.attentionStages.clone();
            stemStride = other.stemStride;
        }

        /** The configuration these settings describe; every invalid combination fails here. */
        TransCnnConfig toConfig() {
            return new TransCnnConfig(this);
        }
    }

    /**
     * Builder of a configuration alone, with the official defaults (see {@link Settings}); {@code TransCNN.Builder}
     * has the same settings (one set of setters, inherited by both) plus those of the network.
     */
    public static final class Builder extends Settings<Builder> {

        private Builder() {
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** An independent builder with the same settings (neither validates until {@link #build}). */
        public Builder copy() {
            Builder b = new Builder();
            b.copyFrom(this);
            return b;
        }

        public TransCnnConfig build() {
            return toConfig();
        }
    }
}
