package org.transcnn.weights;

import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.Fixtures;
import org.transcnn.LinearLoss;
import org.transcnn.models.TransCNN;

import java.io.File;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradients of every parameter against the official model (train mode, head dropout 0, loss sum(logits * seed)),
 * for two consecutive backward passes on the same weights: the second pass is where a stale-gradient bug shows.
 */
class OfficialGradientTest {

    static final String F = Fixtures.WITH_GRADS;

    @ParameterizedTest
    @EnumSource(value = WorkspaceMode.class, names = {"ENABLED", "NONE"})
    void everyParameterGradientMatchesOfficialTwice(WorkspaceMode workspaces) throws Exception {
        ComputationGraph full = TransCnnWeights.loadModel(Fixtures.file(F, "model.pth"),
                Fixtures.builder(F).headDropRate(0).workspaceMode(workspaces));
        ComputationGraph net = new TransferLearning.GraphBuilder(full)
                .removeVertexAndConnections(TransCNN.OUTPUT)
                .addLayer(TransCNN.OUTPUT, new LossLayer.Builder(new LinearLoss()).activation(Activation.IDENTITY)
                        .build(), TransCNN.LOGITS)
                .setOutputs(TransCNN.OUTPUT)
                .build();
        INDArray input = Fixtures.npy(F, "input.npy");
        INDArray seed = Fixtures.npy(F, "grad_seed.npy");
        File[] refs = Fixtures.dir(F).resolve("grads").toFile().listFiles();
        assertNotNull(refs);
        assertEquals(139, refs.length);
        double globalMax = 0;
        for (File ref : refs) {
            globalMax = Math.max(globalMax, Fixtures.npy(F, "grads/" + ref.getName()).amaxNumber().doubleValue());
        }
        // Biases directly in front of a training-mode BatchNorm have an exactly zero gradient; the reference then
        // holds float noise. Such parameters must come out as noise too: below 1e-5 of the model's largest gradient.
        double zero = 1e-5 * globalMax;
        for (int pass = 1; pass <= 2; pass++) {
            net.setInputs(input);
            net.setLabels(seed);
            net.computeGradientAndScore();
            Gradient g = net.gradient();
            Map<String, INDArray> torch = TransCnnWeights.toTorch(net.getConfiguration(), g.gradientForVariable());
            for (File ref : refs) {
                String key = ref.getName().substring(0, ref.getName().length() - ".npy".length());
                INDArray expected = Fixtures.npy(F, "grads/" + ref.getName());
                INDArray actual = torch.get(key);
                assertNotNull(actual, "no gradient for " + key);
                assertArrayEquals(expected.shape(), actual.shape(), key);
                double scale = expected.amaxNumber().doubleValue();
                if (scale < zero) {
                    double got = actual.amaxNumber().doubleValue();
                    assertTrue(got < zero, "pass " + pass + ", " + key + ": gradient should be ~0, max |g| = " + got);
                    continue;
                }
                double err = actual.castTo(expected.dataType()).sub(expected).amaxNumber().doubleValue() / scale;
                assertTrue(err <= 1e-3, "pass " + pass + ", " + key + ": relative error " + err);
            }
        }
    }
}
