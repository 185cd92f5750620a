package org.transcnn.cli;

import org.transcnn.models.TransCnnConfig;
import picocli.CommandLine.Option;

/**
 * The architecture settings a checkpoint does not determine (head dim, grid sizes, pooling ratios), shared by the
 * commands that load official checkpoints; release defaults 64, 8,8,8,1 and 8,4,2,1.
 */
final class ArchitectureOptions {

    @Option(names = "--head-dim", defaultValue = "64", description = "channels per head (default 64)")
    int headDim;

    @Option(names = "--grid-sizes", split = ",", description = "grid size per stage (default 8,8,8,1)")
    int[] gridSizes = {8, 8, 8, 1};

    @Option(names = "--ds-ratios", split = ",", description = "key/value pooling ratio per stage (default 8,4,2,1)")
    int[] dsRatios = {8, 4, 2, 1};

    /** A configuration builder with these settings (the rest at the release defaults, to be inferred). */
    TransCnnConfig.Builder defaults() {
        return TransCnnConfig.builder().headDim(headDim).gridSizes(gridSizes).dsRatios(dsRatios);
    }
}
