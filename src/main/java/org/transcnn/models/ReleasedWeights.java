package org.transcnn.models;

import org.transcnn.data.DataConfig;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The checkpoints the authors released, as metadata beside the architectures they fit (as torchvision's weights
 * enums sit beside its model builders): file name, release and paper names, ImageNet top-1, parameter count and the
 * data configuration they expect. The release names do not match the paper's: release TransCNN-Tiny is the paper's
 * TransCNN-Small ({@link Preset#SMALL}), release TransCNN-Small the paper's TransCNN-Base ({@link Preset#BASE}).
 *
 * <pre>{@code
 * ReleasedWeights w = ReleasedWeights.TRANSCNN_TINY;
 * ComputationGraph net = TransCnnWeights.loadModel(Path.of(w.fileName()), TransCNN.builder(w.preset()));
 * ImagePreprocessor pre = new ImagePreprocessor(w.dataConfig());
 * }</pre>
 */
public enum ReleasedWeights {
    /** {@code TransCNN-Tiny.pth}: the paper's TransCNN-Small, 80.4% ImageNet top-1. */
    TRANSCNN_TINY(Preset.SMALL, "TransCNN-Tiny", "TransCNN-Small", 13_315_976L, 80.4),
    /** {@code TransCNN-Small.pth}: the paper's TransCNN-Base, 83.1% top-1. */
    TRANSCNN_SMALL(Preset.BASE, "TransCNN-Small", "TransCNN-Base", 26_538_824L, 83.1),
    /** {@code TransCNN-Medium.pth} (not in the paper), 83.8% top-1. */
    TRANSCNN_MEDIUM(Preset.MEDIUM, "TransCNN-Medium", null, 48_322_504L, 83.8),
    /** {@code TransCNN-Large.pth} (not in the paper), 84.2% top-1. */
    TRANSCNN_LARGE(Preset.LARGE, "TransCNN-Large", null, 80_033_352L, 84.2);

    /** Input height and width the released weights were trained and evaluated at. */
    public static final int NATIVE_SIZE = 256;

    private final Preset preset;
    private final String releaseName;
    private final String paperName;
    private final long parameters;
    private final double imagenetTop1;

    ReleasedWeights(Preset preset, String releaseName, String paperName, long parameters, double imagenetTop1) {
        this.preset = preset;
        this.releaseName = releaseName;
        this.paperName = paperName;
        this.parameters = parameters;
        this.imagenetTop1 = imagenetTop1;
    }

    /** The architecture these weights fit. */
    public Preset preset() {
        return preset;
    }

    /** The released weights of {@code preset}. */
    public static ReleasedWeights of(Preset preset) {
        for (ReleasedWeights w : values()) {
            if (w.preset == preset) {
                return w;
            }
        }
        throw new IllegalStateException("no released weights for " + preset);
    }

    /** Name of the release, e.g. "TransCNN-Tiny". */
    public String releaseName() {
        return releaseName;
    }

    /** The checkpoint's file name, {@code <release name>.pth}. */
    public String fileName() {
        return releaseName + ".pth";
    }

    /** The architecture's name in the paper (v1), or null when the paper has none. */
    public String paperName() {
        return paperName;
    }

    /** Exact trainable parameter count with the 1000-class head (BatchNorm running statistics excluded). */
    public long parameters() {
        return parameters;
    }

    /** ImageNet top-1 (%) at 256x256, as reported by the authors. */
    public double imagenetTop1() {
        return imagenetTop1;
    }

    /**
     * How these weights expect images: {@link DataConfig#imagenet} at the native 256x256 (bicubic, crop fraction
     * 0.875, ImageNet mean and std), the same for all four releases.
     */
    public DataConfig dataConfig() {
        return DataConfig.imagenet(NATIVE_SIZE, NATIVE_SIZE);
    }

    /**
     * Parses a constant name ({@code TRANSCNN_TINY}), a release name ({@code TransCNN-Tiny}) or a file name
     * ({@code TransCNN-Tiny.pth}), case-insensitively: all of them name a release, never a paper architecture.
     */
    public static ReleasedWeights parse(String name) {
        for (ReleasedWeights w : values()) {
            if (w.name().equalsIgnoreCase(name) || w.releaseName.equalsIgnoreCase(name)
                    || w.fileName().equalsIgnoreCase(name)) {
                return w;
            }
        }
        throw new IllegalArgumentException("unknown released weights '" + name + "': expected one of "
                + Arrays.stream(values()).map(w -> w.releaseName).collect(Collectors.joining(", "))
                + " (or their .pth file names)");
    }
}
