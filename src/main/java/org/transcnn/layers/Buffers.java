package org.transcnn.layers;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

/** Fast copies between ND4J arrays (FLOAT or DOUBLE, any layout) and Java double arrays in C order. */
final class Buffers {

    private Buffers() {
    }

    /** The values of {@code a} in C order. */
    static double[] read(INDArray a) {
        INDArray c = a.isView() || a.ordering() != 'c' || a.offset() != 0 ? a.dup('c') : a;
        int n = (int) c.length();
        double[] out = new double[n];
        if (c.dataType() == DataType.DOUBLE) {
            DoubleBuffer b = c.data().asNioDouble();
            b.get(out, 0, n);
        } else if (c.dataType() == DataType.FLOAT) {
            FloatBuffer b = c.data().asNioFloat();
            for (int i = 0; i < n; i++) {
                out[i] = b.get(i);
            }
        } else {
            return c.data().asDouble();
        }
        return out;
    }

    /** Writes {@code values} (C order) into the C-ordered, offset-0 array {@code out}; returns {@code out}. */
    static INDArray write(double[] values, INDArray out) {
        if (out.isView() || out.ordering() != 'c' || out.offset() != 0 || out.length() != values.length) {
            throw new IllegalStateException("output must be a fresh C-ordered array of " + values.length);
        }
        if (out.dataType() == DataType.DOUBLE) {
            out.data().asNioDouble().put(values, 0, values.length);
        } else if (out.dataType() == DataType.FLOAT) {
            FloatBuffer b = out.data().asNioFloat();
            for (int i = 0; i < values.length; i++) {
                b.put(i, (float) values[i]);
            }
        } else {
            out.data().setData(values);
        }
        return out;
    }
}
