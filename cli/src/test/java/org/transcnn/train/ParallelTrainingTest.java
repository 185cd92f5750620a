package org.transcnn.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.transcnn.cli.TransCnnCliAccess;
import org.transcnn.data.FashionMnist;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Multi-worker training (DL4J ParallelWrapper) on the embedded Fashion-MNIST sample, and its errors. */
class ParallelTrainingTest {

    @TempDir
    Path dir;

    static Trainer.Options options(Path out, int limit, boolean resume) {
        Trainer.Options d = Trainer.Options.defaults();
        return new Trainer.Options(SampleData.dir(), out, 2, 32, d.learningRate(),
                d.weightDecay(), d.warmupEpochs(), d.labelSmoothing(), 7, false, resume, 8, limit, d.augment(),
                d.preciseBn(), 0, 4, null, null);
    }

    @Test
    void twoWorkersAveragingLearnAndSaveALoadableModel() throws Exception {
        Path out = dir.resolve("avg");
        List<Trainer.Epoch> h = new Trainer(options(out, 1536, false),
                new Parallelism(2, Parallelism.Mode.AVERAGING, 1), TrainerTest.quiet()).run();
        assertEquals(2, h.size());
        assertTrue(h.get(1).trainLoss() < h.get(0).trainLoss() - 0.05, "loss falls by a margin: " + h);
        assertEquals(1536, Math.round(h.get(1).imagesPerSecond() * h.get(1).seconds()), "every image seen once");

        ComputationGraph saved = ModelSerializer.restoreComputationGraph(out.resolve(Trainer.MODEL_FILE).toFile(),
                true);
        Evaluation again = Evaluation.of(saved, FashionMnist.sample().test(), Trainer.INPUT_SIZE, 250);
        assertEquals(h.get(1).testAccuracy(), again.accuracy(), 1e-12, "the saved model is the one evaluated");
        JsonNode m = new ObjectMapper().readTree(out.resolve(Trainer.METRICS_FILE).toFile());
        assertEquals(2, m.get("workers").asInt());
        assertEquals("averaging", m.get("parallel_mode").asText());
        assertTrue(m.get("epochs").get(1).get("images_per_second").asDouble() > 0);

        IOException resumed = assertThrows(IOException.class,
                () -> new Trainer(options(out, 1536, true), TrainerTest.quiet()).run());
        assertTrue(resumed.getMessage().contains("was trained with --workers 2"), resumed.getMessage());
    }

    @Test
    void twoWorkersSharingGradientsLearn() throws Exception {
        List<Trainer.Epoch> h = new Trainer(options(dir.resolve("shared"), 1024, false),
                new Parallelism(2, Parallelism.Mode.SHARED, 1), TrainerTest.quiet()).run();
        assertTrue(h.get(1).trainLoss() < h.get(0).trainLoss() - 0.05, "loss falls by a margin: " + h);
        assertTrue(Files.size(dir.resolve("shared").resolve(Trainer.MODEL_FILE)) > 0);
    }

    @Test
    void badWorkerSettingsAreRefusedBeforeTraining() {
        int max = Parallelism.maxWorkers();
        Path out = dir.resolve("never");
        for (String bad : List.of("0", "-3", String.valueOf(max + 1))) {
            TransCnnCliAccess.Result r = TransCnnCliAccess.run("train", "--out", out.toString(), "--workers", bad);
            assertEquals(2, r.code(), "a parameter error: " + r.err());
            assertEquals("transcnn: --workers " + bad + ": must be between 1 and " + max + " (one worker per CPU core "
                    + "here; each worker holds its own copy of the model) (see 'transcnn train --help')",
                    r.err().trim());
        }
        TransCnnCliAccess.Result mode = TransCnnCliAccess.run("train", "--out", out.toString(), "--workers", "2",
                "--parallel-mode", "ring");
        assertEquals(2, mode.code());
        assertEquals("transcnn: --parallel-mode ring: must be one of averaging, shared (see 'transcnn train --help')",
                mode.err().trim());
        TransCnnCliAccess.Result freq = TransCnnCliAccess.run("train", "--out", out.toString(), "--workers", "2",
                "--averaging-frequency", "0");
        assertTrue(freq.err().startsWith("transcnn: --averaging-frequency 0: must be at least 1"), freq.err());
        TransCnnCliAccess.Result resume = TransCnnCliAccess.run("train", "--out", out.toString(), "--workers", "2",
                "--resume");
        assertTrue(resume.err().startsWith("transcnn: --resume cannot continue with --workers 2"), resume.err());
        assertFalse(Files.exists(out), "nothing written before the options are checked");
    }
}
