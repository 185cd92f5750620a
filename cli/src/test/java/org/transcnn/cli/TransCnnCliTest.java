package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.transcnn.Fixtures;
import org.transcnn.data.Npy;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.models.Preset;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import org.transcnn.weights.TorchCheckpoint;
import org.transcnn.weights.TorchWriter;
import org.transcnn.weights.TransCnnWeights;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: summary, infer against the official outputs, and one clear stderr line per error. */
class TransCnnCliTest {

    @TempDir
    Path dir;

    static TransCnnCliAccess.Result run(String... args) {
        return TransCnnCliAccess.run(args);
    }

    @ParameterizedTest
    @EnumSource(Preset.class)
    void summaryJsonHasTheExactParameterCount(Preset preset) throws Exception {
        TransCnnCliAccess.Result r = run("summary", "--preset", preset.name(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(preset.name(), json.get("preset").asText());
        assertEquals(preset.weights().parameters(), json.get("params").asLong());
        long stages = 0;
        for (JsonNode part : json.get("parts")) {
            stages += part.get("macs").asLong();
        }
        assertEquals(json.get("macs").asLong(), stages);
    }

    @Test
    void summaryTextListsStagesAndTotal() {
        TransCnnCliAccess.Result r = run("summary", "--preset", "base", "--classes", "10", "--height", "128",
                "--width", "384");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("stage4") && r.out().contains("total"), r.out());
        assertTrue(r.out().contains("input 128x384 (HxW)"), r.out());
    }

    @Test
    void inferWritesTheOfficialOutputs() throws Exception {
        String f = "transcnn-mini-rect";
        Path out = dir.resolve("out");
        TransCnnCliAccess.Result r = run("infer", "--weights", Fixtures.file(f, "model.pth").toString(), "--input",
                Fixtures.file(f, "input.npy").toString(), "--out", out.toString(), "--head-dim", "32");
        assertEquals(0, r.code(), r.err());
        assertClose(Npy.read(out.resolve("logits.npy")), Fixtures.npy(f, "eval_logits.npy"));
        for (int s = 1; s <= 4; s++) {
            assertClose(Npy.read(out.resolve("stage" + s + ".npy")), Fixtures.npy(f, "eval_stage" + s + ".npy"));
        }
        TransCnnCliAccess.Result again = run("infer", "--weights", Fixtures.file(f, "model.pth").toString(), "--input",
                Fixtures.file(f, "input.npy").toString(), "--out", out.toString(), "--head-dim", "32");
        assertError(again, "logits.npy already exists");
    }

    @Test
    void inferRefusesNonFiniteWeightsUnlessAllowed() throws Exception {
        String f = "transcnn-mini-64";
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        TorchCheckpoint.read(Fixtures.file(f, "model.pth")).forEach((k, v) -> tensors.put(k, v.toINDArray(
                DataType.FLOAT)));
        tensors.get("classifier.1.bias").putScalar(7, Float.NaN);
        Path pth = dir.resolve("diverged.pth");
        TorchWriter.write(pth, tensors, Map.of());
        String[] args = {"infer", "--weights", pth.toString(), "--input", Fixtures.file(f, "input.npy").toString(),
            "--out", dir.resolve("out").toString(), "--head-dim", "16", "--grid-sizes", "4,4,2,1", "--ds-ratios",
            "4,2,2,1"};
        assertError(run(args), "tensor 'classifier.1.bias': storage");
        assertError(run(args), "non-finite value NaN");
        String[] allowed = Arrays.copyOf(args, args.length + 1);
        allowed[args.length] = "--allow-non-finite";
        TransCnnCliAccess.Result r = run(allowed);
        assertEquals(0, r.code(), r.err());
        INDArray logits = Npy.read(dir.resolve("out").resolve("logits.npy"));
        assertTrue(Float.isNaN(logits.getFloat(0, 7)) && Float.isNaN(logits.getFloat(1, 7)), logits.toString());
        assertTrue(Float.isFinite(logits.getFloat(0, 6)), "the other classes stay finite: " + logits);
    }

    /**
     * A checkpoint of dims 24/48/72/96 and head dim 24, which the official code builds: the release head dim 64 does
     * not divide these dims, and 24 does not divide the release dims 64/128/256/512, so the head dim may only be
     * checked against the checkpoint's own dims (it used to be refused with "dims[0] = 64 is not divisible by
     * headDim 24" before the checkpoint was read).
     */
    @Test
    void inferLoadsACheckpointWhoseHeadDimDoesNotDivideTheReleaseDims() throws Exception {
        TransCnnConfig config = TransCnnConfig.builder().dims(24, 48, 72, 96).depths(1, 1, 1, 1).headDim(24)
                .gridSizes(4, 4, 2, 1).dsRatios(4, 2, 2, 1).numClasses(5).inputSize(64, 64).build();
        ComputationGraph net = TransCNN.builder(config).seed(3).build().init();
        Path pth = dir.resolve("head24.pth");
        TorchWriter.write(pth, TransCnnWeights.toTorch(net.getConfiguration(), net.paramTable()), Map.of());
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 64, 64);
        Path input = dir.resolve("x.npy");
        Npy.write(x, input);
        Path out = dir.resolve("out");
        TransCnnCliAccess.Result r = run("infer", "--weights", pth.toString(), "--input", input.toString(), "--out",
                out.toString(), "--head-dim", "24", "--grid-sizes", "4,4,2,1", "--ds-ratios", "4,2,2,1");
        assertEquals(0, r.code(), r.err());
        INDArray expected = net.feedForward(x, false).get(TransCNN.LOGITS);
        assertClose(Npy.read(out.resolve("logits.npy")), expected);
    }

    static void assertClose(INDArray actual, INDArray reference) {
        assertArrayEquals(reference.shape(), actual.shape());
        assertTrue(Fixtures.scaledError(actual, reference) <= 1e-4);
    }

    static void assertError(TransCnnCliAccess.Result r, String message) {
        assertTrue(r.code() != 0, "exit code");
        assertTrue(r.err().contains(message), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line on stderr: " + r.err());
    }

    @Test
    void errorsAreOneClearLine() throws Exception {
        String pth = Fixtures.file("transcnn-mini-128", "model.pth").toString();
        String npy = Fixtures.file("transcnn-mini-128", "input.npy").toString();
        assertError(run("summary", "--preset", "HUGE"), "unknown preset 'HUGE'");
        assertError(run("summary", "--preset", "SMALL", "--height", "100"), "input height 100 is not supported");
        assertError(run("summary"), "Missing required option: '--preset");
        assertError(run("frobnicate"), "Unmatched argument");
        assertError(run("infer", "--weights", dir.resolve("none.pth").toString(), "--input", npy, "--out",
                dir.toString(), "--head-dim", "32"), "none.pth: no such file");
        Path text = Files.writeString(dir.resolve("x.npy"), "not numpy");
        assertError(run("infer", "--weights", pth, "--input", text.toString(), "--out", dir.toString()),
                "not a NumPy .npy file");
        Path gray = dir.resolve("gray.npy");
        Npy.write(Fixtures.npy("transcnn-mini-128", "input.npy").get(
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1),
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.all()), gray);
        assertError(run("infer", "--weights", pth, "--input", gray.toString(), "--out", dir.resolve("o").toString(),
                "--head-dim", "32"), "input channel count is 1, expected 3");
        assertError(run("infer", "--weights", pth, "--input", npy, "--out", dir.resolve("o").toString()),
                "dims[0] = 32 is not divisible by headDim 64");
    }
}
