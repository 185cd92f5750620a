package org.transcnn.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reader of PyTorch {@code torch.save(model.state_dict())} files (the zip format of PyTorch 1.6 and later: an
 * archive {@code <name>/data.pkl} pickle plus raw little-endian storages {@code <name>/data/<key>}), such as the
 * released {@code TransCNN-*.pth} checkpoints.
 *
 * <p>Safe by construction: the pickle is decoded by {@link StateDictUnpickler}, which accepts only the globals a
 * state_dict needs and instantiates nothing; every size in the file is checked against the bytes actually present
 * before anything is allocated. Every failure is a {@link CheckpointException} naming the file and, where known, the
 * key.
 */
public final class TorchCheckpoint {

    /** Largest data.pkl accepted (a state_dict pickle of the largest TransCNN is about 100 KB). */
    static final long MAX_PICKLE_BYTES = 4L << 20;

    private TorchCheckpoint() {
    }

    /** Reads every tensor of the state_dict in {@code file}, in file order. */
    public static Map<String, TorchTensor> read(Path file) throws CheckpointException {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file, "no such file");
        }
        long fileSize;
        try {
            fileSize = Files.size(file);
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
        }
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file, "not a PyTorch zip checkpoint (" + e.getMessage()
                    + "); legacy pre-1.6 torch.save files are not supported, re-save with PyTorch >= 1.6", e);
        }
        try (zip) {
            return read(file, zip, fileSize);
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException | RuntimeException | StackOverflowError e) {
            throw new CheckpointException(file, "corrupt checkpoint: " + e, e);
        }
    }

    private static Map<String, TorchTensor> read(Path file, ZipFile zip, long fileSize) throws IOException {
        ZipEntry pickleEntry = null;
        List<String> names = new ArrayList<>();
        for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
            ZipEntry e = en.nextElement();
            names.add(e.getName());
            if (e.getName().endsWith("data.pkl") && (e.getName().equals("data.pkl")
                    || e.getName().endsWith("/data.pkl") && e.getName().indexOf('/') == e.getName().length() - 9)) {
                if (pickleEntry != null) {
                    throw new CheckpointException(file, "two data.pkl entries: " + pickleEntry.getName() + ", "
                            + e.getName());
                }
                pickleEntry = e;
            }
        }
        if (pickleEntry == null) {
            throw new CheckpointException(file, "zip has no <archive>/data.pkl entry: not a torch.save checkpoint "
                    + "(entries: " + names.subList(0, Math.min(5, names.size())) + ")");
        }
        String prefix = pickleEntry.getName().substring(0, pickleEntry.getName().length() - "data.pkl".length());
        ZipEntry byteOrder = zip.getEntry(prefix + "byteorder");
        if (byteOrder != null) {
            String order = new String(readEntry(file, zip, byteOrder, 16, fileSize)).trim();
            if (!order.equals("little")) {
                throw new CheckpointException(file, "byte order '" + order + "' is not supported (only little)");
            }
        }
        byte[] pickle = readEntry(file, zip, pickleEntry, MAX_PICKLE_BYTES, fileSize);
        Object root;
        StateDictUnpickler unpickler = new StateDictUnpickler(pickle);
        try {
            root = unpickler.load();
        } catch (IOException | RuntimeException | StackOverflowError e) {
            throw new CheckpointException(file, "cannot decode " + pickleEntry.getName() + ": " + e.getMessage(), e);
        } finally {
            unpickler.close();
        }
        if (!(root instanceof Map)) {
            throw new CheckpointException(file, "the pickle holds a " + (root == null ? "None" : root.getClass()
                    .getSimpleName()) + ", not a state_dict (a dict of tensors); save model.state_dict()");
        }
        Map<String, byte[]> storages = new LinkedHashMap<>();
        Map<String, TorchTensor> out = new LinkedHashMap<>();
        long storageBytes = 0;
        long elements = 0;
        for (Map.Entry<?, ?> e : ((Map<?, ?>) root).entrySet()) {
            if (!(e.getKey() instanceof String) || !(e.getValue() instanceof StateDictUnpickler.TensorRef)) {
                throw new CheckpointException(file, "an entry of type " + (e.getValue() == null ? "None"
                        : e.getValue().getClass().getSimpleName()) + " is not a named tensor: not a state_dict");
            }
            String key = (String) e.getKey();
            StateDictUnpickler.TensorRef t = (StateDictUnpickler.TensorRef) e.getValue();
            StateDictUnpickler.StorageRef s = t.storage();
            int elem = StateDictUnpickler.STORAGE_TYPES.get(s.type());
            byte[] bytes = storages.get(s.key());
            if (bytes == null) {
                ZipEntry data = zip.getEntry(prefix + "data/" + s.key());
                if (data == null) {
                    throw new CheckpointException(file, "key '" + key + "': storage entry " + prefix + "data/"
                            + s.key() + " is missing");
                }
                if (s.numel() > Integer.MAX_VALUE / elem || s.numel() * elem > fileSize) {
                    throw new CheckpointException(file, "key '" + key + "': storage claims " + s.numel()
                            + " elements, more than the file holds (" + fileSize + " bytes)");
                }
                if (data.getSize() != s.numel() * elem) {
                    throw new CheckpointException(file, "key '" + key + "': storage entry " + data.getName() + " has "
                            + data.getSize() + " bytes, expected " + s.numel() * elem + " (" + s.numel() + " x "
                            + elem + ")");
                }
                storageBytes += s.numel() * elem;
                if (storageBytes > fileSize) {
                    throw new CheckpointException(file, "key '" + key + "': the storages add up to more bytes than "
                            + "the file holds (" + fileSize + ")");
                }
                bytes = readEntry(file, zip, data, s.numel() * elem, fileSize);
                storages.put(s.key(), bytes);
            }
            TorchTensor tensor = tensor(file, key, t, bytes, elem);
            elements += tensor.numel();
            if (elements > 2 * fileSize) {
                throw new CheckpointException(file, "key '" + key + "': the tensors hold more elements than the "
                        + "storages can back");
            }
            out.put(key, tensor);
        }
        return Collections.unmodifiableMap(out);
    }

    private static TorchTensor tensor(Path file, String key, StateDictUnpickler.TensorRef t, byte[] bytes, int elem)
            throws CheckpointException {
        long storageNumel = bytes.length / elem;
        long numel = 1;
        long last = t.offset();
        for (int d = 0; d < t.size().length; d++) {
            numel = Math.multiplyExact(numel, t.size()[d]);
            if (t.size()[d] > 1 && t.stride()[d] == 0) {
                throw new CheckpointException(file, "key '" + key + "': broadcast (stride 0) tensors are not stored "
                        + "by state_dict");
            }
            if (t.size()[d] > 0) {
                last = Math.addExact(last, Math.multiplyExact(t.size()[d] - 1, t.stride()[d]));
            }
        }
        if (numel > storageNumel) {
            throw new CheckpointException(file, "key '" + key + "': tensor of " + numel + " elements in a storage of "
                    + storageNumel);
        }
        if (numel > 0 && last >= storageNumel) {
            throw new CheckpointException(file, "key '" + key + "': tensor of size "
                    + java.util.Arrays.toString(t.size()) + " at offset " + t.offset() + " reaches element " + last
                    + " of a storage of " + storageNumel);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        double[] values = new double[(int) numel];
        long[] idx = new long[t.size().length];
        String type = t.storage().type();
        for (int i = 0; i < numel; i++) {
            long pos = t.offset();
            for (int d = 0; d < idx.length; d++) {
                pos += idx[d] * t.stride()[d];
            }
            int at = (int) pos * elem;
            switch (type) {
                case "FloatStorage" -> values[i] = buf.getFloat(at);
                case "DoubleStorage" -> values[i] = buf.getDouble(at);
                case "LongStorage" -> values[i] = buf.getLong(at);
                default -> values[i] = buf.getInt(at);
            }
            for (int d = idx.length - 1; d >= 0; d--) {
                if (++idx[d] < t.size()[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return new TorchTensor(type, t.size().clone(), values);
    }

    private static byte[] readEntry(Path file, ZipFile zip, ZipEntry e, long limit, long fileSize)
            throws IOException {
        if (e.getMethod() != ZipEntry.STORED) {
            throw new CheckpointException(file, "entry " + e.getName() + " is compressed; torch.save writes "
                    + "uncompressed entries, so this file was repacked or is not a torch checkpoint");
        }
        long size = e.getSize();
        if (size < 0 || size > limit || size > fileSize) {
            throw new CheckpointException(file, "entry " + e.getName() + " claims " + size + " bytes (limit "
                    + Math.min(limit, fileSize) + ")");
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) size);
            if (b.length != size) {
                throw new CheckpointException(file, "entry " + e.getName() + " is truncated: " + b.length + " of "
                        + size + " bytes");
            }
            return b;
        }
    }
}
