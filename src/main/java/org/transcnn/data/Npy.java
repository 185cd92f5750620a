package org.transcnn.data;

import org.transcnn.io.RegularFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.io.OutputFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * NumPy {@code .npy} files (format 1.0/2.0/3.0, C order, little-endian float32 or float64), read and written in
 * Java so that a malformed file is refused with a clear message before native code sees it.
 *
 * <p>Reading checks, before any data is allocated, that the path is a regular file (a FIFO or device is refused by
 * name), that the header is exactly the dictionary numpy writes ({@link NpyHeader}: no duplicate, unknown or missing
 * key), and that the data bytes present are exactly the element count times the element size (overflow-checked), so
 * a header cannot make the reader allocate more than the file holds nor leave bytes unread.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Largest header accepted; numpy itself refuses headers over 10000 bytes unless told otherwise. */
    private static final int MAX_HEADER = 1 << 20;
    /** Largest element count: the values are returned through one Java float array. */
    private static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;
    /** Data bytes converted per read, so that no byte copy of the whole array is made. */
    private static final int CHUNK = 1 << 20;

    private Npy() {
    }

    /**
     * Reads a float32 or float64 array as FLOAT.
     *
     * @throws IOException naming the file when it is not a regular file, its header is not a valid {@code .npy}
     *                     header of a supported dtype and order, or its size does not match the header's shape
     */
    public static INDArray read(Path file) throws IOException {
        return read(file, false);
    }

    /**
     * Reads a float32 or float64 array as FLOAT and refuses it if it holds NaN or an infinity.
     *
     * @throws IOException naming the file and the first non-finite value's index, or as {@link #read}
     */
    public static INDArray readFinite(Path file) throws IOException {
        return read(file, true);
    }

    private static INDArray read(Path file, boolean finite) throws IOException {
        RegularFiles.require(file, ".npy input");
        long size = Files.size(file);
        try (InputStream in = Files.newInputStream(file)) {
            Parsed parsed = readHeader(file, in, size);
            float[] values = values(file, in, parsed);
            long[] shape = parsed.header().shape();
            int bad = finite ? Finite.firstNonFinite(values) : -1;
            if (bad >= 0) {
                throw new IOException(Finite.message(file.toString(), values[bad], bad, shape));
            }
            return create(file, values, shape);
        }
    }

    private static INDArray create(Path file, float[] values, long[] shape) throws IOException {
        try {
            return Nd4j.create(values, shape, 'c');
        } catch (RuntimeException e) {
            throw new IOException(file + ": ND4J cannot hold an array of shape " + Arrays.toString(shape) + " ("
                    + e.getMessage() + ")", e);
        }
    }

    /** A checked header, its element width and where the data starts. */
    private record Parsed(NpyHeader header, int width, long elements, long dataOffset) {
    }

    /** Reads and checks the header from {@code in}, positioned at the start of the {@code size}-byte file. */
    private static Parsed readHeader(Path file, InputStream in, long size) throws IOException {
        byte[] magic = in.readNBytes(8);
        if (magic.length < 8 || !Arrays.equals(Arrays.copyOf(magic, 6), MAGIC)) {
            throw new IOException(file + ": not a NumPy .npy file (bad magic)");
        }
        int major = magic[6] & 0xff;
        int minor = magic[7] & 0xff;
        if (major < 1 || major > 3 || minor != 0) {
            throw new IOException(file + ": unsupported .npy version " + major + "." + minor
                    + ", expected 1.0, 2.0 or 3.0");
        }
        int lengthBytes = major == 1 ? 2 : 4;
        byte[] lenBytes = in.readNBytes(lengthBytes);
        if (lenBytes.length != lengthBytes) {
            throw new IOException(file + ": truncated .npy header length");
        }
        ByteBuffer len = ByteBuffer.wrap(lenBytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = major == 1 ? len.getShort() & 0xffff : len.getInt() & 0xffffffffL;
        long dataOffset = 6 + 2 + lengthBytes + headerLen;
        if (headerLen > MAX_HEADER || dataOffset > size) {
            throw new IOException(file + ": corrupt .npy header length " + headerLen + ", expected at most "
                    + Math.min(MAX_HEADER, size - 6 - 2 - lengthBytes) + " (the file has " + size + " bytes)");
        }
        byte[] raw = in.readNBytes((int) headerLen);
        if (raw.length != headerLen) {
            throw new IOException(file + ": truncated: " + raw.length + " of " + headerLen + " header bytes");
        }
        NpyHeader header = NpyHeader.parse(file, new String(raw,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1));
        if (header.fortranOrder()) {
            throw new IOException(file + ": fortran_order is True: Fortran-order arrays are not supported, "
                    + "expected False (save with np.ascontiguousarray)");
        }
        int width;
        if (header.descr().equals("<f4")) {
            width = 4;
        } else if (header.descr().equals("<f8")) {
            width = 8;
        } else {
            throw new IOException(file + ": dtype '" + header.descr() + "' is not supported (need little-endian "
                    + "float32 '<f4' or float64 '<f8')");
        }
        long elements = 1;
        long dataBytes;
        try {
            for (long d : header.shape()) {
                elements = Math.multiplyExact(elements, d);
            }
            dataBytes = Math.multiplyExact(elements, width);
        } catch (ArithmeticException e) {
            throw new IOException(file + ": shape " + Arrays.toString(header.shape()) + " has more than 2^63 "
                    + "bytes of data, the file has " + (size - dataOffset), e);
        }
        if (dataBytes != size - dataOffset) {
            throw new IOException(file + ": shape " + Arrays.toString(header.shape()) + " of '" + header.descr()
                    + "' needs " + dataBytes + " data bytes, the file has " + (size - dataOffset)
                    + " after its " + dataOffset + "-byte header"
                    + (dataBytes > size - dataOffset ? " (truncated)" : " (trailing bytes)"));
        }
        if (elements > MAX_ELEMENTS) {
            throw new IOException(file + ": " + elements + " elements, more than the " + MAX_ELEMENTS
                    + " a Java array holds");
        }
        return new Parsed(header, width, elements, dataOffset);
    }

    /** The data as floats, read in chunks from {@code in}, positioned after the header. */
    private static float[] values(Path file, InputStream in, Parsed parsed) throws IOException {
        float[] values = new float[(int) parsed.elements()];
        int perChunk = CHUNK / parsed.width();
        for (int from = 0; from < values.length; from += perChunk) {
            int count = Math.min(perChunk, values.length - from);
            byte[] bytes = in.readNBytes(count * parsed.width());
            if (bytes.length != count * parsed.width()) {
                throw new IOException(file + ": truncated while reading: the file shrank to "
                        + (parsed.dataOffset() + (long) from * parsed.width() + bytes.length) + " bytes");
            }
            ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++) {
                values[from + i] = parsed.width() == 4 ? buf.getFloat() : (float) buf.getDouble();
            }
        }
        return values;
    }

    /** Writes {@code array} as little-endian float32 (format 1.0), via a temporary file and an atomic rename. */
    public static void write(INDArray array, Path file) throws IOException {
        long[] shape = array.shape();
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            dims.append(d).append(", ");
        }
        if (shape.length > 1) {
            dims.setLength(dims.length() - 2);
        } else if (shape.length == 1) {
            dims.setLength(dims.length() - 1);
        }
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
        int pad = 64 - (10 + dict.length() + 1) % 64;
        String header = dict + " ".repeat(pad % 64) + "\n";
        float[] values = array.castTo(DataType.FLOAT).dup('c').data().asFloat();
        ByteBuffer buf = ByteBuffer.allocate(10 + header.length() + values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        buf.put(header.getBytes(StandardCharsets.ISO_8859_1));
        for (float v : values) {
            buf.putFloat(v);
        }
        OutputFiles.replace(file, out -> out.write(buf.array()));
    }
}
