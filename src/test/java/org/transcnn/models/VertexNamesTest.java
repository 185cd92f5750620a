package org.transcnn.models;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One naming source, 0-based stage indices, and the 1-based calls of 0.1.0 still answering as before. */
class VertexNamesTest {

    @Test
    void namesMirrorTheOfficialModulePaths() {
        assertEquals("blocks.2.3", VertexNames.block(2, 3));
        assertEquals("ds2", VertexNames.downsample(1));
        assertEquals("ds4", VertexNames.downsample(3));
        assertEquals(2, VertexNames.stageOf("blocks.2.3.attn.qkv"));
        assertEquals(1, VertexNames.stageOf("ds2.conv"));
        assertEquals(-1, VertexNames.stageOf("patch_embed.3"));
        assertEquals(-1, VertexNames.stageOf(VertexNames.LOGITS));
        assertThrows(IllegalArgumentException.class, () -> VertexNames.block(4, 0));
        assertThrows(IllegalArgumentException.class, () -> VertexNames.downsample(0));
    }

    @Test
    void everyVertexOfABuiltGraphHasItsStage() {
        TransCNN model = TransCNN.builder(SerializationTest.tiny()).build();
        ComputationGraphConfiguration conf = model.graphConfiguration();
        for (String v : conf.getVertices().keySet()) {
            int s = VertexNames.stageOf(v);
            boolean outside = v.startsWith(VertexNames.STEM) || v.startsWith("classifier") || v.equals(VertexNames.POOL)
                    || v.equals(VertexNames.OUTPUT) || v.equals(VertexNames.INPUT_CHECK);
            assertTrue(outside ? s == -1 : s >= 0 && s <= 3, v + " -> " + s);
        }
        for (int s = 0; s < 4; s++) {
            assertTrue(conf.getVertices().containsKey(model.stageVertex(s)), model.stageVertex(s));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    @SuppressWarnings("deprecation")
    void deprecatedOneBasedCallsKeepTheirMeaning(int index) {
        TransCNN model = TransCNN.builder(SerializationTest.tiny()).featuresOnly(index).build();
        assertEquals(model.stageVertex(index), model.stageOutput(index + 1));
        TransCNN.FeatureInfo info = model.featureInfo().get(0);
        assertEquals(index, info.index());
        assertEquals(index + 1, info.stage());
        assertEquals(4 << index, info.reduction());
    }
}
