package org.transcnn.models;

import org.transcnn.data.DataConfig;

/**
 * The four TransCNN variants. The paper (arXiv 2106.03180 v1) names Small and Base; the official release names
 * Tiny/Small/Medium/Large. SMALL = release Tiny, BASE = release Small (inferred from depths, expansions and the
 * parameter count), so importing {@code TransCNN-Small.pth} yields BASE.
 *
 * <p>All four: head dim 64, grid sizes 8,8,8,1, pooling ratios 8,4,2,1, depthwise kernels 5,3,5,3, SiLU, 256x256.
 */
public enum Preset {
    /** Paper TransCNN-Small = release TransCNN-Tiny: 13,315,976 parameters, 80.4% ImageNet top-1. */
    SMALL("TransCNN-Small", "TransCNN-Tiny", new int[] {64, 128, 256, 512}, new int[] {2, 2, 4, 2},
            new int[] {4, 4, 4, 4}, 13_315_976L, 80.4),
    /** Paper TransCNN-Base = release TransCNN-Small: 26,538,824 parameters, 83.1% top-1. */
    BASE("TransCNN-Base", "TransCNN-Small", new int[] {64, 128, 256, 512}, new int[] {3, 4, 8, 3},
            new int[] {4, 4, 6, 6}, 26_538_824L, 83.1),
    /** Release TransCNN-Medium: 48,322,504 parameters, 83.8% top-1. */
    MEDIUM("-", "TransCNN-Medium", new int[] {64, 128, 320, 640}, new int[] {3, 4, 12, 3},
            new int[] {4, 4, 6, 6}, 48_322_504L, 83.8),
    /** Release TransCNN-Large: 80,033,352 parameters, 84.2% top-1. */
    LARGE("-", "TransCNN-Large", new int[] {64, 128, 384, 768}, new int[] {3, 4, 16, 3},
            new int[] {4, 4, 6, 6}, 80_033_352L, 84.2);

    /** Input height and width the released weights were trained and evaluated at. */
    public static final int NATIVE_SIZE = 256;

    private final String paperName;
    private final String releaseName;
    private final int[] dims;
    private final int[] depths;
    private final int[] expansions;
    private final long parameters;
    private final double imagenetTop1;

    Preset(String paperName, String releaseName, int[] dims, int[] depths, int[] expansions, long parameters,
            double imagenetTop1) {
        this.paperName = paperName;
        this.releaseName = releaseName;
        this.dims = dims;
        this.depths = depths;
        this.expansions = expansions;
        this.parameters = parameters;
        this.imagenetTop1 = imagenetTop1;
    }

    /** The official configuration: 1000 classes, RGB, 256x256. */
    public TransCnnConfig config() {
        return TransCnnConfig.builder()
                .dims(dims)
                .depths(depths)
                .expansions(expansions)
                .build();
    }

    /**
     * How the released weights expect images: {@link DataConfig#imagenet} at the native 256x256 (bicubic, crop
     * fraction 0.875, ImageNet mean and std), the same for all four presets.
     */
    public DataConfig dataConfig() {
        return DataConfig.imagenet(NATIVE_SIZE, NATIVE_SIZE);
    }

    /** Name in the paper (v1), or "-" when the paper has none. */
    public String paperName() {
        return paperName;
    }

    /** Name of the official release and its checkpoint ({@code <name>.pth}). */
    public String releaseName() {
        return releaseName;
    }

    /** Exact trainable parameter count with a 1000-class head (BatchNorm running statistics excluded). */
    public long parameters() {
        return parameters;
    }

    /** ImageNet top-1 (%) of the released weights at 256x256, as reported by the authors. */
    public double imagenetTop1() {
        return imagenetTop1;
    }

    /** Parses a preset name case-insensitively, or a release name such as "TransCNN-Tiny". */
    public static Preset parse(String name) {
        for (Preset p : values()) {
            if (p.name().equalsIgnoreCase(name) || p.releaseName.equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preset '" + name + "': expected one of SMALL, BASE, MEDIUM, "
                + "LARGE (or a release name TransCNN-Tiny/Small/Medium/Large)");
    }
}
