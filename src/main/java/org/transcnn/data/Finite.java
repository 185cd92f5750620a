package org.transcnn.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * Refuses arrays holding NaN or an infinity. A network fed one returns NaN everywhere without an error, and an
 * overflowing model writes outputs that look like numbers to a script that only checks the exit code; the message
 * names the array, the first bad index and its value instead.
 */
public final class Finite {

    private Finite() {
    }

    /** Index (row-major) of the first NaN or infinity in {@code values}, or -1 if every value is finite. */
    public static int firstNonFinite(float[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Throws unless every value of {@code array} is finite.
     *
     * @param what the array in the message, e.g. {@code "input.npy"} or {@code "output logits"}
     * @throws IllegalArgumentException "WHAT: VALUE at index [i, j, ...] (shape [...]), expected finite values"
     */
    public static void require(INDArray array, String what) {
        float[] values = array.castTo(DataType.FLOAT).dup('c').data().asFloat();
        int bad = firstNonFinite(values);
        if (bad >= 0) {
            throw new IllegalArgumentException(message(what, values[bad], bad, array.shape()));
        }
    }

    /** "WHAT: VALUE at index [..] (shape [..]), expected finite values", the index unravelled in row-major order. */
    static String message(String what, float value, long flat, long[] shape) {
        long[] index = new long[shape.length];
        long rest = flat;
        for (int d = shape.length - 1; d >= 0; d--) {
            index[d] = shape[d] == 0 ? 0 : rest % shape[d];
            rest = shape[d] == 0 ? rest : rest / shape[d];
        }
        return what + ": " + value + " at index " + Arrays.toString(index) + " (shape " + Arrays.toString(shape)
                + "), expected finite values";
    }
}
