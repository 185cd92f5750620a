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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Test helper: writes float32 state_dicts in the torch.save zip layout (protocol-2 pickle with persistent storage ids,
 * uncompressed entries), so tests can make checkpoints with wrong shapes, missing keys or lying headers.
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

    private TorchWriter tuple(long[] values) {
        op('(');
        for (long v : values) {
            long1(v);
        }
        return op('t');
    }
}
