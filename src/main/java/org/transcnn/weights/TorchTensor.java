package org.transcnn.weights;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/** A dense tensor read from a PyTorch checkpoint: its shape and its values in row-major order, as doubles. */
public final class TorchTensor {

    private final String dtype;
    private final long[] shape;
    private final double[] values;

    TorchTensor(String dtype, long[] shape, double[] values) {
        this.dtype = dtype;
        this.shape = shape;
        this.values = values;
    }

    /** PyTorch storage type name, for example "FloatStorage". */
    public String dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        return values.length;
    }

    /** The values as an INDArray of the given shape (row-major). */
    public INDArray toINDArray(org.nd4j.linalg.api.buffer.DataType type) {
        return Nd4j.create(values, shape.length == 0 ? new long[] {} : shape, type);
    }

    double[] values() {
        return values;
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
