package org.transcnn.io;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.core.JsonFactory;
import org.nd4j.shade.jackson.core.JsonParser;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.core.JsonToken;
import org.transcnn.layers.LegacyBlocks;

/**
 * Saves and loads DL4J {@code model.zip} files (the format of DL4J's {@link ModelSerializer}, readable by it and
 * by this class), safely enough to open a file somebody else made.
 *
 * <p>{@link ModelSerializer#restoreComputationGraph} hands a {@code preprocessor.bin} entry to a plain
 * {@link ObjectInputStream} before it reads the configuration, so whatever gadget chain the classpath offers runs
 * on load; Jackson then loads (and initialises) every class a configuration's {@code "@class"} names before it finds
 * out the class is no layer; and every size in the file is trusted. {@link #load} instead:
 * <ol>
 *   <li>checks the zip before any entry is read: at most {@link Limits#maxEntries()} entries, names plain relative
 *       paths without duplicates, the entries it reads present, {@code preprocessor.bin} (Java-serialized) refused;
 *   <li>reads {@code configuration.json} up to {@link Limits#maxConfigBytes()} and a bounded compression ratio, and
 *       checks every {@code "@class"} in it against {@link #ALLOWED_CLASS_PREFIXES} before Jackson resolves any;
 *   <li>counts the parameters the configuration declares (at most {@link Limits#maxParameters()}) and reads
 *       {@code coefficients.bin} only if its header announces exactly that many values, streaming them into the
 *       array without a copy of the entry in memory; the updater state likewise must have exactly the size the
 *       network's updater needs.
 * </ol>
 * Java-serialized {@code objects/KEY} entries (DL4J's {@code addObjectToFile}) are never read by {@link #load};
 * {@link #readLegacyString} reads one that holds a string, through an {@link ObjectInputFilter} that admits
 * {@code java.lang.String} and nothing else. New files carry such data as plain text entries instead
 * ({@link #save(ComputationGraph, Path, boolean, Map)}, {@link #readText}).
 */
public final class ModelFile {

    /** DL4J's entry names. */
    public static final String CONFIGURATION = "configuration.json";
    public static final String COEFFICIENTS = "coefficients.bin";
    public static final String UPDATER_STATE = "updaterState.bin";
    public static final String NO_PARAMS_MARKER = "noParams.marker";
    static final String PREPROCESSOR = "preprocessor.bin";
    static final String NORMALIZER = "normalizer.bin";
    static final String OBJECTS = "objects/";
    /** Folder of the plain-text entries this library adds, such as a training run's state. */
    public static final String TEXT_ENTRIES = "transcnn/";

