package org.transcnn.layers;

import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.io.ModelFile;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A graph saved with the composed IRB (the layers before the fused one, with and without the block's drop path and
 * sum) loads converted to the fused layer ({@link LegacyBlocks} via {@link ModelFile#load}) and then computes what the
 * composed graph computes: the same outputs, and after two more Adam steps from the saved updater state the same
 * parameters and running statistics.
 */
class LegacyBlocksTest {

    @ParameterizedTest(name = "residual {0}, dropout {1}, drop path {2}")
    @CsvSource({"false, 0, 0", "true, 0, 0", "true, 0.2, 0.3"})
    void composedIrbLoadsAsTheFusedLayer(boolean residual, double dropRate, double pathRate, @TempDir Path dir)
            throws Exception {
        int c = InvertedResidualTest.C;
        ComputationGraph composed = InvertedResidualTest.graph(DataType.FLOAT, 6, 5, 2, 3, false,
                WorkspaceMode.ENABLED, residual, dropRate, pathRate);
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, c, 6, 5);
        INDArray y = Nd4j.randn(DataType.FLOAT, 3, c, 6, 5);
        composed.fit(new MultiDataSet(x, y)); // running statistics and Adam state away from their initial values
        Path file = dir.resolve("composed.zip");
        ModelFile.save(composed, file, true);

        ComputationGraph fused = ModelFile.load(file, true);
        String name = residual ? "blk" : "conv";
        assertTrue(fused.getLayer(name).conf().getLayer() instanceof InvertedResidual, name + " is fused");
        assertEquals(residual, ((InvertedResidual) fused.getLayer(name).conf().getLayer()).isResidual());
        assertFalse(fused.getConfiguration().getVertices().keySet().stream().anyMatch(v -> v.contains(".conv1.")),
                "no composed IRB vertices left");
        assertEquals(composed.numParams(), fused.numParams());
        assertEquals(composed.getConfiguration().getIterationCount(), fused.getConfiguration().getIterationCount(),
                "the updater's step count carries on (Adam's bias correction)");

        INDArray probe = Nd4j.randn(DataType.FLOAT, 2, c, 6, 5);
        InvertedResidualTest.assertClose("inference output", composed.outputSingle(probe), fused.outputSingle(probe),
                2e-5);
        for (int step = 1; step <= 2; step++) {
            Nd4j.getRandom().setSeed(40 + step);
            composed.fit(new MultiDataSet(x, y));
            Nd4j.getRandom().setSeed(40 + step);
            fused.fit(new MultiDataSet(x, y));
            assertEquals(composed.score(), fused.score(), 1e-4 * Math.abs(composed.score()), "score, step " + step);
            for (String key : fused.paramTable().keySet()) {
                INDArray expected = composed.getParam(InvertedResidualTest.composedKey(key));
                InvertedResidualTest.assertClose("step " + step + ", " + key,
                        InvertedResidualTest.composedValue(composed, key, expected), fused.getParam(key), 1e-3);
            }
        }
    }

    @ParameterizedTest(name = "grid {0}, residual {1}, dropout {2}, drop path {3}")
    @CsvSource({"2, false, 0, 0", "2, true, 0.2, 0.3", "1, true, 0, 0"})
    void composedAttentionLoadsAsTheFusedLayer(int grid, boolean residual, double dropRate, double pathRate,
            @TempDir Path dir) throws Exception {
        int c = HMHSATest.C;
        ComputationGraph composed = HMHSATest.graph(DataType.FLOAT, 6, 5, grid, 2, false, WorkspaceMode.ENABLED,
                residual, dropRate, pathRate, new org.nd4j.linalg.learning.config.Adam(1e-2, 0.9, 0.999, 1e-3));
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, c, 6, 5);
        INDArray y = Nd4j.randn(DataType.FLOAT, 3, c, 6, 5);
        composed.fit(new MultiDataSet(x, y));
        Path file = dir.resolve("composed.zip");
        ModelFile.save(composed, file, true);

        ComputationGraph fused = ModelFile.load(file, true);
        String name = residual ? "blk" : "attn";
        assertTrue(fused.getLayer(name).conf().getLayer() instanceof HMHSA, name + " is fused");
        assertEquals(residual, ((HMHSA) fused.getLayer(name).conf().getLayer()).isResidual());
        assertFalse(fused.getConfiguration().getVertices().keySet().stream().anyMatch(v -> v.startsWith(name + ".")),
                "no composed H-MHSA vertices left");
        assertEquals(composed.numParams(), fused.numParams());

        INDArray probe = Nd4j.randn(DataType.FLOAT, 2, c, 6, 5);
        HMHSATest.assertClose("inference output", composed.outputSingle(probe), fused.outputSingle(probe), 2e-5);
        for (int step = 1; step <= 2; step++) {
            Nd4j.getRandom().setSeed(40 + step);
            composed.fit(new MultiDataSet(x, y));
            Nd4j.getRandom().setSeed(40 + step);
            fused.fit(new MultiDataSet(x, y));
            assertEquals(composed.score(), fused.score(), 1e-4 * Math.abs(composed.score()), "score, step " + step);
            for (String key : fused.paramTable().keySet()) {
                if (!residual && key.equals("pre_b")) {
                    continue; // BatchNorm follows: zero in exact arithmetic, rounding noise in both graphs
                }
                HMHSATest.assertClose("step " + step + ", " + key, composed.getParam(HMHSATest.composedKey(key)),
                        fused.getParam(key), 1e-3);
            }
        }
    }
}
