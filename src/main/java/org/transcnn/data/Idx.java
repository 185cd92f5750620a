package org.transcnn.data;

import org.transcnn.io.RegularFiles;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reader of the IDX format of MNIST and Fashion-MNIST ({@code .gz} or plain): unsigned-byte tensors with a magic
 * number {@code 0x0000080N} (N = number of dimensions) and big-endian dimension sizes. Every header value is checked
 * against what the caller expects and against the bytes present; a FIFO, device or directory is refused before it is
 * opened; errors name the file.
 */
public final class Idx {

    /** Largest number of bytes accepted (the Fashion-MNIST training images are 47 MB). */
    static final long MAX_BYTES = 512L << 20;

    private Idx() {
    }

    /** An unsigned-byte tensor: its dimensions and its values in row-major order. */
    public record Tensor(int[] dims, byte[] data) {
        public int count() {
            return dims[0];
        }
    }

    /** Reads an IDX file of {@code rank} dimensions. */
    public static Tensor read(Path file, int rank) throws IOException {
        RegularFiles.require(file, "IDX file");
        try (InputStream raw = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new BufferedInputStream(
                     file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw))) {
            int magic = in.readInt();
            int expected = 0x00000800 | rank;
            if (magic != expected) {
                throw new IOException(file + ": bad IDX magic number 0x" + Integer.toHexString(magic) + ", expected 0x"
                        + Integer.toHexString(expected) + " (unsigned bytes, " + rank + " dimensions)");
            }
            int[] dims = new int[rank];
            long total = 1;
            for (int d = 0; d < rank; d++) {
                dims[d] = in.readInt();
                if (dims[d] < 0) {
                    throw new IOException(file + ": negative size " + dims[d] + " of dimension " + d);
                }
                total *= dims[d];
                if (total > MAX_BYTES) {
                    throw new IOException(file + ": header claims more than " + MAX_BYTES + " bytes");
                }
            }
            byte[] data = new byte[(int) total];
            try {
                in.readFully(data);
            } catch (EOFException e) {
                throw new IOException(file + ": truncated: the header announces " + total + " bytes of data", e);
            }
            return new Tensor(dims, data);
        } catch (java.util.zip.ZipException e) {
            throw new IOException(file + ": corrupt gzip data: " + e.getMessage(), e);
        } catch (EOFException e) {
            throw new IOException(file + ": truncated header", e);
        }
    }
}
