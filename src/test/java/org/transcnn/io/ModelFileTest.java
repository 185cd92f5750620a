package org.transcnn.io;

import com.sun.management.ThreadMXBean;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import probe.StaticInitProbe;
import probe.transcnnprobe.Handler;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.zip.Deflater;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ModelFile} against the holes a probe found in loading a model.zip with DL4J's ModelSerializer: each hostile
 * file is built here, refused with a message naming the file and entry, within a time and memory bound. Where the
 * hole can be shown safely, the same file is also handed to ModelSerializer, proving the payload is real.
 */
class ModelFileTest {

    @TempDir
    Path dir;

    private static Path good;
    private static ComputationGraph net;

    static TransCnnConfig tiny() {
        return TransCnnConfig.builder().dims(8, 16, 24, 32).depths(1, 1, 1, 1).expansions(2, 2, 2, 2)
                .gridSizes(2, 2, 1, 1).dsRatios(2, 2, 1, 1).headDim(8).numClasses(3).inputSize(32, 32).build();
    }

    /** A trained tiny TransCNN (updater state not zero), saved by ModelFile. */
    static ComputationGraph trainedTiny() {
        ComputationGraph n = TransCNN.builder(tiny()).updater(new Adam(1e-3)).seed(3).build().init();
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 2, 3);
        y.putScalar(0, 1, 1f);
        y.putScalar(1, 2, 1f);
        n.fit(new MultiDataSet(x, y));
        return n;
    }

    @BeforeAll
    static void saveGoodModel(@TempDir Path shared) throws IOException {
        System.setProperty("java.protocol.handler.pkgs", "probe");
        net = trainedTiny();
        good = shared.resolve("good.zip");
        ModelFile.save(net, good, true, Map.of("note.txt", "plain text"));
    }

    private static long allocatedBytes(Runnable r) {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long before = mx.getThreadAllocatedBytes(id);
        r.run();
        return mx.getThreadAllocatedBytes(id) - before;
    }

    private Path withEntry(String name, byte[] content) throws IOException {
        Map<String, byte[]> entries = Zips.read(good);
        entries.put(name, content);
        return Zips.write(dir.resolve("hostile.zip"), entries);
    }

    private static ModelFileException refused(Path file, String... fragments) {
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelFile.load(file, true));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "expected '" + f + "' in: " + e.getMessage());
        }
        return e;
    }

    private static byte[] serialize(Object o) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(b)) {
            out.writeObject(o);
        }
        return b.toByteArray();
    }

    /** A URLDNS-style payload: deserializing the map hashes the URL, which for http resolves its host. */
    private static byte[] urlDnsPayload() throws IOException {
        Map<Object, Object> m = new HashMap<>();
        m.put(new URL("transcnnprobe://attacker.example/"), 1);
        return serialize(m);
    }

    /** Nested sets whose deserialization computes 2^depth hash codes (SerialDOS). */
    private static byte[] hashSetBomb() throws IOException {
        Set<Object> root = new HashSet<>();
        Set<Object> s1 = root;
        Set<Object> s2 = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            Set<Object> t1 = new HashSet<>();
            Set<Object> t2 = new HashSet<>();
            t1.add("x");
            s1.add(t1);
            s1.add(t2);
            s2.add(t1);
            s2.add(t2);
            s1 = t1;
            s2 = t2;
        }
        return serialize(root);
    }

    /** A long[] whose serialized length claims 2^31 - 1 elements (16 GB) in a stream of a few bytes. */
    private static byte[] hugeArrayHeader() throws IOException {
        byte[] b = serialize(new long[] {42L});
        ByteBuffer buf = ByteBuffer.wrap(b);
        int lengthAt = b.length - 8 - 4;
        assertEquals(1, buf.getInt(lengthAt), "array length field found");
        buf.putInt(lengthAt, Integer.MAX_VALUE);
        return b;
    }

    @Test
    void roundTripKeepsParametersUpdaterAndTextEntries() throws IOException {
        ComputationGraph loaded = ModelFile.load(good, true);
        assertEquals(net.getConfiguration().toJson(), loaded.getConfiguration().toJson());
        assertEquals(net.params(), loaded.params());
        assertEquals(net.getUpdater().getStateViewArray(), loaded.getUpdater().getStateViewArray());
        assertEquals("plain text", ModelFile.readText(good, "note.txt").orElseThrow());
        assertTrue(ModelFile.readText(good, "absent").isEmpty());
        ComputationGraph noUpdater = ModelFile.load(good);
        assertEquals(net.params(), noUpdater.params());
    }

    /** A fine-tuned network (frozen layers, DL4J's own classes in its configuration) saves and loads unchanged. */
    @Test
    void aFrozenNetworkRoundTrips() throws IOException {
        ComputationGraph frozen = TransCNN.freezeStages(net, 2);
        Path file = dir.resolve("frozen.zip");
        ModelFile.save(frozen, file, true);
        ComputationGraph loaded = ModelFile.load(file, true);
        assertEquals(frozen.getConfiguration().toJson(), loaded.getConfiguration().toJson());
        INDArray x = Nd4j.rand(DataType.FLOAT, 1, 3, 32, 32);
        assertEquals(frozen.outputSingle(x), loaded.outputSingle(x));
    }

    @Test
    void javaSerializedPreprocessorIsRefusedWithoutDeserializingIt() throws Exception {
        Path file = withEntry("preprocessor.bin", urlDnsPayload());
        Handler.LOOKUPS.set(0);
        refused(file, "[preprocessor.bin]", "Java-serialized");
        assertEquals(0, Handler.LOOKUPS.get(), "the payload was not deserialized");
        // the same file through DL4J's reader: the payload runs (the hole this guards)
        assertThrows(RuntimeException.class, () -> ModelSerializer.restoreComputationGraph(file.toFile(), false));
        assertTrue(Handler.LOOKUPS.get() > 0, "ModelSerializer deserialized the URLDNS-style payload");
    }

    @Test
    void legacyRunStateIsReadOnlyAsAString() throws Exception {
        Path ok = withEntry("objects/state", serialize("{\"a\": 1}"));
        assertEquals("{\"a\": 1}", ModelFile.readLegacyString(ok, "state").orElseThrow());
        assertEquals(net.params(), ModelFile.load(ok, true).params(), "load() leaves objects/ entries unread");

        Path url = withEntry("objects/state", urlDnsPayload());
        Handler.LOOKUPS.set(0);
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelFile.readLegacyString(url, "state"));
        assertTrue(e.getMessage().contains("[objects/state]") && e.getMessage().contains("other than a string"),
                e.getMessage());
        assertEquals(0, Handler.LOOKUPS.get(), "no URL was hashed (no DNS lookup in the real gadget)");
        try (ObjectInputStream plain = new ObjectInputStream(new java.io.ByteArrayInputStream(urlDnsPayload()))) {
            plain.readObject();
        }
        assertTrue(Handler.LOOKUPS.get() > 0, "a plain ObjectInputStream does run the payload");
    }

    @Test
    void hashSetBombIsRefusedQuickly() throws Exception {
        Path bomb = withEntry("objects/state", hashSetBomb());
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertThrows(ModelFileException.class,
                () -> ModelFile.readLegacyString(bomb, "state")));
    }

    @Test
    void hugeArrayHeaderIsRefusedWithoutAllocating() throws Exception {
        Path file = withEntry("objects/state", hugeArrayHeader());
        long bytes = allocatedBytes(() -> assertThrows(ModelFileException.class,
                () -> ModelFile.readLegacyString(file, "state")));
        assertTrue(bytes < 64L << 20, "allocated " + bytes + " bytes");
    }

    @Test
    void classNamesOutsideDl4jNd4jAndTransCnnAreRefusedBeforeLoading() throws Exception {
        Map<String, byte[]> entries = Zips.read(good);
        String json = new String(entries.get(ModelFile.CONFIGURATION), StandardCharsets.UTF_8);
        String target = "\"org.nd4j.linalg.activations.impl.ActivationIdentity\"";
        assertTrue(json.contains(target));
        entries.put(ModelFile.CONFIGURATION, json.replaceFirst(java.util.regex.Pattern.quote(target),
                "\"probe.StaticInitProbe\"").getBytes(StandardCharsets.UTF_8));
        Path file = Zips.write(dir.resolve("class.zip"), entries);
        assertNull(System.getProperty(StaticInitProbe.PROPERTY));
        refused(file, "[configuration.json]", "\"probe.StaticInitProbe\"", "refused before loading it");
        assertNull(System.getProperty(StaticInitProbe.PROPERTY), "the probe's static initializer did not run");
        // DL4J's reader refuses the class too, but only after initialising it
        assertThrows(RuntimeException.class, () -> ModelSerializer.restoreComputationGraph(file.toFile(), false));
        assertEquals("initialised", System.getProperty(StaticInitProbe.PROPERTY));
    }

    @Test
    void shadedThirdPartyClassesAndOddNamesAreNotAllowed() {
        assertTrue(ModelFile.allowedClass("org.deeplearning4j.nn.conf.layers.DenseLayer"));
        assertTrue(ModelFile.allowedClass("org.transcnn.layers.BatchNorm"));
        assertFalse(ModelFile.allowedClass("org.nd4j.shade.jackson.databind.ObjectMapper"));
        assertFalse(ModelFile.allowedClass("java.net.URL"));
        assertFalse(ModelFile.allowedClass("[Lorg.nd4j.linalg.api.ndarray.INDArray;"));
        assertFalse(ModelFile.allowedClass("org.transcnnx.Evil"));
    }

    /** A configuration of {@code mb} MB of spaces: a few hundred KB zipped. */
    private Path configurationBomb(int mb) throws IOException {
        byte[] spaces = new byte[mb << 20];
        java.util.Arrays.fill(spaces, (byte) ' ');
        Path file = withEntry(ModelFile.CONFIGURATION, spaces);
        assertTrue(Files.size(file) < 2 << 20, "the bomb is small: " + Files.size(file));
        return file;
    }

    @Test
    void configurationZipBombsAreRefusedWithinBoundedMemory() throws Exception {
        Path declared = configurationBomb(200);
        long bytes = allocatedBytes(() -> assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> refused(declared, "[configuration.json]", "209715200 bytes, more than the limit of 67108864")));
        assertTrue(bytes < 16L << 20, "allocated " + bytes + " bytes for a 200 MB entry refused by its size");
        Path ratio = configurationBomb(60);
        bytes = allocatedBytes(() -> assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> refused(ratio, "[configuration.json]", "times its compressed size")));
        assertTrue(bytes < 100L << 20, "allocated " + bytes + " bytes for a 60 MB entry refused by its ratio");
    }

    @Test
    void duplicateEntriesAreRefused() throws Exception {
        Map<String, byte[]> entries = Zips.read(good);
        entries.put("coefficientZ.bin", entries.get(ModelFile.COEFFICIENTS));
        Path file = Files.write(dir.resolve("dup.zip"),
                Zips.rename(Zips.bytes(entries), "coefficientZ.bin", ModelFile.COEFFICIENTS));
        refused(file, "[coefficients.bin]", "twice");
    }

    @Test
    void entryNamesThatAreNotPlainRelativePathsAreRefused() throws Exception {
        for (String bad : new String[] {"../../etc/pwd", "/etc/passwd.x", "a\\b\\c\\d.bin"}) {
            String placeholder = "x".repeat(bad.length());
            Path file = Files.write(dir.resolve("name.zip"), Zips.rename(Zips.bytes(new LinkedHashMap<>(Map.of(
                    placeholder, new byte[1]))), placeholder, bad));
            ModelFileException e = assertThrows(ModelFileException.class, () -> ModelFile.load(file));
            assertTrue(e.getMessage().contains("not a plain relative path"), e.getMessage());
        }
    }

    @Test
    void tooManyEntriesAreRefused() throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < 65; i++) {
            entries.put("e" + i, new byte[0]);
        }
        refused(Zips.write(dir.resolve("many.zip"), entries), "65 zip entries");
    }

    /** ND4J's array format with a header of {@code length} values and {@code present} values after it. */
    private static byte[] nd4jArray(long length, long present) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeUTF("MIXED_DATA_TYPES");
        d.writeLong(6);
        d.writeUTF("LONG");
        for (long v : new long[] {1, length, 1, 8192, 1, 99}) {
            d.writeLong(v);
        }
        d.writeUTF("MIXED_DATA_TYPES");
        d.writeLong(length);
        d.writeUTF("FLOAT");
        for (long i = 0; i < present; i++) {
            d.writeFloat(0.5f);
        }
        return b.toByteArray();
    }

    @Test
    void parameterHeadersThatDisagreeWithTheConfigurationAreRefusedBeforeAllocating() throws Exception {
        long n = net.params().length();
        Map<String, Supplier<String>> cases = new LinkedHashMap<>();
        Path huge = withEntry(ModelFile.COEFFICIENTS, nd4jArray(1L << 40, 0));
        long bytes = allocatedBytes(() -> refused(huge, "[coefficients.bin]", "dimension " + (1L << 40),
                "expected " + n + " values"));
        assertTrue(bytes < 32L << 20, "allocated " + bytes);
        refused(withEntry(ModelFile.COEFFICIENTS, nd4jArray(n - 1, n - 1)), "the configuration needs " + n);
        refused(withEntry(ModelFile.COEFFICIENTS, nd4jArray(n, n / 2)), "truncated");
        refused(withEntry(ModelFile.COEFFICIENTS, nd4jArray(n, n + 1)), "bytes after");
        refused(withEntry(ModelFile.UPDATER_STATE, nd4jArray(n, n)), "[updaterState.bin]", "needs");
        ComputationGraph ok = ModelFile.load(withEntry(ModelFile.COEFFICIENTS, nd4jArray(n, n)));
        assertEquals(0.5, ok.params().minNumber().doubleValue(), 0.0);
        assertTrue(cases.isEmpty());
    }

    @Test
    void parameterCountIsBoundedByTheLimits() {
        ModelFile.Limits small = new ModelFile.Limits(64, 64L << 20, 200, 1000);
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelFile.load(good, false, small));
        assertTrue(e.getMessage().contains("limit of 1000"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ModelFile.Limits(1, 1, 1, 0));
    }

    @Test
    void missingOrForeignFilesGetSpecificMessages() throws Exception {
        Path text = Files.writeString(dir.resolve("notes.zip"), "not a zip");
        assertTrue(assertThrows(ModelFileException.class, () -> ModelFile.load(text)).getMessage()
                .contains("not a zip file"));
        Path other = Zips.write(dir.resolve("other.zip"), Map.of("readme.txt", new byte[3]));
        refused(other, "[configuration.json]", "missing", "readme.txt");
        Path notJson = withEntry(ModelFile.CONFIGURATION, "{\"vertices\": [".getBytes(StandardCharsets.UTF_8));
        refused(notJson, "[configuration.json]", "not valid JSON");
        Path deep = withEntry(ModelFile.CONFIGURATION, "[".repeat(100_000).getBytes(StandardCharsets.UTF_8));
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> refused(deep, "nested deeper than"));
        IOException missing = assertThrows(IOException.class, () -> ModelFile.load(dir.resolve("none.zip")));
        assertTrue(missing.getMessage().contains("none.zip: no such file (model)"), missing.getMessage());
        IOException directory = assertThrows(IOException.class, () -> ModelFile.load(dir));
        assertTrue(directory.getMessage().contains("not a regular file but a directory"), directory.getMessage());
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("model.zip");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "mkfifo unavailable");
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(IOException.class, () -> ModelFile.load(fifo)));
        assertTrue(e.getMessage().contains("not a regular file but a FIFO"), e.getMessage());
        Path zero = Path.of("/dev/zero");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(zero));
        IOException z = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(IOException.class, () -> ModelFile.load(zero)));
        assertTrue(z.getMessage().contains("character device"), z.getMessage());
        assertEquals(0, new Deflater().getTotalIn());
    }
}
