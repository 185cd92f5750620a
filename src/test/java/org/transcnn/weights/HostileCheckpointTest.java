package org.transcnn.weights;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.Fixtures;
import org.transcnn.models.TransCNN;
import org.transcnn.weights.TorchWriter.Ref;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The holes a probe found in the checkpoint reader, each as a small crafted file built here: every one is refused
 * (or, for aliased storages, read) within a time and memory bound proportional to the file, with a message naming
 * the file and the tensor.
 */
class HostileCheckpointTest {

    static final String KEY = "blocks.0.0.attn.qkv.weight";
    static Map<String, INDArray> tensors;

    @TempDir
    Path dir;

    @BeforeAll
    static void read() throws Exception {
        tensors = new LinkedHashMap<>();
        TorchCheckpoint.read(Fixtures.file(Fixtures.WITH_GRADS, "model.pth"))
                .forEach((k, v) -> tensors.put(k, v.toINDArray(DataType.FLOAT)));
    }

    static TransCNN.Builder defaults() {
        return Fixtures.builder(Fixtures.WITH_GRADS);
    }

    static CheckpointException refused(Path file) {
        return assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(file));
    }

    static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        }
    }

    static long[] longs(int n, long value) {
        long[] a = new long[n];
        Arrays.fill(a, value);
        return a;
    }

    @Test
    void rank900000TensorIsRefusedQuicklyNamingTheKey() throws IOException {
        int rank = 900_000;
        int wide = 20;
        long[] size = longs(rank, 1);
        long[] stride = longs(rank, 1);
        for (int k = 0; k < wide; k++) {
            size[rank - 1 - k] = 2;
            stride[rank - 1 - k] = 1L << k;
        }
        Path f = dir.resolve("rank.pth");
        TorchWriter.writeRaw(f, List.of(new Ref(KEY, "0", 1L << wide, 0, size, stride)),
                Map.of("0", new byte[4 << wide]));
        assertTrue(Files.size(f) > 7_000_000, "the probe's file was 7.8 MB: " + Files.size(f));
        CheckpointException e = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> refused(f));
        assertMentions(e, f.toString(), "tensor '" + KEY + "'", "rank 900000", "limit of 64");
    }

    @Test
    void tensorsAliasingOneStorageShareOneCopy() throws IOException {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean
                && ((com.sun.management.ThreadMXBean) bean).isThreadAllocatedMemorySupported()
                && ((com.sun.management.ThreadMXBean) bean).isThreadAllocatedMemoryEnabled(),
                "this JVM does not count allocated bytes per thread");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        int n = 1 << 21;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i % 1000 - 500.25f;
        }
        int views = 16;
        List<Ref> refs = new ArrayList<>();
        for (int v = 0; v < views; v++) {
            refs.add(new Ref("alias." + v, "0", n, (long) v * (n / 32), new long[] {n / 2}, new long[] {1}));
        }
        Path f = dir.resolve("alias.pth");
        TorchWriter.writeRaw(f, refs, Map.of("0", TorchWriter.floats(values)));
        long storageBytes = 4L * n;

        long before = threads.getCurrentThreadAllocatedBytes();
        Map<String, TorchTensor> sd = TorchCheckpoint.read(f);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertEquals(views, sd.size());
        assertTrue(allocated < 2 * storageBytes, "reading " + views + " views of one " + storageBytes
                + "-byte storage allocated " + allocated + " bytes, expected under 2x the storage");
        TorchTensor.Storage first = sd.get("alias.0").storage();
        for (TorchTensor t : sd.values()) {
            assertSame(first, t.storage(), "every alias views the same storage object");
        }
        INDArray last = sd.get("alias.15").toINDArray(DataType.FLOAT);
        assertEquals(n / 2, last.length());
        int offset = 15 * (n / 32);
        for (int j : new int[] {0, 1, 999, n / 2 - 1}) {
            assertEquals(values[offset + j], last.getFloat(j), "element " + j + " of alias.15");
        }
    }

    @Test
    void stridedViewsReadTheElementsTheyAddress() throws IOException {
        Path f = dir.resolve("strided.pth");
        float[] v = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        // the transpose of the 3x4 matrix at offset 0, and column 1 of it: PyTorch's t() and [:, 1]
        TorchWriter.writeRaw(f, List.of(new Ref("t", "0", 12, 0, new long[] {4, 3}, new long[] {1, 4}),
                new Ref("col", "0", 12, 1, new long[] {3, 1}, new long[] {4, 1})), Map.of("0", TorchWriter.floats(v)));
        Map<String, TorchTensor> sd = TorchCheckpoint.read(f);
        assertEquals(Arrays.toString(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}),
                Arrays.toString(sd.get("t").toINDArray(DataType.FLOAT).data().asFloat()));
        assertEquals(Arrays.toString(new float[] {1, 5, 9}),
                Arrays.toString(sd.get("col").toINDArray(DataType.FLOAT).data().asFloat()));
    }

    @Test
    void duplicateStorageEntryIsRefused() throws IOException {
        Path f = dir.resolve("dup.pth");
        float[] nan = new float[4];
        Arrays.fill(nan, Float.NaN);
        Map<String, byte[]> storages = new LinkedHashMap<>();
        storages.put("0", TorchWriter.floats(1, 2, 3, 4));
        storages.put("X", TorchWriter.floats(nan));
        TorchWriter.writeRaw(f, List.of(new Ref("w", "0", 4, 0, new long[] {4}, new long[] {1})), storages);
        TorchWriter.replace(f, "archive/data/X", "archive/data/0");
        assertMentions(assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(f, true)), f.toString(),
                "zip entry 'archive/data/0' appears twice");
    }

    @Test
    void nonFiniteWeightsAreRefusedNamingTheKeyUnlessAllowed() throws IOException {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            Map<String, INDArray> t = new LinkedHashMap<>(tensors);
            INDArray w = tensors.get(KEY).dup();
            w.putScalar(new long[] {3, 5, 0, 0}, bad);
            t.put(KEY, w);
            Path f = dir.resolve("nonfinite-" + bad + ".pth");
            TorchWriter.write(f, t, Map.of());
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> TransCnnWeights.readChecked(f, defaults()));
            long flat = 3 * w.size(1) + 5;
            assertMentions(e, f.toString(), "tensor '" + KEY + "'", "non-finite value " + bad + " at element " + flat + " of",
                    "allowNonFinite");
            TransCnnWeights.Checked checked = TransCnnWeights.readChecked(f, defaults(), true);
            float got = checked.tensors().get(KEY).toINDArray(DataType.FLOAT).getFloat(new long[] {3, 5, 0, 0});
            assertEquals(bad, got, 0f, "the non-finite value is kept when allowed");
        }
    }

    @Test
    void overflowingShapesAndStridesAreRefusedInWords() throws IOException {
        Map<String, Ref> cases = new LinkedHashMap<>();
        cases.put("has more elements than its storage of 4 elements",
                new Ref(KEY, "0", 4, 0, new long[] {1L << 40, 1L << 40}, new long[] {1L << 40, 1}));
        cases.put("reaches past the end of its storage of 4 elements",
                new Ref(KEY, "0", 4, 0, new long[] {2, 2}, new long[] {1L << 62, 1L << 62}));
        cases.put("storage offset 9223372036854775807 is past the end",
                new Ref(KEY, "0", 4, Long.MAX_VALUE, new long[] {1}, new long[] {1}));
        int i = 0;
        for (Map.Entry<String, Ref> c : cases.entrySet()) {
            Path f = dir.resolve("bigshape" + i++ + ".pth");
            TorchWriter.writeRaw(f, List.of(c.getValue()), Map.of("0", TorchWriter.floats(1, 2, 3, 4)));
            CheckpointException e = refused(f);
            assertMentions(e, f.toString(), "tensor '" + KEY + "'", c.getKey());
            assertFalse(e.getMessage().contains("long overflow"), e.getMessage());
        }
    }

    @Test
    void truncatedStorageNamesFileAndKey() throws IOException {
        Path f = dir.resolve("cut-storage.pth");
        int real = 16;
        int claimed = 528;
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", TorchWriter.pickle(List.of(
                new Ref(KEY, "0", claimed, 0, new long[] {claimed}, new long[] {1}))));
        entries.put("archive/padding", new byte[4096]);
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        entries.put("archive/data/0", TorchWriter.floats(new float[real]));
        TorchWriter.zip(f, entries);
        setCentralDirectorySize(f, "archive/data/0", 4 * claimed);
        assertTrue(Files.size(f) > 4L * claimed, "the claimed storage fits the file size, so only reading shows");
        assertMentions(refused(f), f.toString(), "tensor '" + KEY + "'", "archive/data/0", "truncated");
    }

    @Test
    void truncatedPickleIsDescribedNotNull() throws IOException {
        byte[] pickle = TorchWriter.pickle(List.of(new Ref(KEY, "0", 4, 0, new long[] {4}, new long[] {1})));
        for (int cut : new int[] {pickle.length / 2, pickle.length - 1, 3}) {
            Path f = dir.resolve("cut-pickle-" + cut + ".pth");
            TorchWriter.zip(f, Map.of("archive/data.pkl", Arrays.copyOf(pickle, cut),
                    "archive/data/0", TorchWriter.floats(1, 2, 3, 4)));
            CheckpointException e = refused(f);
            assertMentions(e, f.toString(), "archive/data.pkl", "truncated");
            assertFalse(e.getMessage().endsWith("null"), e.getMessage());
            assertFalse(e.getMessage().contains("EOFException"), e.getMessage());
        }
    }

    @Test
    void allowedGlobalsAreListedSorted() throws IOException {
        Path f = dir.resolve("evil.pth");
        byte[] pickle = new String(TorchWriter.pickle(List.of(new Ref(KEY, "0", 4, 0, new long[] {4},
                new long[] {1}))), StandardCharsets.ISO_8859_1).replaceFirst("ccollections\nOrderedDict\n",
                "cposix\nsystem\n").getBytes(StandardCharsets.ISO_8859_1);
        TorchWriter.zip(f, Map.of("archive/data.pkl", pickle, "archive/data/0", TorchWriter.floats(1, 2, 3, 4)));
        assertMentions(refused(f), f.toString(), "pickle global 'posix.system' is not allowed",
                "(allowed: collections.OrderedDict, torch.DoubleStorage, torch.FloatStorage, torch.IntStorage, "
                        + "torch.LongStorage, torch._utils._rebuild_parameter, torch._utils._rebuild_tensor_v2)");
    }

    @Test
    void fifoIsRefusedAsNotARegularFileWithoutHanging() throws Exception {
        Path fifo = dir.resolve("pipe.pth");
        boolean made;
        try {
            Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
            made = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            made = false;
        }
        Assumptions.assumeTrue(made && Files.exists(fifo), "mkfifo is not available here");
        CheckpointException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(CheckpointException.class, () -> TransCnnWeights.readChecked(fifo, defaults())));
        assertMentions(e, fifo.toString(), "not a regular file but a FIFO");
    }

    @Test
    void directoryAndDeviceAreRefusedAsNotARegularFile() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("model.pth"));
        CheckpointException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(CheckpointException.class, () -> TransCnnWeights.readChecked(sub, defaults())));
        assertMentions(e, sub.toString(), "not a regular file but a directory");
        Path zero = Path.of("/dev/zero");
        if (Files.exists(zero)) {
            CheckpointException z = assertTimeoutPreemptively(Duration.ofSeconds(5),
                    () -> assertThrows(CheckpointException.class, () -> TorchCheckpoint.read(zero)));
            assertMentions(z, "/dev/zero", "not a regular file but a character device");
        }
    }

    /**
     * Sets the compressed and uncompressed sizes of {@code name} in the central directory (and its local header),
     * so that the entry claims more bytes than the file has after its start.
     */
    private static void setCentralDirectorySize(Path file, String name, int size) throws IOException {
        byte[] data = Files.readAllBytes(file);
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        int local = -1;
        int central = -1;
        for (int i = 0; i + n.length <= data.length; i++) {
            if (Arrays.equals(data, i, i + n.length, n, 0, n.length)) {
                if (local < 0) {
                    local = i;
                } else {
                    central = i;
                }
            }
        }
        assertTrue(local > 0 && central > local, name + " found in the local header and the central directory");
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x02014b50, b.getInt(central - 46), "central directory record of " + name);
        b.putInt(central - 46 + 20, size).putInt(central - 46 + 24, size);
        assertEquals(0x04034b50, b.getInt(local - 30), "local header of " + name);
        b.putInt(local - 30 + 18, size).putInt(local - 30 + 22, size);
        Files.write(file, data);
    }
}
