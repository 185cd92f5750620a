package org.transcnn.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.transcnn.cli.TransCnnCliAccess;
import org.transcnn.data.FashionMnist;
import org.transcnn.io.ModelFile;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training on the embedded Fashion-MNIST sample: learning, checkpoints, resume, crash safety, errors. */
class TrainerTest {

    @TempDir
    Path dir;

    static Trainer.Options options(Path out, boolean resume) {
        Trainer.Options d = Trainer.Options.defaults();
        return new Trainer.Options(SampleData.dir(), out, 2, 32, d.learningRate(),
                d.weightDecay(), d.warmupEpochs(), d.labelSmoothing(), 7, false, resume, 8, 0, d.augment());
    }

    static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    @Test
    void twoEpochsLearnAndResumeEqualsUninterrupted() throws Exception {
        Path full = dir.resolve("full");
        List<Trainer.Epoch> h = new Trainer(options(full, false), quiet()).run();
        assertEquals(2, h.size());
        assertTrue(h.get(1).trainLoss() < h.get(0).trainLoss(), "loss falls: " + h);
        assertTrue(h.get(1).testAccuracy() > 0.3, "test accuracy well above chance (0.1): " + h);
        for (String f : List.of(Trainer.MODEL_FILE, Trainer.METRICS_FILE, Trainer.CHART_FILE)) {
            assertTrue(Files.size(full.resolve(f)) > 0, f);
        }
        JsonNode m = new ObjectMapper().readTree(full.resolve(Trainer.METRICS_FILE).toFile());
        assertEquals(h.get(1).testAccuracy(), m.get("test_accuracy").asDouble(), 1e-12);
        assertTrue(m.get("wall_seconds").asDouble() > 0);
        assertEquals(2, m.get("epochs").size());
        for (String k : List.of("train_loss", "train_accuracy", "test_accuracy", "images_per_second", "rss_mb")) {
            assertTrue(m.get("epochs").get(1).has(k), k);
        }
        byte[] png = Files.readAllBytes(full.resolve(Trainer.CHART_FILE));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));

        Path split = dir.resolve("split");
        new Trainer(options(split, false), quiet()).run(1);
        assertEquals(1, Trainer.readState(split.resolve(Trainer.MODEL_FILE)).history.size());
        IOException changed = assertThrows(IOException.class, () -> new Trainer(new Trainer.Options(
                SampleData.dir(), split, 2, 64, 2e-3, 0.05, 1, 0.1, 7, false, true, 8, 0,
                Augment.SHIFT_FLIP),
                quiet()).run());
        assertEquals("--resume: the options differ from those of the run in " + split + ": --batch-size 32 in the "
                + "run, 64 now; --augment none in the run, shift-flip now; resume with the run's options: "
                + "bin/transcnn train --out " + split + " --resume --data " + SampleData.dir() + " --epochs 2 "
                + "--batch-size 32 --seed 7 --channels 8", changed.getMessage());
        // the line an interruption prints is a command that continues the run
        String line = new Trainer(options(split, false), quiet()).interrupt();
        String prefix = "transcnn: interrupted; resume with: bin/transcnn ";
        assertTrue(line.startsWith(prefix), line);
        TransCnnCliAccess.Result r = TransCnnCliAccess.run(line.substring(prefix.length()).split(" "));
        assertEquals(0, r.code(), r.err());
        List<Trainer.Epoch> resumed = Trainer.readState(split.resolve(Trainer.MODEL_FILE)).history;
        assertEquals(2, resumed.size());
        ComputationGraph a = ModelFile.load(full.resolve(Trainer.MODEL_FILE), true);
        ComputationGraph b = ModelFile.load(split.resolve(Trainer.MODEL_FILE), true);
        assertEquals(0.0, a.params().sub(b.params()).amaxNumber().doubleValue(), 1e-5, "same parameters");
        assertEquals(h.get(1).testAccuracy(), resumed.get(1).testAccuracy(), 0.002);
        assertEquals(h.get(1).trainLoss(), resumed.get(1).trainLoss(), 1e-4);
    }

    /** 0.1.0 kept the run state as a Java-serialized string; it is read through a strings-only filter and resumes. */
    @Test
    void resumesACheckpointWrittenBy010() throws Exception {
        Path out = dir.resolve("run010");
        Files.createDirectories(out);
        for (String f : List.of(Trainer.MODEL_FILE, Trainer.METRICS_FILE)) {
            try (var in = TrainerTest.class.getResourceAsStream("/compat/transcnn-0.1.0/run/" + f)) {
                Files.copy(in, out.resolve(f));
            }
        }
        Trainer.State old = Trainer.readState(out.resolve(Trainer.MODEL_FILE));
        assertEquals(1, old.history.size());
        assertEquals(2, old.options.epochs());
        Trainer.Options o = old.options.forRun(SampleData.dir(), out, true);
        List<Trainer.Epoch> h = new Trainer(o, quiet()).run();
        assertEquals(2, h.size());
        assertEquals(old.history.get(0), h.get(0), "epoch 1 as 0.1.0 recorded it");
        List<String> entries = new java.util.ArrayList<>();
        try (var zip = new java.util.zip.ZipFile(out.resolve(Trainer.MODEL_FILE).toFile())) {
            zip.stream().forEach(e -> entries.add(e.getName()));
        }
        assertTrue(entries.contains(ModelFile.TEXT_ENTRIES + Trainer.STATE_ENTRY), entries.toString());
        assertTrue(entries.stream().noneMatch(e -> e.startsWith("objects/")), "no Java-serialized entry: " + entries);
        assertEquals(2, Trainer.readState(out.resolve(Trainer.MODEL_FILE)).history.size());
    }

    @Test
    void refusesToOverwriteAnotherRun() throws IOException {
        Path out = dir.resolve("busy");
        Files.createDirectories(out);
        Files.writeString(out.resolve(Trainer.MODEL_FILE), "user's model");
        IOException e = assertThrows(IOException.class, () -> new Trainer(options(out, false), quiet()).run());
        assertTrue(e.getMessage().contains("is not empty (it holds a run; pass --resume"), e.getMessage());
        assertEquals("user's model", Files.readString(out.resolve(Trainer.MODEL_FILE)));
    }

    /** Class names are printed whole: "T-shirt/top" (11 characters) used to be cut to "T-shirt/to". */
    @Test
    void theConfusionTableKeepsWholeClassNames() {
        long[][] confusion = new long[10][10];
        confusion[0][0] = 7;
        List<String> lines = new Evaluation(1, confusion, 7).confusionTable(FashionMnist.CLASSES).lines().toList();
        assertEquals("true\\pred          0     1     2     3     4     5     6     7     8     9", lines.get(0));
        assertEquals("0 T-shirt/top      7     0     0     0     0     0     0     0     0     0", lines.get(1));
        assertEquals("9 Ankle boot       0     0     0     0     0     0     0     0     0     0", lines.get(10));
    }

    /** Before the first checkpoint there is nothing to resume: the line says how to start again. */
    @Test
    void anInterruptionBeforeTheFirstCheckpointSaysToStartAgain() {
        Path out = dir.resolve("early");
        assertEquals("transcnn: interrupted before the first checkpoint; nothing to resume, start again with: "
                + "bin/transcnn train --out " + out + " --data " + SampleData.dir() + " --epochs 2 --batch-size 32 "
                + "--seed 7 --channels 8", new Trainer(options(out, false), quiet()).interrupt());
    }

    @Test
    void unwritableOutputAndMissingModelGiveClearErrors() throws IOException {
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        TransCnnCliAccess.Result r = TransCnnCliAccess.run("train", "--out", file.resolve("sub").toString(),
                "--epochs", "1");
        assertEquals(1, r.code());
        assertEquals("transcnn: --out " + file.resolve("sub") + ": cannot be created: " + file + " is a file, not a "
                + "directory", r.err().strip());
        TransCnnCliAccess.Result m = TransCnnCliAccess.run("eval", "--model", dir.resolve("none.zip").toString());
        assertTrue(m.code() != 0 && m.err().contains("none.zip: no such file (model)"), m.err());
    }
}
