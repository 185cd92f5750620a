package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** TDB at even maps (the official block) and odd maps (ceil mode in both branches). */
class TwoBranchDownsampleTest {

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"4,6", "5,7", "1,3", "7,2"})
    void bothBranchesRoundUpAndThePoolTakesTheMaximumOfRealPixels(int h, int w) {
        ComputationGraph net = new ComputationGraph(build(h, w));
        net.init();
        Nd4j.getRandom().setSeed(9);
        // negative inputs: a max pool that let zero padding in would return 0 at the edge
        INDArray x = Nd4j.rand(DataType.DOUBLE, 2, 3, h, w).subi(2);
        Map<String, INDArray> acts = net.feedForward(x, false);
        int oh = (h + 1) / 2;
        int ow = (w + 1) / 2;
        assertArrayEquals(new long[] {2, 5, oh, ow}, acts.get("ds").shape());
        INDArray pooled = acts.get("ds.pool");
        assertArrayEquals(new long[] {2, 3, oh, ow}, pooled.shape());
        for (int n = 0; n < 2; n++) {
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int y = 2 * i; y < Math.min(h, 2 * i + 2); y++) {
                            for (int z = 2 * j; z < Math.min(w, 2 * j + 2); z++) {
                                max = Math.max(max, x.getDouble(n, c, y, z));
                            }
                        }
                        assertEquals(max, pooled.getDouble(n, c, i, j), 0.0, "pool at " + n + "," + c + "," + i + "," + j);
                    }
                }
            }
        }
    }

    private static ComputationGraphConfiguration build(int h, int w) {
        ComputationGraphConfiguration.GraphBuilder g = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).graphBuilder()
                .addInputs("in").setInputTypes(InputType.convolutional(h, w, 3));
        new TwoBranchDownsample(3, 5, new ActivationSwish()).addTo(g, "ds", "in");
        return g.setOutputs("ds").build();
    }
}
