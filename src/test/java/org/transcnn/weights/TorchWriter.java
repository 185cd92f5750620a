package org.transcnn.weights;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Test helper: writes float32 state_dicts in the torch.save zip layout (protocol-2 pickle with persistent storage ids,
 * uncompressed entries), so tests can make checkpoints with wrong shapes, missing keys or lying headers; and
 * {@link #pickle}/{@link #writeRaw}/{@link #replace} for hostile ones (aliased storages, huge ranks, overflowing
 * strides, duplicate zip entries).
 */
public final class TorchWriter {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private TorchWriter() {
    }

    /** Writes {@code tensors}; {@code claimedNumel} (may be empty) overrides the element count a storage id states. */
    public static void write(Path file, Map<String, INDArray> tensors, Map<String, Long> claimedNumel) throws IOException {
        TorchWriter w = new TorchWriter();
        Map<String, byte[]> storages = new LinkedHashMap<>();
        w.op(0x80).op(2);
        w.global("collections", "OrderedDict").op(')').op('R').op('(');
        int i = 0;
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            String storageKey = Integer.toString(i++);
            INDArray a = e.getValue().castTo(DataType.FLOAT).dup('c');
            long[] shape = a.shape();
            long[] stride = new long[shape.length];
            long s = 1;
            for (int d = shape.length - 1; d >= 0; d--) {
                stride[d] = s;
                s *= shape[d];
            }
            w.unicode(e.getKey());
            w.global("torch._utils", "_rebuild_tensor_v2").op('(');
            w.op('(').unicode("storage").global("torch", "FloatStorage").unicode(storageKey).unicode("cpu")
                    .long1(claimedNumel.getOrDefault(e.getKey(), a.length())).op('t').op('Q');
            w.long1(0).tuple(shape).tuple(stride).op(0x89);
            w.global("collections", "OrderedDict").op(')').op('R');
            w.op('t').op('R');
            ByteBuffer b = ByteBuffer.allocate((int) a.length() * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : a.data().asFloat()) {
                b.putFloat(f);
            }
            storages.put(storageKey, b.array());
        }
        w.op('u').op('.');
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", w.out.toByteArray());
        storages.forEach((k, v) -> entries.put("archive/data/" + k, v));
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        zip(file, entries);
    }

    /**
     * One FloatStorage tensor of a hand-made state_dict: its key, the storage it views (storage key and the element
     * count the storage id declares), its storage offset, shape and strides, all written as given.
     */
    record Ref(String key, String storage, long storageNumel, long offset, long[] size, long[] stride) {
    }

    /** The data.pkl of a state_dict of {@code refs}; integers use the shortest opcode, so huge ranks stay small. */
    static byte[] pickle(List<Ref> refs) {
        TorchWriter w = new TorchWriter();
        w.op(0x80).op(2);
        w.global("collections", "OrderedDict").op(')').op('R').op('(');
        for (Ref r : refs) {
            w.unicode(r.key());
            w.global("torch._utils", "_rebuild_tensor_v2").op('(');
            w.op('(').unicode("storage").global("torch", "FloatStorage").unicode(r.storage()).unicode("cpu")
                    .integer(r.storageNumel()).op('t').op('Q');
            w.integer(r.offset()).compactTuple(r.size()).compactTuple(r.stride()).op(0x89);
            w.global("collections", "OrderedDict").op(')').op('R');
            w.op('t').op('R');
        }
        w.op('u').op('.');
        return w.out.toByteArray();
    }

    /**
     * Writes {@code archive/data.pkl} for {@code refs}, then {@code archive/data/<key>} for each storage, in order,
     * then {@code archive/version}.
     */
    static void writeRaw(Path file, List<Ref> refs, Map<String, byte[]> storages) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", pickle(refs));
        storages.forEach((k, v) -> entries.put("archive/data/" + k, v));
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        zip(file, entries);
    }

    /** Little-endian float32 bytes of {@code values}. */
    static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : values) {
            b.putFloat(f);
        }
        return b.array();
    }

    /**
     * Replaces every occurrence of {@code from} by {@code to} (same length) in the file's bytes: renaming an entry
     * in both its local header and the central directory, for instance to make two entries of one name, which
     * {@link ZipOutputStream} refuses to write.
     */
    static void replace(Path file, String from, String to) throws IOException {
        byte[] a = from.getBytes(StandardCharsets.US_ASCII);
        byte[] b = to.getBytes(StandardCharsets.US_ASCII);
        if (a.length != b.length) {
            throw new IllegalArgumentException("'" + from + "' and '" + to + "' differ in length");
        }
        byte[] data = Files.readAllBytes(file);
        int found = 0;
        for (int i = 0; i + a.length <= data.length; i++) {
            if (Arrays.equals(data, i, i + a.length, a, 0, a.length)) {
                System.arraycopy(b, 0, data, i, b.length);
                found++;
            }
        }
        if (found == 0) {
            throw new IllegalArgumentException("'" + from + "' not in " + file);
        }
        Files.write(file, data);
    }

    /** Writes a zip of uncompressed entries, as torch.save does. */
    static void zip(Path file, Map<String, byte[]> entries) throws IOException {
        try (OutputStream fos = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(fos)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                z.setMethod(ZipEntry.STORED);
                z.setSize(e.getValue().length);
                z.setCompressedSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                z.setCrc(crc.getValue());
                zip.putNextEntry(z);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
    }

    private TorchWriter op(int code) {
        out.write(code);
        return this;
    }

    private TorchWriter global(String module, String name) {
        op('c');
        byte[] b = (module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII);
        out.write(b, 0, b.length);
        return this;
    }

    private TorchWriter unicode(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array(), 0, 4);
        out.write(b, 0, b.length);
        return this;
    }

    private TorchWriter long1(long v) {
        op(0x8a).op(8);
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array(), 0, 8);
        return this;
    }

    /** BININT1, BININT2, BININT or LONG1, whichever is shortest. */
    private TorchWriter integer(long v) {
        if (v >= 0 && v < 1 << 8) {
            return op('K').op((int) v);
        }
        if (v >= 0 && v < 1 << 16) {
            return op('M').op((int) v & 0xff).op((int) (v >>> 8));
        }
        if (v >= 0 && v <= Integer.MAX_VALUE) {
            op('J');
            out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array(), 0, 4);
            return this;
        }
        return long1(v);
    }

    private TorchWriter compactTuple(long[] values) {
        op('(');
        for (long v : values) {
            integer(v);
        }
        return op('t');
    }

    private TorchWriter tuple(long[] values) {
        op('(');
        for (long v : values) {
            long1(v);
        }
        return op('t');
    }
}
