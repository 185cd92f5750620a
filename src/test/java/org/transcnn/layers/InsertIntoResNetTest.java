package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.model.ResNet50;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The paper's headline: put H-MHSA into an existing CNN (DL4J's ResNet-50, after stage 3) with one call. */
class InsertIntoResNetTest {

    @Test
    void readmeExampleSizes() {
        ComputationGraphConfiguration.GraphBuilder graph = ResNet50.builder().numClasses(10).build().graphBuilder();
        InputType.InputTypeConvolutional at224 = (InputType.InputTypeConvolutional) ResNet50.builder().numClasses(10)
                .build().graphBuilder().build().getLayerActivationTypes(InputType.convolutional(224, 224, 3))
                .get("res3d_branch");
        assertEquals(512, at224.getChannels());
        assertEquals(14, at224.getHeight());
        assertEquals(14, at224.getWidth());
        HMHSA.builder().channels(512).headDim(64).gridSize(7).dsRatio(2).inputSize(14, 14).build()
                .insertAfter(graph, "res3d_branch", "hmhsa3");
        assertEquals(InputType.convolutional(14, 14, 512), graph.build()
                .getLayerActivationTypes(InputType.convolutional(224, 224, 3)).get("hmhsa3"));
    }

    @Test
    void hmhsaAfterResNet50Stage3TrainsAndPredicts() {
        ResNet50 zoo = ResNet50.builder().numClasses(10).inputShape(new int[] {3, 128, 128}).build();
        InputType.InputTypeConvolutional stage3 = (InputType.InputTypeConvolutional) zoo.graphBuilder().build()
                .getLayerActivationTypes(InputType.convolutional(128, 128, 3)).get("res3d_branch");
        int channels = (int) stage3.getChannels();
        int h = (int) stage3.getHeight();
        int w = (int) stage3.getWidth();

        ComputationGraphConfiguration.GraphBuilder graph = zoo.graphBuilder();
        HMHSA.builder().channels(channels).headDim(64).gridSize(4).dsRatio(2).inputSize(h, w).build()
                .insertAfter(graph, "res3d_branch", "hmhsa3");
        ComputationGraph net = new ComputationGraph(graph.build());
        net.init();

        ComputationGraph plain = zoo.init();
        long bnStats = 3 * 2L * channels; // running mean and variance of norm, grid_norm, ds_norm
        assertEquals(plain.numParams() + 7L * channels * channels + 13L * channels + bnStats, net.numParams());
        assertTrue(net.getLayer("hmhsa3").conf().getLayer() instanceof HMHSA);
        assertNotNull(net.getParam("hmhsa3_attn.qkv.weight"), "official-style key hmhsa3.attn.qkv.weight");
        assertEquals(java.util.List.of("hmhsa3"), java.util.Arrays.asList(net.getConfiguration().getVertexInputs()
                .get("res4a_branch2a").toArray(new String[0])));

        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 128, 128);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 2, 10);
        y.putScalar(0, 3, 1);
        y.putScalar(1, 7, 1);
        net.fit(new MultiDataSet(x, y));
        assertTrue(Double.isFinite(net.score()));
        INDArray out = net.outputSingle(x);
        assertArrayEquals(new long[] {2, 10}, out.shape());
    }
}
