package org.transcnn.weights;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense tensor read from a PyTorch checkpoint: its shape, and a strided view (offset and strides in elements)
 * into one of the file's storages, as {@code torch.Tensor} itself is.
 *
 * <p>Immutable. The storage bytes are read once per storage however many tensors view it (a hostile file may alias
 * one storage from thousands of keys), so the memory a checkpoint holds is its storages' bytes; the values of one
 * tensor are copied out only when {@link #toINDArray} asks for them. {@link TorchCheckpoint} checks every view
 * against its storage before constructing it.
 */
public final class TorchTensor {

    /**
     * The raw little-endian bytes of one storage entry ({@code <archive>/data/<key>}) and its element type. The array
     * is never written after reading and never leaves this package.
     */
    static final class Storage {

        private final String type;
        private final int elementSize;
        private final byte[] bytes;

        Storage(String type, int elementSize, byte[] bytes) {
            if (bytes.length % elementSize != 0) {
                throw new IllegalArgumentException("storage of " + bytes.length + " bytes is not a whole number of "
                        + elementSize + "-byte elements");
            }
            this.type = type;
            this.elementSize = elementSize;
            this.bytes = bytes;
        }

        String type() {
            return type;
        }

        long numel() {
            return bytes.length / elementSize;
        }

        /** Index of the first NaN or infinite element, or -1; integer storages have none. */
        long firstNonFinite() {
            ByteBuffer b = buffer();
            if (type.equals("FloatStorage")) {
                for (int i = 0; i < bytes.length; i += 4) {
                    if (!Float.isFinite(b.getFloat(i))) {
                        return i / 4;
                    }
                }
            } else if (type.equals("DoubleStorage")) {
                for (int i = 0; i < bytes.length; i += 8) {
                    if (!Double.isFinite(b.getDouble(i))) {
                        return i / 8;
                    }
                }
            }
            return -1;
        }

        /** Element {@code index} as a double. */
        double get(ByteBuffer b, long index) {
            int at = (int) (index * elementSize);
            return switch (type) {
                case "FloatStorage" -> b.getFloat(at);
                case "DoubleStorage" -> b.getDouble(at);
                case "LongStorage" -> b.getLong(at);
                default -> b.getInt(at);
            };
        }

        /** A fresh read-only little-endian view of the bytes (absolute reads only, so it is safe per call). */
        ByteBuffer buffer() {
            return ByteBuffer.wrap(bytes).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private final Storage storage;
    private final long offset;
    private final long[] shape;
    private final long[] stride;
    private final long numel;

    /** A view already checked by {@link TorchCheckpoint}: every element it addresses lies inside {@code storage}. */
    TorchTensor(Storage storage, long offset, long[] shape, long[] stride, long numel) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape.clone();
        this.stride = stride.clone();
        this.numel = numel;
    }

    /** PyTorch storage type name, for example "FloatStorage". */
    public String dtype() {
        return storage.type();
    }

    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        return numel;
    }

    /** The values as a new INDArray of the given shape (row-major); each call copies them out of the storage. */
    public INDArray toINDArray(org.nd4j.linalg.api.buffer.DataType type) {
        return Nd4j.create(values(), shape.length == 0 ? new long[] {} : shape, type);
    }

    /** The storage this tensor views; tensors aliasing one storage return the same object. */
    Storage storage() {
        return storage;
    }

    /** The values in row-major order, copied out of the storage (a new array per call). */
    double[] values() {
        double[] out = new double[(int) numel];
        if (numel == 0) {
            return out;
        }
        int[] dims = new int[shape.length];
        int n = 0;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] > 1) {
                dims[n++] = d;
            }
        }
        long[] idx = new long[n];
        ByteBuffer b = storage.buffer();
        long pos = offset;
        for (int i = 0; i < out.length; i++) {
            out[i] = storage.get(b, pos);
            for (int k = n - 1; k >= 0; k--) {
                int d = dims[k];
                if (++idx[k] < shape[d]) {
                    pos += stride[d];
                    break;
                }
                pos -= (shape[d] - 1) * stride[d];
                idx[k] = 0;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return dtype() + Arrays.toString(shape);
    }
}
