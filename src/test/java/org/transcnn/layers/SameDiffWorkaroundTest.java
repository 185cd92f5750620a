package org.transcnn.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.samediff.SameDiffGraphVertex;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guards the workarounds for the two DL4J 1.0.0-M2.1 SameDiff-vertex gradient bugs. The same attention core runs
 * once on DL4J's stock {@link SameDiffGraphVertex} and once on {@link AttentionCoreGraphVertex}, behind a 1x1
 * convolution whose weight gradient carries the core's input gradient.
 *
 * <p>If the stock-vertex assertions fail, DL4J has fixed the bug and the workaround can be simplified; if the
 * workaround assertions fail, the workaround broke.
 */
class SameDiffWorkaroundTest {

    /** The window core on DL4J's stock runtime vertex. */
    static final class StockCore extends SameDiffWindowCore {
        StockCore() {
            super(2, 4, 2, 4, 4);
        }

        @Override
        public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                INDArray paramsView, boolean initializeParams, DataType dataType) {
            setName(name);
            return new SameDiffGraphVertex(this, graph, name, idx, paramsView, initializeParams, dataType);
        }
    }

    static ComputationGraph net(boolean stock) {
        GraphBuilder g = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE).updater(new NoOp())
                .graphBuilder().addInputs("in").setInputTypes(InputType.convolutional(4, 4, 8));
        g.addLayer("pre", Layers.conv(8, 24, 1, 1, true), "in");
        g.addVertex("core", stock ? new StockCore() : new SameDiffWindowCore(2, 4, 2, 4, 4), "pre");
        g.addLayer("loss", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE).activation(Activation.IDENTITY)
                .build(), "core");
        g.setOutputs("loss");
        ComputationGraph n = new ComputationGraph(g.build());
        n.init();
        return n;
    }

    static INDArray preWeightGradient(ComputationGraph n, INDArray x, INDArray y) {
        n.setInputs(x);
        n.setLabels(y);
        n.computeGradientAndScore();
        return n.gradient().getGradientFor("pre_W").dup();
    }

    final INDArray x1 = Nd4j.rand(DataType.DOUBLE, 2, 8, 4, 4).subi(0.5);
    final INDArray y1 = Nd4j.rand(DataType.DOUBLE, 2, 8, 4, 4);
    final INDArray x2 = Nd4j.rand(DataType.DOUBLE, 2, 8, 4, 4).subi(0.5);
    final INDArray y2 = Nd4j.rand(DataType.DOUBLE, 2, 8, 4, 4);

    @Test
    void stockVertexStillDoublesGradients() {
        INDArray stock = preWeightGradient(net(true), x1, y1);
        INDArray ours = preWeightGradient(net(false), x1, y1);
        assertEquals(0.0, stock.sub(ours.mul(2)).amaxNumber().doubleValue(), 1e-12,
                "M2.1 bug 1 (doubled SameDiff gradients) no longer reproduces: DL4J fixed it");
    }

    @Test
    void stockVertexStillGoesWrongAfterTheFirstPass() {
        ComputationGraph stock = net(true);
        preWeightGradient(stock, x1, y1);
        INDArray second = preWeightGradient(stock, x2, y2);
        INDArray fresh = preWeightGradient(net(true), x2, y2);
        assertTrue(second.sub(fresh).amaxNumber().doubleValue() > 1e-6,
                "M2.1 bug 2 (wrong SameDiff gradients after the first backward pass) no longer reproduces");
    }

    @Test
    void workaroundIsRightOnEveryPass() {
        ComputationGraph ours = net(false);
        INDArray fresh2 = preWeightGradient(net(false), x2, y2);
        INDArray fresh1 = preWeightGradient(net(false), x1, y1);
        for (int pass = 0; pass < 3; pass++) {
            assertEquals(0.0, preWeightGradient(ours, x1, y1).sub(fresh1).amaxNumber().doubleValue(), 1e-12);
            assertEquals(0.0, preWeightGradient(ours, x2, y2).sub(fresh2).amaxNumber().doubleValue(), 1e-12);
        }
    }
}