    /** Packages whose classes a configuration may name: DL4J's, ND4J's (not its shaded third-party code), ours. */
    public static final List<String> ALLOWED_CLASS_PREFIXES = List.of("org.deeplearning4j.", "org.nd4j.",
            "org.transcnn.");
    private static final String SHADED = "org.nd4j.shade.";
    private static final Pattern CLASS_NAME = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)+");
    private static final Pattern ENTRY_NAME = Pattern.compile("[A-Za-z0-9_.\\-]+(/[A-Za-z0-9_.\\-]+)*");
    private static final int MAX_ENTRY_NAME = 256;
    private static final int MAX_JSON_DEPTH = 256;
    private static final int MAX_HEADER_TEXT = 64;
    private static final int CHUNK = 1 << 16;

    /**
     * Bounds on what a model file may make the loader do.
     *
     * @param maxEntries          zip entries in the file
     * @param maxConfigBytes      bytes of {@code configuration.json} and of a text entry, inflated
     * @param maxCompressionRatio inflated over compressed size of the configuration, text entries and parameters
     * @param maxParameters       parameters the configuration may declare
     */
    public record Limits(int maxEntries, long maxConfigBytes, int maxCompressionRatio, long maxParameters) {

        /** 64 entries, a 64 MiB configuration, ratio 200, a billion parameters (4 GB in float). */
        public static final Limits DEFAULT = new Limits(64, 64L << 20, 200, 1_000_000_000L);

        public Limits {
            if (maxEntries < 3 || maxConfigBytes < 1024 || maxCompressionRatio < 2 || maxParameters < 1) {
                throw new IllegalArgumentException("model file limits too small: entries " + maxEntries
                        + " (>= 3), config bytes " + maxConfigBytes + " (>= 1024), compression ratio "
                        + maxCompressionRatio + " (>= 2), parameters " + maxParameters + " (>= 1)");
            }
        }
    }

    private ModelFile() {
    }

    /**
     * Loads the network in {@code file} for inference: parameters, no updater state. Graphs saved before the fused
     * layers hold each inverted residual as eight vertices; they are converted to the fused layer
     * ({@link LegacyBlocks}), which computes the same.
     */
    public static ComputationGraph load(Path file) throws IOException {
        return load(file, false, Limits.DEFAULT);
    }

    /** Loads the network in {@code file}, with its updater state when {@code loadUpdater} and the file has one. */
    public static ComputationGraph load(Path file, boolean loadUpdater) throws IOException {
        return load(file, loadUpdater, Limits.DEFAULT);
    }

    /**
     * Loads the network in {@code file} within {@code limits}.
     *
     * @throws ModelFileException naming the file and entry when the file is refused; nothing was then allocated
     *                            beyond what the checked sizes allow
     */
    public static ComputationGraph load(Path file, boolean loadUpdater, Limits limits) throws IOException {
        RegularFiles.require(file, "model");
        try (CheckedZip zip = CheckedZip.open(file, limits)) {
            if (zip.entries.containsKey(PREPROCESSOR)) {
                throw zip.refuse(PREPROCESSOR, "a Java-serialized DataSetPreProcessor, which could run code "
                        + "while it is read; refused (DL4J's ModelSerializer would deserialize it)");
            }
            ZipEntry configEntry = zip.require(CONFIGURATION);
            String json = zip.readText(configEntry);
            checkClassNames(zip, json);
            ComputationGraphConfiguration conf;
            try {
                conf = ComputationGraphConfiguration.fromJson(json);
            } catch (RuntimeException e) {
                throw zip.refuse(CONFIGURATION, "not a DL4J ComputationGraph configuration: " + message(e), e);
            }
            if (conf.getNetworkInputs() == null || conf.getVertices() == null || conf.getVertices().isEmpty()) {
                throw zip.refuse(CONFIGURATION, "not a ComputationGraph configuration (no inputs or vertices)");
            }
            long expected = declaredParameters(zip, conf);
            INDArray params = null;
            if (expected > 0) {
                params = zip.readArray(zip.require(COEFFICIENTS), expected, true);
            } else if (!zip.entries.containsKey(NO_PARAMS_MARKER) && !zip.entries.containsKey(COEFFICIENTS)) {
                throw zip.refuse(COEFFICIENTS, "missing (and no " + NO_PARAMS_MARKER + ")");
            }
            ComputationGraph net = new ComputationGraph(conf);
            try {
                net.init(params, false);
            } catch (RuntimeException e) {
                throw zip.refuse(COEFFICIENTS, "the parameters do not fit the configuration: " + message(e), e);
            }
            ZipEntry updater = zip.entries.get(UPDATER_STATE);
            boolean withUpdater = loadUpdater && updater != null;
            if (withUpdater) {
                INDArray view = net.getUpdater().getStateViewArray();
                if (view == null || view.length() == 0) {
                    throw zip.refuse(UPDATER_STATE, "present, but the configuration's updaters keep no state");
                }
                INDArray state = zip.readArray(updater, view.length(), false);
                net.getUpdater().setStateViewArray(state);
            }
            return LegacyBlocks.fuse(net, withUpdater);
        }
    }

    /** Saves {@code net} to {@code file} (replaced atomically, see {@link OutputFiles}), without extra entries. */
    public static void save(ComputationGraph net, Path file, boolean saveUpdater) throws IOException {
        save(net, file, saveUpdater, Map.of());
    }

    /**
     * Saves {@code net} to {@code file} in DL4J's format plus {@code texts}: plain UTF-8 entries named
     * {@code transcnn/NAME} (NAME: letters, digits, '.', '_', '-'), read back with {@link #readText}. The file is
     * replaced atomically (see {@link OutputFiles}).
     */
    public static void save(ComputationGraph net, Path file, boolean saveUpdater, Map<String, String> texts)
            throws IOException {
        Map<String, byte[]> extra = new LinkedHashMap<>();
        for (Map.Entry<String, String> t : texts.entrySet()) {
            if (!t.getKey().matches("[A-Za-z0-9_.\\-]{1,64}")) {
                throw new IllegalArgumentException("text entry name '" + t.getKey() + "': expected 1-64 letters, "
                        + "digits, '.', '_' or '-'");
            }
            extra.put(TEXT_ENTRIES + t.getKey(), t.getValue().getBytes(StandardCharsets.UTF_8));
        }
        OutputFiles.replace(file, out -> write(net, out, saveUpdater, extra));
    }

    private static void write(ComputationGraph net, OutputStream stream, boolean saveUpdater,
            Map<String, byte[]> extra) throws IOException {
        ZipOutputStream zip = new ZipOutputStream(stream);
        zip.putNextEntry(new ZipEntry(CONFIGURATION));
        zip.write(net.getConfiguration().toJson().getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
        INDArray params = net.params();
        if (params != null && params.length() > 0) {
            zip.putNextEntry(new ZipEntry(COEFFICIENTS));
            writeArray(params, zip);
            zip.closeEntry();
        } else {
            zip.putNextEntry(new ZipEntry(NO_PARAMS_MARKER));
            zip.closeEntry();
        }
        if (saveUpdater) {
            INDArray state = net.getUpdater() == null ? null : net.getUpdater().getStateViewArray();
            if (state != null && state.length() > 0) {
                zip.putNextEntry(new ZipEntry(UPDATER_STATE));
                writeArray(state, zip);
                zip.closeEntry();
            }
        }
        for (Map.Entry<String, byte[]> e : extra.entrySet()) {
            zip.putNextEntry(new ZipEntry(e.getKey()));
            zip.write(e.getValue());
            zip.closeEntry();
        }
        zip.finish();
    }

    /**
     * ND4J's own array format ({@link Nd4j#write}), which DL4J's reader expects. The buffering stream is flushed,
     * never closed, so {@code zip} stays open for the next entry.
     */
    private static void writeArray(INDArray array, OutputStream zip) throws IOException {
        DataOutputStream dos = new DataOutputStream(new BufferedOutputStream(zip, CHUNK));
        Nd4j.write(array, dos);
        dos.flush();
    }

    /**
     * The plain-text entry {@code transcnn/NAME} of {@code file}, if it has one; the zip is checked as by
     * {@link #load} and the entry read within {@link Limits#DEFAULT}.
     */
    public static Optional<String> readText(Path file, String name) throws IOException {
        RegularFiles.require(file, "model");
        try (CheckedZip zip = CheckedZip.open(file, Limits.DEFAULT)) {
            ZipEntry e = zip.entries.get(TEXT_ENTRIES + name);
            return e == null ? Optional.empty() : Optional.of(zip.readText(e));
        }
    }

    /**
     * The string stored under {@code key} by DL4J's {@code ModelSerializer.addObjectToFile} (an
     * {@code objects/KEY} entry, Java-serialized), as files written before {@link #readText}'s entries existed
     * carry it. The bytes go through an {@link ObjectInputFilter} that admits a {@code java.lang.String} and no
     * class at all, so no other object is ever created.
     */
    public static Optional<String> readLegacyString(Path file, String key) throws IOException {
        RegularFiles.require(file, "model");
        try (CheckedZip zip = CheckedZip.open(file, Limits.DEFAULT)) {
            String name = OBJECTS + key;
            ZipEntry e = zip.entries.get(name);
            if (e == null) {
                return Optional.empty();
            }
            long max = Limits.DEFAULT.maxConfigBytes();
            byte[] bytes = zip.readBytes(e, max, Limits.DEFAULT.maxCompressionRatio());
            ObjectInputFilter stringsOnly = info -> {
                if (info.serialClass() != null) {
                    return info.serialClass() == String.class ? ObjectInputFilter.Status.ALLOWED
                            : ObjectInputFilter.Status.REJECTED;
                }
                return info.depth() > 1 || info.references() > 1 || info.arrayLength() >= 0
                        || info.streamBytes() > max ? ObjectInputFilter.Status.REJECTED
                        : ObjectInputFilter.Status.UNDECIDED;
            };
            try (ObjectInputStream in = new ObjectInputStream(new java.io.ByteArrayInputStream(bytes))) {
                in.setObjectInputFilter(stringsOnly);
                Object o = in.readObject();
                if (!(o instanceof String)) {
                    throw zip.refuse(name, "holds a " + (o == null ? "null" : o.getClass().getName())
                            + ", expected a string");
                }
                return Optional.of((String) o);
            } catch (java.io.InvalidClassException | ClassNotFoundException e2) {
                throw zip.refuse(name, "holds Java-serialized objects other than a string; refused without "
                        + "creating them (" + message(e2) + ")", e2);
            } catch (EOFException e2) {
                throw zip.refuse(name, "truncated Java serialization stream", e2);
            } catch (java.io.ObjectStreamException e2) {
                throw zip.refuse(name, "not a Java-serialized string (" + message(e2) + ")", e2);
            }
        }
    }

    /** Every {@code "@class"} value in {@code json} must name a class under {@link #ALLOWED_CLASS_PREFIXES}. */
    private static void checkClassNames(CheckedZip zip, String json) throws ModelFileException {
        try (JsonParser p = new JsonFactory().createParser(json)) {
            int depth = 0;
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    if (++depth > MAX_JSON_DEPTH) {
                        throw zip.refuse(CONFIGURATION, "nested deeper than " + MAX_JSON_DEPTH + " levels at "
                                + location(p));
                    }
                } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    depth--;
                } else if (t == JsonToken.FIELD_NAME && "@class".equals(p.getCurrentName())) {
                    JsonToken v = p.nextToken();
                    String name = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    if (name == null || !allowedClass(name)) {
                        throw zip.refuse(CONFIGURATION, "\"@class\" " + (name == null ? v : "\"" + name + "\"")
                                + " at " + location(p) + " is not a class of DL4J, ND4J or TransCNN (allowed: "
                                + String.join(", ", ALLOWED_CLASS_PREFIXES) + " except " + SHADED
                                + "); refused before loading it");
                    }
                }
            }
            if (depth != 0) {
                throw zip.refuse(CONFIGURATION, "unbalanced JSON");
            }
        } catch (JsonProcessingException e) {
            throw zip.refuse(CONFIGURATION, "not valid JSON: " + e.getOriginalMessage() + " at "
                    + e.getLocation(), e);
        } catch (ModelFileException e) {
            throw e;
        } catch (IOException e) {
            throw zip.refuse(CONFIGURATION, "cannot parse: " + message(e), e);
        }
    }

    private static String location(JsonParser p) {
        return "line " + p.getCurrentLocation().getLineNr() + ", column " + p.getCurrentLocation().getColumnNr();
    }

    static boolean allowedClass(String name) {
        if (name.length() > 512 || !CLASS_NAME.matcher(name).matches() || name.startsWith(SHADED)) {
            return false;
        }
        return ALLOWED_CLASS_PREFIXES.stream().anyMatch(name::startsWith);
    }

    /** Parameters the configuration declares, summed without overflow and bounded by the limits. */
    private static long declaredParameters(CheckedZip zip, ComputationGraphConfiguration conf)
            throws ModelFileException {
        long total = 0;
        for (Map.Entry<String, GraphVertex> v : conf.getVertices().entrySet()) {
            long n;
            try {
                n = v.getValue().numParams(true);
            } catch (RuntimeException e) {
                throw zip.refuse(CONFIGURATION, "vertex '" + v.getKey() + "': cannot count its parameters: "
                        + message(e), e);
            }
            if (n < 0 || n > zip.limits.maxParameters() - total) {
                throw zip.refuse(CONFIGURATION, "vertex '" + v.getKey() + "' declares " + n + " parameters, "
                        + "which makes more than the limit of " + zip.limits.maxParameters()
                        + " (ModelFile.Limits.maxParameters)");
            }
            total += n;
        }
        return total;
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m.length() > 400 ? m.substring(0, 400) + "..." : m;
    }

    /** A zip file whose entry table was checked; reads entries within the limits. */
    private static final class CheckedZip implements AutoCloseable {
        final Path file;
        final Limits limits;
        final ZipFile zip;
        final Map<String, ZipEntry> entries = new LinkedHashMap<>();

        private CheckedZip(Path file, Limits limits, ZipFile zip) {
            this.file = file;
            this.limits = limits;
            this.zip = zip;
        }

        static CheckedZip open(Path file, Limits limits) throws ModelFileException {
            ZipFile zip;
            try {
                zip = new ZipFile(file.toFile());
            } catch (ZipException e) {
                throw new ModelFileException(file, null, "not a zip file (" + message(e) + ")", e);
            } catch (IOException e) {
                throw new ModelFileException(file, null, "cannot open: " + message(e), e);
            }
            CheckedZip z = new CheckedZip(file, limits, zip);
            try {
                z.check();
                return z;
            } catch (ModelFileException | RuntimeException e) {
                z.close();
                throw e;
            }
        }

        private void check() throws ModelFileException {
            var first = zip.entries();
            // torch.save writes its pickle first: NAME/data.pkl, then one entry per tensor storage
            if (first.hasMoreElements() && first.nextElement().getName().matches("[^/]+/data\\.pkl")
                    && zip.getEntry(CONFIGURATION) == null) {
                throw new ModelFileException(file, null, "a PyTorch checkpoint (state_dict .pth), not a model.zip "
                        + "written by ModelFile.save or 'transcnn train'; read it with TransCnnWeights (on the command "
                        + "line: infer or predict --weights)");
            }
            if (zip.size() > limits.maxEntries()) {
                throw new ModelFileException(file, null, zip.size() + " zip entries, more than the limit of "
                        + limits.maxEntries());
            }
            var it = zip.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                String name = e.getName();
                if (name.length() > MAX_ENTRY_NAME || !ENTRY_NAME.matcher(name).matches() || name.contains("..")) {
                    throw new ModelFileException(file, printable(name), "entry name not a plain relative path of "
                            + "letters, digits, '.', '_', '-' and '/' (at most " + MAX_ENTRY_NAME + " characters)");
                }
                if (entries.put(name, e) != null) {
                    throw new ModelFileException(file, name, "the zip holds this entry twice; refused (readers "
                            + "disagree on which copy counts)");
                }
                if (e.getSize() < -1 || e.getCompressedSize() < -1) {
                    throw new ModelFileException(file, name, "negative size in the zip directory");
                }
            }
        }

        ZipEntry require(String name) throws ModelFileException {
            ZipEntry e = entries.get(name);
            if (e == null) {
                List<String> names = new ArrayList<>(entries.keySet());
                throw new ModelFileException(file, name, "missing: not a DL4J model file (entries: "
                        + String.join(", ", names.subList(0, Math.min(8, names.size())))
                        + (names.size() > 8 ? ", ... " + (names.size() - 8) + " more" : "") + ")");
            }
            return e;
        }

        ModelFileException refuse(String entry, String message) {
            return new ModelFileException(file, entry, message);
        }

        ModelFileException refuse(String entry, String message, Throwable cause) {
            return new ModelFileException(file, entry, message, cause);
        }

        String readText(ZipEntry e) throws ModelFileException {
            byte[] bytes = readBytes(e, limits.maxConfigBytes(), limits.maxCompressionRatio());
            try {
                CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes));
                return chars.toString();
            } catch (CharacterCodingException ex) {
                throw refuse(e.getName(), "not UTF-8 text", ex);
            }
        }

        byte[] readBytes(ZipEntry e, long max, int ratio) throws ModelFileException {
            if (e.getSize() > max) {
                throw refuse(e.getName(), e.getSize() + " bytes, more than the limit of " + max);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (InputStream in = new Bounded(this, e, max, ratio)) {
                in.transferTo(out);
            } catch (ModelFileException ex) {
                throw ex;
            } catch (IOException | RuntimeException ex) {
                throw refuse(e.getName(), "corrupt: " + message(ex), ex);
            }
            return out.toByteArray();
        }

        /**
         * Reads an array in ND4J's format ({@link Nd4j#write}) from entry {@code e}, checking its header against
         * {@code expected} values before allocating, and streaming the values into the array.
         */
        INDArray readArray(ZipEntry e, long expected, boolean checkRatio) throws ModelFileException {
            String name = e.getName();
            long maxBytes = 1024 + 8 * expected;
            try (DataInputStream in = new DataInputStream(new Bounded(this, e, maxBytes,
                    checkRatio ? limits.maxCompressionRatio() : Integer.MAX_VALUE))) {
                readHeaderText(in, name, "allocation mode", "MIXED_DATA_TYPES");
                long shapeLength = in.readLong();
                readHeaderText(in, name, "shape data type", "LONG");
                if (shapeLength < 6 || shapeLength > 2 * 2 + 4) {
                    throw refuse(name, "shape information of " + shapeLength + " values, expected those of a "
                            + "rank 1 or 2 vector (6 or 8)");
                }
                long[] shapeInfo = new long[(int) shapeLength];
                for (int i = 0; i < shapeInfo.length; i++) {
                    shapeInfo[i] = in.readLong();
                }
                int rank = (int) shapeInfo[0];
                if (rank < 1 || rank > 2 || shapeLength != 2L * rank + 4) {
                    throw refuse(name, "rank " + shapeInfo[0] + " with " + shapeLength + " shape values, expected a "
                            + "vector of rank 1 or 2");
                }
                long[] shape = new long[rank];
                long count = 1;
                for (int i = 0; i < rank; i++) {
                    shape[i] = shapeInfo[1 + i];
                    if (shape[i] < 0 || shape[i] > expected) {
                        throw refuse(name, "dimension " + shape[i] + ", expected " + expected + " values in all");
                    }
                    count *= shape[i];
                }
                if (count != expected) {
                    throw refuse(name, "holds " + count + " values (shape " + java.util.Arrays.toString(shape)
                            + "), the configuration needs " + expected);
                }
                readHeaderText(in, name, "allocation mode", "MIXED_DATA_TYPES");
                long length = in.readLong();
                String type = readHeaderText(in, name, "data type", null);
                if (length != expected) {
                    throw refuse(name, "data length " + length + ", the configuration needs " + expected);
                }
                DataType dtype;
                if ("FLOAT".equals(type)) {
                    dtype = DataType.FLOAT;
                } else if ("DOUBLE".equals(type)) {
                    dtype = DataType.DOUBLE;
                } else {
                    throw refuse(name, "data type '" + type + "', expected FLOAT or DOUBLE");
                }
                INDArray a = Nd4j.create(dtype, shape, 'c');
                fill(in, a, dtype, expected, name);
                if (in.read() != -1) {
                    throw refuse(name, "bytes after the " + expected + " values");
                }
                return a;
            } catch (ModelFileException ex) {
                throw ex;
            } catch (EOFException ex) {
                throw refuse(name, "truncated: ends before the " + expected + " values its header announces", ex);
            } catch (IOException | RuntimeException ex) {
                throw refuse(name, "corrupt: " + message(ex), ex);
            }
        }

        private String readHeaderText(DataInputStream in, String entry, String what, String expected)
                throws IOException {
            int len = in.readUnsignedShort();
            if (len > MAX_HEADER_TEXT) {
                throw refuse(entry, what + " of " + len + " bytes, expected at most " + MAX_HEADER_TEXT);
            }
            byte[] b = new byte[len];
            in.readFully(b);
            String s = new String(b, StandardCharsets.US_ASCII);
            if (expected != null && !expected.equals(s)) {
                throw refuse(entry, what + " '" + printable(s) + "', expected '" + expected + "' (ND4J's array "
                        + "format since 1.0.0-beta; older files are not supported)");
            }
            return s;
        }

        private static void fill(DataInputStream in, INDArray a, DataType dtype, long count, String name)
                throws IOException {
            int size = dtype == DataType.FLOAT ? 4 : 8;
            ByteBuffer target = a.data().asNio().order(ByteOrder.nativeOrder());
            byte[] chunk = new byte[CHUNK];
            long remaining = count * size;
            while (remaining > 0) {
                int n = (int) Math.min(chunk.length, remaining);
                in.readFully(chunk, 0, n);
                ByteBuffer src = ByteBuffer.wrap(chunk, 0, n).order(ByteOrder.BIG_ENDIAN);
                if (size == 4) {
                    while (src.hasRemaining()) {
                        target.putFloat(src.getFloat());
                    }
                } else {
                    while (src.hasRemaining()) {
                        target.putDouble(src.getDouble());
                    }
                }
                remaining -= n;
            }
        }

        @Override
        public void close() {
            try {
                zip.close();
            } catch (IOException ignored) {
                // closing a file opened for reading: nothing written, nothing to lose
            }
        }
    }

    /** An entry's inflated bytes, refused beyond {@code max} bytes or {@code ratio} times its compressed size. */
    private static final class Bounded extends InputStream {
        private final CheckedZip zip;
        private final ZipEntry entry;
        private final InputStream in;
        private final long max;
        private final long ratioMax;
        private long read;

        Bounded(CheckedZip zip, ZipEntry entry, long max, int ratio) throws IOException {
            this.zip = zip;
            this.entry = entry;
            this.in = zip.zip.getInputStream(entry);
            this.max = max;
            long compressed = entry.getCompressedSize();
            this.ratioMax = compressed < 0 || ratio == Integer.MAX_VALUE ? Long.MAX_VALUE
                    : Math.max(1L << 20, compressed * ratio);
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws ModelFileException {
            read += n;
            if (read > max) {
                throw zip.refuse(entry.getName(), "inflates beyond the limit of " + max + " bytes");
            }
            if (read > ratioMax) {
                throw zip.refuse(entry.getName(), "inflates to more than " + (ratioMax / Math.max(1,
                        entry.getCompressedSize())) + " times its compressed size of " + entry.getCompressedSize()
                        + " bytes (a zip bomb?)");
            }
            if (entry.getSize() >= 0 && read > entry.getSize()) {
                throw zip.refuse(entry.getName(), "inflates beyond the " + entry.getSize() + " bytes the zip "
                        + "directory declares");
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 120; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return s.length() > 120 ? b + "..." : b.toString();
    }
}
