package org.transcnn.weights;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.Fixtures;
import org.transcnn.models.TransCNN;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Same official weights in, same outputs out: eval logits, all four stages, and the train-mode stage 4. */
class OfficialParityTest {

    static final double TOL = 1e-4;
    static final java.util.List<String> FIXTURES = Fixtures.ALL;

    static ComputationGraph load(String fixture) throws Exception {
        return TransCnnWeights.loadModel(Fixtures.file(fixture, "model.pth"), Fixtures.builder(fixture));
    }

    static void assertClose(String what, INDArray actual, INDArray reference) {
        assertArrayEquals(reference.shape(), actual.shape(), what + " shape");
        double err = Fixtures.scaledError(actual, reference);
        System.out.printf("parity %-32s scaled error %.2e%n", what, err);
        assertTrue(err <= TOL, what + ": scaled error " + err + " > " + TOL);
    }

    @ParameterizedTest
    @FieldSource("FIXTURES")
    void evalOutputsMatchOfficial(String fixture) throws Exception {
        ComputationGraph net = load(fixture);
        INDArray input = Fixtures.npy(fixture, "input.npy");
        Map<String, INDArray> acts = net.feedForward(input, false);
        assertClose(fixture + " logits", acts.get(TransCNN.LOGITS), Fixtures.npy(fixture, "eval_logits.npy"));
        for (int s = 1; s <= 4; s++) {
            assertClose(fixture + " stage " + s, acts.get(TransCNN.stageVertex(Fixtures.modelConfig(fixture), s - 1)),
                    Fixtures.npy(fixture, "eval_stage" + s + ".npy"));
        }
    }

    @ParameterizedTest
    @FieldSource("FIXTURES")
    void trainModeStage4MatchesOfficial(String fixture) throws Exception {
        ComputationGraph net = load(fixture);
        INDArray input = Fixtures.npy(fixture, "input.npy");
        Map<String, INDArray> acts = net.feedForward(input, true);
        assertClose(fixture + " train stage 4", acts.get(TransCNN.stageVertex(Fixtures.modelConfig(fixture), 3)),
                Fixtures.npy(fixture, "train_stage4.npy"));
    }
}
