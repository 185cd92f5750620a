package org.transcnn.data;

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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format 1.0/2.0, C order, little-endian float32 or float64), read and written in Java so
 * that a malformed file is refused with a clear message before native code sees it.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /** Reads a float32 or float64 array as FLOAT. */
    public static INDArray read(Path file) throws IOException {
        long size = Files.size(file);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(8);
            if (magic.length < 8 || !Arrays.equals(Arrays.copyOf(magic, 6), MAGIC)) {
                throw new IOException(file + ": not a NumPy .npy file (bad magic)");
            }
            int major = magic[6];
            byte[] lenBytes = in.readNBytes(major == 1 ? 2 : 4);
            if (major < 1 || major > 3 || lenBytes.length != (major == 1 ? 2 : 4)) {
                throw new IOException(file + ": unsupported .npy version " + major);
            }
            long headerLen = major == 1
                    ? ByteBuffer.wrap(lenBytes).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff
                    : ByteBuffer.wrap(lenBytes).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
            if (headerLen > 1 << 20 || headerLen > size) {
                throw new IOException(file + ": corrupt .npy header length " + headerLen);
            }
            String header = new String(in.readNBytes((int) headerLen), StandardCharsets.ISO_8859_1);
            String descr = group(file, DESCR, header, "descr");
            if (!"False".equals(group(file, ORDER, header, "fortran_order"))) {
                throw new IOException(file + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
            }
            String[] dims = group(file, SHAPE, header, "shape").split(",");
            long[] shape = Arrays.stream(dims).map(String::trim).filter(s -> !s.isEmpty())
                    .mapToLong(s -> parseDim(file, s)).toArray();
            int width;
            if (descr.equals("<f4")) {
                width = 4;
            } else if (descr.equals("<f8")) {
                width = 8;
            } else {
                throw new IOException(file + ": dtype '" + descr + "' is not supported (need little-endian float32 "
                        + "'<f4' or float64 '<f8')");
            }
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            if (n > Integer.MAX_VALUE / width - 8 || n * width > size) {
                throw new IOException(file + ": shape " + Arrays.toString(shape) + " needs " + n * width
                        + " bytes but the file has " + size);
            }
            byte[] data = in.readNBytes((int) (n * width));
            if (data.length != n * width) {
                throw new IOException(file + ": truncated: " + data.length + " of " + n * width + " data bytes");
            }
            ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            float[] values = new float[(int) n];
            for (int i = 0; i < n; i++) {
                values[i] = width == 4 ? buf.getFloat() : (float) buf.getDouble();
            }
            return Nd4j.create(values, shape, 'c');
        } catch (ArithmeticException e) {
            throw new IOException(file + ": shape too large", e);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static long parseDim(Path file, String s) {
        try {
            long v = Long.parseLong(s);
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(file + ": bad dimension '" + s + "' in .npy shape");
        }
    }

    private static String group(Path file, Pattern p, String header, String what) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(file + ": .npy header has no " + what + ": " + header.trim());
        }
        return m.group(1);
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
