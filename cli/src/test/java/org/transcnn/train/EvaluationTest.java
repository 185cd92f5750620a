package org.transcnn.train;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvaluationTest {

    /**
     * Test-time mirroring averages the class probabilities of each image and of its mirror (made here by reading
     * each row backwards); without it the probabilities are the network's own.
     */
    @Test
    void flipAveragesTheProbabilitiesOfEachImageAndItsMirror() {
        // a softmax classifier on the raw pixels: its output depends on the pixels' order, as a trained network's
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(5)
                .dataType(DataType.FLOAT).graphBuilder()
                .addInputs("in").setInputTypes(InputType.convolutional(32, 32, 1))
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "in")
                .setOutputs("out").build());
        net.init();
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, 1, 32, 32);
        INDArray mirror = x.dup();
        for (int n = 0; n < 3; n++) {
            for (int r = 0; r < 32; r++) {
                for (int c = 0; c < 32; c++) {
                    mirror.putScalar(new long[] {n, 0, r, c}, x.getDouble(n, 0, r, 31 - c));
                }
            }
        }
        INDArray own = net.outputSingle(x).dup();
        INDArray mirrored = net.outputSingle(mirror).dup();
        INDArray plain = Evaluation.probabilities(net, x, TestTimeAugment.NONE);
        INDArray flip = Evaluation.probabilities(net, x, TestTimeAugment.FLIP);
        for (int n = 0; n < 3; n++) {
            for (int k = 0; k < 10; k++) {
                assertEquals(own.getDouble(n, k), plain.getDouble(n, k), 1e-7, "none: image " + n + ", class " + k);
                assertEquals((own.getDouble(n, k) + mirrored.getDouble(n, k)) / 2, flip.getDouble(n, k), 1e-6,
                        "flip: image " + n + ", class " + k);
            }
        }
        assertTrue(own.sub(mirrored).amaxNumber().doubleValue() > 1e-4, "the mirror changes the output");
    }
}
