package org.transcnn.models;

import org.transcnn.data.DataConfig;

/**
 * The four TransCNN architectures. The paper (arXiv 2106.03180 v1) has Small and Base; the release adds Medium and
 * Large. The checkpoints the authors released, under other names (release TransCNN-Tiny is SMALL, TransCNN-Small is
 * BASE), are described by {@link ReleasedWeights}.
 *
 * <p>All four: head dim 64, grid sizes 8,8,8,1, pooling ratios 8,4,2,1, depthwise kernels 5,3,5,3, SiLU, 256x256.
 */
public enum Preset {
    /** Paper TransCNN-Small: dims 64/128/256/512, depths 2/2/4/2, expansions 4/4/4/4. */
    SMALL(new int[] {64, 128, 256, 512}, new int[] {2, 2, 4, 2}, new int[] {4, 4, 4, 4}),
    /** Paper TransCNN-Base: dims 64/128/256/512, depths 3/4/8/3, expansions 4/4/6/6. */
    BASE(new int[] {64, 128, 256, 512}, new int[] {3, 4, 8, 3}, new int[] {4, 4, 6, 6}),
    /** Release TransCNN-Medium: dims 64/128/320/640, depths 3/4/12/3, expansions 4/4/6/6. */
    MEDIUM(new int[] {64, 128, 320, 640}, new int[] {3, 4, 12, 3}, new int[] {4, 4, 6, 6}),
    /** Release TransCNN-Large: dims 64/128/384/768, depths 3/4/16/3, expansions 4/4/6/6. */
    LARGE(new int[] {64, 128, 384, 768}, new int[] {3, 4, 16, 3}, new int[] {4, 4, 6, 6});

    /** @deprecated use {@link ReleasedWeights#NATIVE_SIZE}. */
    @Deprecated
    public static final int NATIVE_SIZE = ReleasedWeights.NATIVE_SIZE;

    private final int[] dims;
    private final int[] depths;
    private final int[] expansions;

    Preset(int[] dims, int[] depths, int[] expansions) {
        this.dims = dims;
        this.depths = depths;
        this.expansions = expansions;
    }

    /** The official configuration: 1000 classes, RGB, 256x256. */
    public TransCnnConfig config() {
        return TransCnnConfig.builder()
                .dims(dims)
                .depths(depths)
                .expansions(expansions)
                .build();
    }

    /** The checkpoint released for this architecture. */
    public ReleasedWeights weights() {
        return ReleasedWeights.of(this);
    }

    /** @deprecated the data configuration belongs to the weights: use {@code weights().dataConfig()}. */
    @Deprecated
    public DataConfig dataConfig() {
        return weights().dataConfig();
    }

    /** @deprecated use {@code weights().paperName()} (null, not "-", when the paper has none). */
    @Deprecated
    public String paperName() {
        return weights().paperName() == null ? "-" : weights().paperName();
    }

    /** @deprecated use {@code weights().releaseName()}. */
    @Deprecated
    public String releaseName() {
        return weights().releaseName();
    }

    /** @deprecated use {@code weights().parameters()}. */
    @Deprecated
    public long parameters() {
        return weights().parameters();
    }

    /** @deprecated use {@code weights().imagenetTop1()}. */
    @Deprecated
    public double imagenetTop1() {
        return weights().imagenetTop1();
    }

    /**
     * Parses SMALL, BASE, MEDIUM or LARGE, case-insensitively. A "TransCNN-..." name is refused: the paper and the
     * release use the same names for different architectures (paper TransCNN-Small is SMALL, release TransCNN-Small
     * is BASE), so the message names both readings; {@link ReleasedWeights#parse} reads release names.
     */
    public static Preset parse(String name) {
        for (Preset p : values()) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        String hint = "";
        if (name != null && name.toLowerCase(java.util.Locale.ROOT).startsWith("transcnn-")) {
            String suffix = name.substring("transcnn-".length());
            StringBuilder readings = new StringBuilder();
            for (ReleasedWeights w : ReleasedWeights.values()) {
                if (w.paperName() != null && w.paperName().equalsIgnoreCase(name)) {
                    readings.append("; paper ").append(w.paperName()).append(" is ").append(w.preset());
                }
                if (w.releaseName().equalsIgnoreCase(name)) {
                    readings.append("; release ").append(w.releaseName()).append(" (").append(w.fileName())
                            .append(") is ").append(w.preset());
                }
            }
            hint = readings.length() > 0 ? " (" + readings.substring(2) + ")"
                    : " (no paper or release architecture is called '" + suffix + "')";
        }
        throw new IllegalArgumentException("unknown preset '" + name + "'" + hint
                + ": expected one of SMALL, BASE, MEDIUM, LARGE");
    }
}
