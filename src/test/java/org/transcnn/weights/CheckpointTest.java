package org.transcnn.weights;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.Fixtures;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading official checkpoints, inferring their architecture, and refusing bad ones with the file and key named. */
class CheckpointTest {

    static final String F = Fixtures.WITH_GRADS;
    static Path pth;
    static Map<String, INDArray> tensors;

    @TempDir
    Path dir;

    @BeforeAll
    static void read() throws Exception {
        pth = Fixtures.file(F, "model.pth");
        tensors = new LinkedHashMap<>();
        TorchCheckpoint.read(pth).forEach((k, v) -> tensors.put(k, v.toINDArray(DataType.FLOAT)));
    }

    static TransCNN.Builder defaults() {
        return Fixtures.builder(F);
    }

    CheckpointException refused(Path file) {
        return assertThrows(CheckpointException.class, () -> TransCnnWeights.readChecked(file, defaults()));
    }

    static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        }
    }

    @Test
    void architectureIsInferredFromTheTensors() throws Exception {
        TransCnnConfig c = TransCnnWeights.readChecked(pth, TransCNN.builder(TransCnnConfig.builder().headDim(16)
                .gridSizes(4, 4, 2, 2).dsRatios(4, 2, 2, 1).inputSize(64, 64).build())).config();
        assertArrayEquals(new int[] {16, 32, 64, 128}, c.dims());
        assertArrayEquals(new int[] {1, 1, 2, 1}, c.depths());
        assertArrayEquals(new int[] {2, 2, 3, 3}, c.expansions());
        assertArrayEquals(new int[] {5, 3, 5, 3}, c.kernelSizes());
        assertArrayEquals(new int[] {4, 4, 2, 1}, c.gridSizes(), "stage 4 has no grid attention in the file");
        assertEquals(10, c.numClasses());
        assertEquals(3, c.inChannels());
    }

    @Test
    void writerRoundTripLoadsTheSameModel() throws Exception {
        Path copy = dir.resolve("copy.pth");
        TorchWriter.write(copy, tensors, Map.of());
        ComputationGraph a = TransCnnWeights.loadModel(pth, defaults());
        ComputationGraph b = TransCnnWeights.loadModel(copy, defaults());
        assertEquals(a.params(), b.params());
    }

    @Test
    void notAZip() throws IOException {
        Path f = Files.writeString(dir.resolve("notes.pth"), "just some text, not a checkpoint");
        assertMentions(refused(f), f.toString(), "not a PyTorch zip checkpoint");
    }

    @Test
    void missingFile() {
        assertMentions(refused(dir.resolve("nope.pth")), "nope.pth", "no such file");
    }

    @Test
    void truncated() throws IOException {
        byte[] all = Files.readAllBytes(pth);
        Path f = Files.write(dir.resolve("cut.pth"), Arrays.copyOf(all, all.length * 3 / 5));
        assertMentions(refused(f), f.toString());
    }

    @Test
    void foreignZip() throws IOException {
        Path f = dir.resolve("foreign.pth");
        TorchWriter.zip(f, Map.of("readme.txt", "hello".getBytes(StandardCharsets.UTF_8)));
        assertMentions(refused(f), "no <archive>/data.pkl entry");
    }

    @Test
    void wrongShapedTensor() throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>(tensors);
        t.put("blocks.1.0.attn.proj.weight", Nd4j.zeros(DataType.FLOAT, 32, 16, 1, 1));
        Path f = dir.resolve("shape.pth");
        TorchWriter.write(f, t, Map.of());
        assertMentions(refused(f), f.toString(), "key 'blocks.1.0.attn.proj.weight' has shape [32, 16, 1, 1], "
                + "expected [32, 32, 1, 1]");
    }

    @Test
    void missingTensor() throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>(tensors);
        t.remove("blocks.2.1.conv.conv2.1.running_var");
        Path f = dir.resolve("missing.pth");
        TorchWriter.write(f, t, Map.of());
        assertMentions(refused(f), f.toString(), "missing key(s), first 'blocks.2.1.conv.conv2.1.running_var'");
    }

    @Test
    void unexpectedTensor() throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>(tensors);
        t.put("blocks.0.0.attn.rel_pos_bias", Nd4j.zeros(DataType.FLOAT, 4));
        Path f = dir.resolve("extra.pth");
        TorchWriter.write(f, t, Map.of());
        assertMentions(refused(f), "unexpected key(s), first 'blocks.0.0.attn.rel_pos_bias'");
    }

    @Test
    void hugeClaimedTensorIsRefusedBeforeAllocation() throws IOException {
        Path f = dir.resolve("huge.pth");
        TorchWriter.write(f, tensors, Map.of("classifier.1.weight", 1L << 40));
        assertMentions(refused(f), "tensor 'classifier.1.weight': storage claims 1099511627776 elements");
    }

    @Test
    void disallowedPickleGlobalIsRefusedByName() throws IOException {
        Path f = dir.resolve("evil.pth");
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(pth.toFile())) {
            zip.stream().forEach(e -> {
                try {
                    byte[] b = zip.getInputStream(e).readAllBytes();
                    if (e.getName().endsWith("data.pkl")) {
                        String s = new String(b, StandardCharsets.ISO_8859_1)
                                .replaceFirst("ccollections\nOrderedDict\n", "cposix\nsystem\n");
                        b = s.getBytes(StandardCharsets.ISO_8859_1);
                    }
                    entries.put(e.getName(), b);
                } catch (IOException ex) {
                    throw new IllegalStateException(ex);
                }
            });
        }
        TorchWriter.zip(f, entries);
        assertMentions(refused(f), f.toString(), "pickle global 'posix.system' is not allowed");
    }

    @Test
    void pickleOfSomethingElseIsRefused() throws IOException {
        Path f = dir.resolve("list.pth");
        // protocol 2: an empty list
        TorchWriter.zip(f, Map.of("archive/data.pkl", new byte[] {(byte) 0x80, 2, ']', '.'}));
        assertMentions(refused(f), "holds a ArrayList, not a state_dict");
    }

    /** The ablation (no stage), attention in some stages only, and in all: which stages have it is read back. */
    @ParameterizedTest
    @ValueSource(strings = {"", "0", "0,2", "1,2,3", "0,1,2,3"})
    void checkpointsRoundTripWithAttentionInTheStagesThatHaveIt(String stageList) throws Exception {
        int[] stages = stageList.isEmpty() ? new int[0]
                : Arrays.stream(stageList.split(",")).mapToInt(Integer::parseInt).toArray();
        TransCnnConfig c = Fixtures.modelConfig(F).toBuilder().attentionStages(stages).build();
        ComputationGraph net = TransCNN.builder(c).build().init();
        Map<String, INDArray> torch = TransCnnWeights.toTorch(net.getConfiguration(), net.paramTable());
        Path f = dir.resolve("stages" + stageList.replace(',', '-') + ".pth");
        TorchWriter.write(f, torch, Map.of());
        TransCnnWeights.Checked checked = TransCnnWeights.readChecked(f, defaults());
        assertArrayEquals(stages, checked.config().attentionStages());
        assertEquals(stages.length > 0, checked.config().attention());
        assertEquals(net.params(), TransCnnWeights.init(checked, defaults()).params());
    }

    @Test
    void hostilePickleStructuresAreRefused() throws IOException {
        byte[] head = {(byte) 0x80, 2, 'c'};
        byte[] dict = "collections\nOrderedDict\n".getBytes(StandardCharsets.US_ASCII);
        Map<String, byte[]> cases = new LinkedHashMap<>();
        // OrderedDict()[[]] = 0: a list as dict key (hashing nested lists can recurse without bound)
        cases.put("dict key of type ArrayList", concat(head, dict, new byte[] {')', 'R', ']', 'K', 0, 's', '.'}));
        // a 1000-digit integer literal
        cases.put("longer than 40 digits", concat(new byte[] {(byte) 0x80, 2, 'I'},
                "9".repeat(1000).getBytes(StandardCharsets.US_ASCII), new byte[] {'\n', '.'}));
        // an empty set
        cases.put("sets are not allowed", new byte[] {(byte) 0x80, 4, (byte) 0x8f, '.'});
        int i = 0;
        for (Map.Entry<String, byte[]> c : cases.entrySet()) {
            Path f = dir.resolve("hostile" + i++ + ".pth");
            TorchWriter.zip(f, Map.of("archive/data.pkl", c.getValue()));
            assertMentions(refused(f), c.getKey());
        }
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }

    @Test
    void failedLoadLeavesTheNetworkUntouched() throws Exception {
        ComputationGraph net = defaults().build().init();
        INDArray before = net.params().dup();
        Map<String, TorchTensor> sd = new LinkedHashMap<>(TorchCheckpoint.read(pth));
        sd.remove("classifier.1.bias");
        assertThrows(CheckpointException.class, () -> TransCnnWeights.load(pth, net, sd));
        assertEquals(before, net.params());
    }
}
