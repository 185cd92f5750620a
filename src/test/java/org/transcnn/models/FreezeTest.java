package org.transcnn.models;

import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.transcnn.Fixtures;
import org.transcnn.weights.TransCnnWeights;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Freezing with DL4J's TransferLearning on a TransCNN graph (which has residual paths): everything up to the named
 * stage is frozen, nothing after it; frozen parameters and BatchNorm running statistics stay bit-identical while
 * training; and the documented vertex names work with TransferLearning.GraphBuilder + FineTuneConfiguration.
 */
class FreezeTest {

    static final String F = Fixtures.WITH_GRADS;
    static ComputationGraph pretrained;

    @BeforeAll
    static void load() throws Exception {
        pretrained = TransCnnWeights.loadForFineTuning(Fixtures.file(F, "model.pth"),
                Fixtures.builder(F).numClasses(3).dropPathRate(0.1).seed(3));
    }

    /**
     * The fixture's architecture at 32x32 (its smallest valid input), to keep training steps cheap where only the
     * loss matters (at this size stage 3 pools to one key, so its queries get no gradient).
     */
    static TransCNN.Builder small() {
        return Fixtures.builder(F).inputSize(32, 32);
    }

    /**
     * Biases of convolutions followed by BatchNorm in training mode (the stem's first conv, both TDB branches):
     * the batch mean cancels them, so their gradient is zero up to rounding and they need not move.
     */
    static boolean cancelledByBatchNorm(String param) {
        return param.matches("(patch_embed\\.0|ds[234]\\.(conv|residual))_b");
    }

    /** A fixed batch of 6 images of {@code size}x{@code size} whose class (0..2) is the brightest channel. */
    static DataSet batch(int size) {
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.rand(pretrained.params().dataType(), 6, 3, size, size).subi(0.5);
        INDArray y = Nd4j.zeros(x.dataType(), 6, 3);
        for (int i = 0; i < 6; i++) {
            x.slice(i).slice(i % 3).addi(1.0);
            y.putScalar(i, i % 3, 1.0);
        }
        return new DataSet(x, y);
    }

    /** Stage a vertex belongs to: 0 stem, 1..4 stages (dsN with stage N), 5 pooling and head. */
    static int stageOf(String vertex) {
        if (vertex.startsWith(TransCNN.STEM) || vertex.startsWith(TransCNN.INPUT)) {
            return 0;
        }
        if (vertex.startsWith("blocks.")) {
            return Integer.parseInt(vertex.split("\\.")[1]) + 1;
        }
        if (vertex.matches("ds[234](\\..*)?")) {
            return vertex.charAt(2) - '0';
        }
        return 5;
    }

    static Map<String, INDArray> snapshot(ComputationGraph net) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        net.paramTable().forEach((k, v) -> out.put(k, v.dup()));
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2, 4})
    void freezesEverythingUpToTheStageAndNothingAfter(int stage) {
        ComputationGraph net = TransCNN.freezeStages(pretrained, stage);
        for (String name : net.getConfiguration().getVertices().keySet()) {
            if (net.getConfiguration().getVertices().get(name) instanceof LayerVertex) {
                assertEquals(stageOf(name) <= stage, net.getLayer(name) instanceof FrozenLayer, name);
            }
        }
        Map<String, INDArray> before = snapshot(net);
        DataSet data = batch(64);
        for (int i = 0; i < 2; i++) {
            net.fit(data);
        }
        List<String> unchanged = new ArrayList<>();
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            String vertex = e.getKey().substring(0, e.getKey().lastIndexOf('_'));
            boolean same = e.getValue().equals(before.get(e.getKey()));
            if (stageOf(vertex) <= stage) {
                assertTrue(same, e.getKey() + " is frozen but changed");
            } else if (same && !cancelledByBatchNorm(e.getKey())) {
                unchanged.add(e.getKey());
            }
        }
        assertTrue(unchanged.isEmpty(), "trainable parameters that did not change: " + unchanged);
        assertTrue(before.keySet().stream().anyMatch(k -> k.matches(".*[_.]mean") && stageOf(k) <= stage),
                "BatchNorm running means are among the frozen parameters checked");
    }

    @Test
    void freezingLeavesTheSourceNetworkAndItsOutputUnchanged() {
        INDArray x = batch(64).getFeatures();
        INDArray expected = pretrained.outputSingle(x);
        ComputationGraph frozen = TransCNN.freezeStages(pretrained, 3);
        assertEquals(expected, frozen.outputSingle(x));
        assertEquals(expected, pretrained.outputSingle(x));
    }

    @Test
    void freezeBoundaryNamesTheLastVertexOfTheStage() {
        TransCnnConfig c = Fixtures.modelConfig(F);
        var conf = pretrained.getConfiguration();
        assertEquals("patch_embed.3", TransCNN.freezeBoundary(conf, 0));
        for (int s = 1; s <= 4; s++) {
            assertEquals(TransCNN.stageVertex(c, s - 1), TransCNN.freezeBoundary(conf, s));
        }
        assertEquals("blocks.2.1", TransCNN.freezeBoundary(conf, 3));
        var backbone = Fixtures.builder(F).featuresOnly(0, 1).build().graphConfiguration();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TransCNN.freezeBoundary(backbone, 3));
        assertTrue(e.getMessage().contains("blocks.2.0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TransCNN.freezeBoundary(conf, 5));
    }

    /** The two usual ways of replacing the head with DL4J's own TransferLearning API, by documented vertex names. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void dl4jTransferLearningTrainsANewHeadOnAFrozenBackbone(boolean replaceVertex) throws Exception {
        ComputationGraph source = TransCnnWeights.loadModel(Fixtures.file(F, "model.pth"), small());
        TransferLearning.GraphBuilder tl = new TransferLearning.GraphBuilder(source)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Adam(5e-3)).seed(7).build())
                .setFeatureExtractor(TransCNN.freezeBoundary(source.getConfiguration(), 3));
        if (replaceVertex) {
            tl.removeVertexKeepConnections(TransCNN.LOGITS)
                    .addLayer(TransCNN.LOGITS, new DenseLayer.Builder().nIn(128).nOut(3)
                            .activation(Activation.IDENTITY).build(), TransCNN.HEAD_DROPOUT);
        } else {
            tl.nOutReplace(TransCNN.LOGITS, 3, WeightInit.XAVIER);
        }
        ComputationGraph net = tl.build();
        DataSet data = batch(32);
        assertArrayEquals(new long[] {6, 3}, net.outputSingle(data.getFeatures()).shape());
        double first = net.score(data);
        for (int i = 0; i < 10; i++) {
            net.fit(data);
        }
        double last = net.score(data);
        assertTrue(last < 0.7 * first, "loss " + first + " -> " + last);
        assertFalse(net.getLayer(TransCNN.LOGITS) instanceof FrozenLayer);
        assertTrue(net.getLayer(TransCNN.freezeBoundary(net.getConfiguration(), 3))
                instanceof FrozenLayer);
    }
}
