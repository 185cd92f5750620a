package org.transcnn.models;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Backbone use: a features-only network outputs exactly the full model's stage outputs, and saves and loads. */
class FeaturesOnlyTest {

    @Test
    void featureOutputsEqualTheFullModelsStageOutputs(@TempDir File dir) throws Exception {
        TransCnnConfig c = SerializationTest.tiny().toBuilder().inputSize(64, 128).build();
        ComputationGraph full = TransCNN.builder(c).build().init();
        TransCNN backbone = TransCNN.builder(c).featuresOnly(0, 2).build();
        assertEquals(List.of(new TransCNN.FeatureInfo(0, "blocks.0.0", 16, 4),
                new TransCNN.FeatureInfo(2, "blocks.2.1", 64, 16)), backbone.featureInfo());
        ComputationGraph net = backbone.init();
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            e.getValue().assign(full.getParam(e.getKey()));
        }
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 64, 128);
        INDArray[] features = net.output(x);
        Map<String, INDArray> acts = full.feedForward(x, false);
        assertEquals(2, features.length);
        assertEquals(acts.get("blocks.0.0"), features[0]);
        assertEquals(acts.get("blocks.2.1"), features[1]);
        assertEquals(List.of(2L, 64L, 4L, 8L), java.util.Arrays.stream(features[1].shape()).boxed().toList());

        File file = new File(dir, "backbone.zip");
        ModelSerializer.writeModel(net, file, false);
        ComputationGraph loaded = ModelSerializer.restoreComputationGraph(file, false);
        assertEquals(features[1], loaded.output(x)[1]);
    }

    @Test
    void badStageIndicesAreRefused() {
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> TransCNN.builder(Preset.SMALL).featuresOnly(2, 1).build());
        assertEquals("featuresOnly stage indices must be ascending, distinct and in 0..3 (stride 4, 8, 16, 32), got "
                + "[2, 1]", e.getMessage());
    }
}
