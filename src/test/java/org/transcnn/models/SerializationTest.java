package org.transcnn.models;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.transcnn.io.ModelFile;

import java.io.File;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Save and load round trip (ModelFile, and DL4J's ModelSerializer format both ways): identical outputs, and training continues identically (updater state included). */
class SerializationTest {

    static TransCnnConfig tiny() {
        return TransCnnConfig.builder().dims(16, 32, 64, 128).depths(1, 1, 2, 1).expansions(2, 2, 3, 3)
                .gridSizes(4, 4, 2, 1).dsRatios(4, 2, 2, 1).headDim(16).numClasses(10).inputSize(64, 64).build();
    }

    static MultiDataSet batch(int seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 64, 64);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 10);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, (i * 3 + seed) % 10, 1f);
        }
        return new MultiDataSet(x, y);
    }

    /** Written by ModelFile (the library's way) or by DL4J's ModelSerializer; read back by ModelFile. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void saveLoadGivesIdenticalOutputsAndTraining(boolean writtenByModelFile, @TempDir File dir) throws Exception {
        ComputationGraph net = TransCNN.builder(tiny()).dropPathRate(0.1).updater(new Adam(1e-3)).seed(1).build()
                .init();
        net.fit(batch(1));
        net.fit(batch(2));
        File file = new File(dir, "model.zip");
        if (writtenByModelFile) {
            ModelFile.save(net, file.toPath(), true);
            ComputationGraph dl4j = ModelSerializer.restoreComputationGraph(file, true);
            assertEquals(net.params(), dl4j.params(), "DL4J's own reader reads the file too");
            assertEquals(net.getUpdater().getStateViewArray(), dl4j.getUpdater().getStateViewArray());
        } else {
            ModelSerializer.writeModel(net, file, true);
        }
        ComputationGraph loaded = ModelFile.load(file.toPath(), true);

        assertEquals(net.getConfiguration().toJson(), loaded.getConfiguration().toJson());
        assertEquals(net.params(), loaded.params());
        assertEquals(net.getUpdater().getStateViewArray(), loaded.getUpdater().getStateViewArray());
        INDArray x = batch(3).getFeatures(0);
        assertEquals(net.outputSingle(x), loaded.outputSingle(x));

        for (int step = 0; step < 2; step++) {
            Nd4j.getRandom().setSeed(100 + step);
            net.fit(batch(4 + step));
            Nd4j.getRandom().setSeed(100 + step);
            loaded.fit(batch(4 + step));
            assertEquals(net.score(), loaded.score(), 0.0, "loss of step " + step + " after loading");
            assertEquals(net.params(), loaded.params());
        }
    }
}
