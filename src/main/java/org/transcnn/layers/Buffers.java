package org.transcnn.layers;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import org.nd4j.linalg.factory.Nd4j;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/** Fast copies between ND4J arrays (FLOAT or DOUBLE, any layout) and Java double arrays in C order. */
final class Buffers {

    private Buffers() {
    }

    /** The values of {@code a} in C order. */
    static double[] read(INDArray a) {
        INDArray c = contiguous(a);
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
        if (!isDense(out) || out.length() != values.length) {
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

    /**
     * Copies {@code src} viewed as [a, b, run] (C order) into {@code dst} viewed as [b, a, run]: the first two axes
     * swapped, moving contiguous runs. Both arrays must be C-ordered, offset 0, FLOAT or DOUBLE and of equal type.
     */
    static void swapLeadingAxes(INDArray src, INDArray dst, int a, int b, int run) {
        if (!isDense(src) || !isDense(dst) || src.dataType() != dst.dataType() || src.length() != (long) a * b * run
                || dst.length() != src.length()) {
            throw new IllegalStateException("swapLeadingAxes needs two fresh C-ordered arrays of " + a + "x" + b + "x"
                    + run);
        }
        if (src.dataType() == DataType.FLOAT) {
            FloatBuffer in = src.data().asNioFloat();
            FloatBuffer out = dst.data().asNioFloat();
            for (int i = 0; i < a; i++) {
                for (int j = 0; j < b; j++) {
                    out.put((j * a + i) * run, in, (i * b + j) * run, run);
                }
            }
        } else if (src.dataType() == DataType.DOUBLE) {
            DoubleBuffer in = src.data().asNioDouble();
            DoubleBuffer out = dst.data().asNioDouble();
            for (int i = 0; i < a; i++) {
                for (int j = 0; j < b; j++) {
                    out.put((j * a + i) * run, in, (i * b + j) * run, run);
                }
            }
        } else {
            dst.assign(src.reshape('c', a, b, run).permute(1, 0, 2));
        }
    }

    /** {@code a} as a dense C-ordered array at the start of its buffer (itself when it already is one). */
    static INDArray contiguous(INDArray a) {
        return isDense(a) ? a : a.dup('c');
    }

    /** True when {@code a} has C-order default strides, offset 0 and a buffer of exactly its length. */
    static boolean isDense(INDArray a) {
        return !a.isView() && a.offset() == 0 && a.data().length() == a.length()
                && Arrays.equals(a.stride(), Nd4j.getStrides(a.shape(), 'c'));
    }
}
