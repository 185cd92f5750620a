package org.transcnn.weights;

import net.razorvine.pickle.PickleException;
import org.transcnn.io.RegularFiles;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reader of PyTorch {@code torch.save(model.state_dict())} files (the zip format of PyTorch 1.6 and later: an
 * archive {@code <name>/data.pkl} pickle plus raw little-endian storages {@code <name>/data/<key>}), such as the
 * released {@code TransCNN-*.pth} checkpoints.
 *
 * <p>Safe by construction, with work and memory bounded by the bytes in the file:
 * <ul>
 *   <li>the path must be a regular file ({@link RegularFiles#require}): a FIFO or device would block or never end;</li>
 *   <li>zip entry names must be unique in the central directory: with two {@code data/3} entries, PyTorch and
 *   {@link ZipFile} would read different copies. The local headers are not compared: both PyTorch and
 *   {@link ZipFile} find entries through the central directory, and torch.save's entries carry data descriptors,
 *   so a sequential scan of local headers would need the central directory's sizes anyway;</li>
 *   <li>the pickle is decoded by {@link StateDictUnpickler}, which accepts only the globals a state_dict needs and
 *   instantiates nothing;</li>
 *   <li>a tensor's rank is at most {@value #MAX_RANK}, and its shape, strides and offset are checked against its
 *   storage with overflow-free arithmetic before anything loops over its elements;</li>
 *   <li>each storage is read once, however many tensors view it: {@link TorchTensor}s are views into it;</li>
 *   <li>NaN and infinite values are refused unless the caller passes {@code allowNonFinite}: a diverged or
 *   tampered checkpoint would otherwise load silently and predict garbage.</li>
 * </ul>
 * Every failure is a {@link CheckpointException} naming the file and, where known, the tensor's key.
 */
public final class TorchCheckpoint {

    /** Largest data.pkl accepted (a state_dict pickle of the largest TransCNN is about 100 KB). */
    static final long MAX_PICKLE_BYTES = 4L << 20;

    /** Largest tensor rank accepted (PyTorch's own kernels support at most 64 dimensions; TransCNN uses 4). */
    public static final int MAX_RANK = 64;

    private TorchCheckpoint() {
    }

    /** Reads every tensor of the state_dict in {@code file}, in file order; NaN or infinite values are refused. */
    public static Map<String, TorchTensor> read(Path file) throws CheckpointException {
        return read(file, false);
    }

    /**
     * Reads every tensor of the state_dict in {@code file}, in file order.
     *
     * @param allowNonFinite accept NaN and infinite values in float and double storages (to inspect a diverged
     *                       training run, say); {@code false} refuses them, naming the tensor
     */
    public static Map<String, TorchTensor> read(Path file, boolean allowNonFinite) throws CheckpointException {
        try {
            RegularFiles.require(file, "checkpoint");
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such file", e);
        } catch (IOException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
        long fileSize;
        try {
            fileSize = Files.size(file);
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot read: " + describe(e), e);
        }
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file, "not a PyTorch zip checkpoint (" + describe(e)
                    + "); legacy pre-1.6 torch.save files are not supported, re-save with PyTorch >= 1.6", e);
        }
        try (zip) {
            return new Reader(file, zip, fileSize, allowNonFinite).read();
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException | RuntimeException | StackOverflowError e) {
            throw new CheckpointException(file, "corrupt checkpoint: " + describe(e), e);
        }
    }

    /**
     * What went wrong, in words, for exceptions whose own message is missing or cryptic ({@code null} for an
     * {@link EOFException}, "long overflow" for an {@link ArithmeticException}).
     */
    static String describe(Throwable e) {
        String m = e.getMessage() == null || e.getMessage().isBlank() ? null : e.getMessage();
        if (e instanceof EOFException) {
            return "unexpected end of data, the file is truncated" + (m == null ? "" : " (" + m + ")");
        }
        if (e instanceof ArithmeticException) {
            return "a size or offset is too large for 64-bit arithmetic" + (m == null ? "" : " (" + m + ")");
        }
        if (e instanceof StackOverflowError) {
            return "structure nested too deeply";
        }
        if (m == null) {
            return e.getClass().getSimpleName();
        }
        if (m.contains("premature end")) {
            return "unexpected end of data, the pickle is truncated (" + m + ")";
        }
        return e instanceof CheckpointException || e instanceof PickleException ? m
                : e.getClass().getSimpleName() + ": " + m;
    }

    /** One read of one file: the zip, its pickle root, and the storages read so far, by storage key. */
    private static final class Reader {

        private final Path file;
        private final ZipFile zip;
        private final long fileSize;
        private final boolean allowNonFinite;
        private final Map<String, TorchTensor.Storage> storages = new LinkedHashMap<>();
        private final Map<String, StateDictUnpickler.StorageRef> storageRefs = new LinkedHashMap<>();
        private String prefix;
        private long storageBytes;

        Reader(Path file, ZipFile zip, long fileSize, boolean allowNonFinite) {
            this.file = file;
            this.zip = zip;
            this.fileSize = fileSize;
            this.allowNonFinite = allowNonFinite;
        }

        Map<String, TorchTensor> read() throws IOException {
            ZipEntry pickleEntry = null;
            List<String> names = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                String name = e.getName();
                if (!seen.add(name)) {
                    throw new CheckpointException(file, "zip entry '" + name + "' appears twice in the central "
                            + "directory: PyTorch reads the first copy, other zip readers the last, so the file "
                            + "is ambiguous (expected unique entry names, as torch.save writes)");
                }
                names.add(name);
                if (name.endsWith("data.pkl") && (name.equals("data.pkl")
                        || name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - 9)) {
                    if (pickleEntry != null) {
                        throw new CheckpointException(file, "two data.pkl entries: " + pickleEntry.getName() + ", "
                                + name);
                    }
                    pickleEntry = e;
                }
            }
            if (pickleEntry == null) {
                throw new CheckpointException(file, "zip has no <archive>/data.pkl entry: not a torch.save "
                        + "checkpoint (entries: " + names.subList(0, Math.min(5, names.size())) + ")");
            }
            prefix = pickleEntry.getName().substring(0, pickleEntry.getName().length() - "data.pkl".length());
            ZipEntry byteOrder = zip.getEntry(prefix + "byteorder");
            if (byteOrder != null) {
                String order = new String(readEntry(byteOrder, 16, "")).trim();
                if (!order.equals("little")) {
                    throw new CheckpointException(file, "byte order '" + order + "' is not supported (only little)");
                }
            }
            Object root = unpickle(pickleEntry);
            if (!(root instanceof Map)) {
                throw new CheckpointException(file, "the pickle holds a " + (root == null ? "None" : root.getClass()
                        .getSimpleName()) + ", not a state_dict (a dict of tensors); save model.state_dict()");
            }
            Map<String, TorchTensor> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) root).entrySet()) {
                if (!(e.getKey() instanceof String) || !(e.getValue() instanceof StateDictUnpickler.TensorRef)) {
                    throw new CheckpointException(file, "an entry " + (e.getKey() instanceof String ? "'"
                            + e.getKey() + "' " : "") + "of type " + (e.getValue() == null ? "None"
                            : e.getValue().getClass().getSimpleName()) + " is not a named tensor: not a state_dict");
                }
                String key = (String) e.getKey();
                StateDictUnpickler.TensorRef t = (StateDictUnpickler.TensorRef) e.getValue();
                if (t.size().length > MAX_RANK) {
                    throw refused(key, "rank " + t.size().length + " exceeds the limit of " + MAX_RANK
                            + " dimensions");
                }
                out.put(key, view(key, t, storage(key, t.storage())));
            }
            return Collections.unmodifiableMap(out);
        }

        private Object unpickle(ZipEntry pickleEntry) throws IOException {
            byte[] pickle = readEntry(pickleEntry, MAX_PICKLE_BYTES, "");
            StateDictUnpickler unpickler = new StateDictUnpickler(pickle);
            try {
                return unpickler.load();
            } catch (IOException | RuntimeException | StackOverflowError e) {
                throw new CheckpointException(file, "cannot decode " + pickleEntry.getName() + ": " + describe(e), e);
            } finally {
                unpickler.close();
            }
        }

        private CheckpointException refused(String key, String message) {
            return new CheckpointException(file, "tensor '" + key + "': " + message);
        }

        /** The storage {@code s} names, read (and checked) at its first use; later uses get the same object. */
        private TorchTensor.Storage storage(String key, StateDictUnpickler.StorageRef s) throws IOException {
            StateDictUnpickler.StorageRef first = storageRefs.get(s.key());
            if (first != null) {
                if (!first.equals(s)) {
                    throw refused(key, "storage '" + s.key() + "' is declared as " + s.type() + " of " + s.numel()
                            + " elements, but an earlier tensor declared it as " + first.type() + " of "
                            + first.numel());
                }
                return storages.get(s.key());
            }
            int elem = StateDictUnpickler.STORAGE_TYPES.get(s.type());
            String entryName = prefix + "data/" + s.key();
            ZipEntry data = zip.getEntry(entryName);
            if (data == null) {
                throw refused(key, "storage entry " + entryName + " is missing");
            }
            if (s.numel() > Math.min(fileSize, Integer.MAX_VALUE - 8) / elem) {
                throw refused(key, "storage claims " + s.numel() + " elements, more than the file holds ("
                        + fileSize + " bytes)");
            }
            long bytes = s.numel() * elem;
            if (data.getSize() != bytes) {
                throw refused(key, "storage entry " + entryName + " has " + data.getSize() + " bytes, expected "
                        + bytes + " (" + s.numel() + " x " + elem + ")");
            }
            storageBytes += bytes;
            if (storageBytes > fileSize) {
                throw refused(key, "the storages add up to more bytes than the file holds (" + fileSize + ")");
            }
            TorchTensor.Storage storage = new TorchTensor.Storage(s.type(), elem, readEntry(data, bytes, key));
            if (!allowNonFinite) {
                long bad = storage.firstNonFinite();
                if (bad >= 0) {
                    throw refused(key, "storage " + entryName + " holds the non-finite value "
                            + storage.get(storage.buffer(), bad) + " at element " + bad + " of " + s.numel()
                            + "; expected finite weights (pass allowNonFinite to accept them)");
                }
            }
            storageRefs.put(s.key(), s);
            storages.put(s.key(), storage);
            return storage;
        }

        /**
         * Checks that every element {@code t} addresses lies in {@code storage} and returns the view. The
         * arithmetic never overflows: each product is compared against what is left of the storage by division
         * first, so a shape of [2^40, 2^40] is refused in words, not by "long overflow".
         */
        private TorchTensor view(String key, StateDictUnpickler.TensorRef t, TorchTensor.Storage storage)
                throws CheckpointException {
            long[] size = t.size();
            long[] stride = t.stride();
            long storageNumel = storage.numel();
            boolean empty = Arrays.stream(size).anyMatch(n -> n == 0);
            if (empty) {
                if (t.offset() > storageNumel) {
                    throw refused(key, "storage offset " + t.offset() + " is past the end of its storage of "
                            + storageNumel + " elements");
                }
                return new TorchTensor(storage, t.offset(), size, stride, 0);
            }
            long numel = 1;
            for (long n : size) {
                if (n > storageNumel / numel) {
                    throw refused(key, "shape " + Arrays.toString(size) + " has more elements than its storage of "
                            + storageNumel + " elements");
                }
                numel *= n;
            }
            if (t.offset() >= storageNumel) {
                throw refused(key, "storage offset " + t.offset() + " is past the end of its storage of "
                        + storageNumel + " elements");
            }
            long room = storageNumel - 1 - t.offset();
            for (int d = 0; d < size.length; d++) {
                if (size[d] <= 1) {
                    continue;
                }
                if (stride[d] == 0) {
                    throw refused(key, "broadcast (stride 0) tensors are not stored by state_dict");
                }
                if (size[d] - 1 > room / stride[d]) {
                    throw refused(key, "shape " + Arrays.toString(size) + " with stride " + Arrays.toString(stride)
                            + " at offset " + t.offset() + " reaches past the end of its storage of "
                            + storageNumel + " elements");
                }
                room -= (size[d] - 1) * stride[d];
            }
            return new TorchTensor(storage, t.offset(), size, stride, numel);
        }

        /** The bytes of a stored (uncompressed) entry of at most {@code limit} bytes; {@code key} may be "". */
        private byte[] readEntry(ZipEntry e, long limit, String key) throws IOException {
            String where = key.isEmpty() ? "" : "tensor '" + key + "': ";
            if (e.getMethod() != ZipEntry.STORED) {
                throw new CheckpointException(file, where + "entry " + e.getName() + " is compressed; torch.save "
                        + "writes uncompressed entries, so this file was repacked or is not a torch checkpoint");
            }
            long size = e.getSize();
            if (size < 0 || size > limit || size > fileSize) {
                throw new CheckpointException(file, where + "entry " + e.getName() + " claims " + size
                        + " bytes (limit " + Math.min(limit, fileSize) + ")");
            }
            byte[] b = new byte[(int) size];
            int n;
            try (InputStream in = zip.getInputStream(e)) {
                n = in.readNBytes(b, 0, b.length);
            } catch (IOException | RuntimeException ex) {
                throw new CheckpointException(file, where + "cannot read entry " + e.getName() + ": "
                        + describe(ex), ex);
            }
            if (n != size) {
                throw new CheckpointException(file, where + "entry " + e.getName() + " is truncated: the file ends "
                        + "after " + n + " of its " + size + " bytes");
            }
            return b;
        }
    }
}
