package org.transcnn.models;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.io.ModelFile;
import org.transcnn.layers.HMHSA;
import org.transcnn.layers.InvertedResidual;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model saved by release 0.1.0 (src/test/resources/compat/transcnn-0.1.0, made as its README says) still loads,
 * gives the outputs 0.1.0 recorded for it, and continues training with the loss 0.1.0 recorded for its next step.
 */
class CompatibilityTest {

    private static Path dir() throws URISyntaxException {
        return Path.of(CompatibilityTest.class.getResource("/compat/transcnn-0.1.0/model.zip").toURI()).getParent();
    }

    @Test
    void modelSavedBy010LoadsAndMatchesItsRecordedOutputsAndNextStep() throws Exception {
        Path d = dir();
        ComputationGraph net = ModelFile.load(d.resolve("model.zip"), true);
        // converted: each IRB's eight vertices (and 0.1.0's separate activations) are one fused layer
        assertFalse(net.getConfiguration().getVertices().keySet().stream().anyMatch(v -> v.contains(".conv1.")),
                "the 0.1.0 IRB vertices are converted");
        for (String block : new String[] {"blocks.0.0", "blocks.1.0", "blocks.2.0", "blocks.2.1", "blocks.3.0"}) {
            InvertedResidual irb = (InvertedResidual) net.getLayer(block).conf().getLayer();
            assertTrue(irb.isResidual(), block);
            assertTrue(irb.getDropPathRate() <= 0.1, block + ": a drop path rate of the 0 .. 0.1 schedule");
            // and each H-MHSA's eleven vertices, its drop path and the sum .res1 are one fused layer
            HMHSA attn = (HMHSA) net.getLayer(block + ".res1").conf().getLayer();
            assertTrue(attn.isResidual(), block + ".res1");
            assertEquals(block.startsWith("blocks.3"), attn.getGridSize() == 1, block + " grid size " + attn.getGridSize());
        }
        assertFalse(net.getConfiguration().getVertices().keySet().stream().anyMatch(v -> v.contains(".attn.")),
                "the 0.1.0 H-MHSA vertices are converted");
        INDArray x = Nd4j.createFromNpyFile(d.resolve("input.npy").toFile());
        INDArray expected = Nd4j.createFromNpyFile(d.resolve("output.npy").toFile());
        INDArray out = net.outputSingle(x);
        double err = out.sub(expected).amaxNumber().doubleValue();
        assertTrue(err < 1e-5, "outputs differ from 0.1.0's by " + err);

        // the next training step of 0.1.0's generator: batch(21), whose seed also drives the drop path that follows
        Nd4j.getRandom().setSeed(21);
        INDArray bx = Nd4j.rand(DataType.FLOAT, 2, 3, 96, 64);
        INDArray by = Nd4j.zeros(DataType.FLOAT, 2, 10);
        for (int i = 0; i < 2; i++) {
            by.putScalar(i, (i * 3 + 21) % 10, 1f);
        }
        net.fit(new MultiDataSet(bx, by));
        double recorded = Double.parseDouble(Files.readString(d.resolve("next_step_loss.txt")).trim());
        assertEquals(recorded, net.score(), 1e-4 * Math.abs(recorded), "loss of the next training step");
    }
}
