package org.transcnn.cli;

import org.transcnn.models.TransCNN;
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

    /**
     * A model builder for inputs of {@code inChannels} x {@code height} x {@code width} with these settings and the
     * rest at the release defaults, to be replaced by what the checkpoint determines. The input size is checked now,
     * so that its error is not reported as the checkpoint's; the architecture is not: a head dim that does not divide
     * the release dims (24 for a checkpoint of dims 24/48/72/96) is only checked against the checkpoint's own dims,
     * by {@code TransCnnWeights.readChecked}.
     */
    TransCNN.Builder defaults(int inChannels, int height, int width) {
        TransCnnConfig.builder().inChannels(inChannels).inputSize(height, width).build();
        return TransCNN.builder(TransCnnConfig.builder().build()).headDim(headDim).gridSizes(gridSizes)
                .dsRatios(dsRatios).inChannels(inChannels).inputSize(height, width);
    }
}
