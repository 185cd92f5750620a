package org.transcnn.layers;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;
import org.deeplearning4j.nn.conf.layers.samediff.SDVertexParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Base of the parameter-free multi-head attention cores of H-MHSA, computed in SameDiff.
 *
 * <p>Inputs and output are NCHW activations whose channel index is {@code head * headDim + j}. The spatial size
 * is fixed when the graph is built ({@code height x width}); inputs of another shape are refused with a message
 * that names the vertex, the dimension, the expected and the actual size.
 *
 * <p>Every instance runs on {@link AttentionCoreGraphVertex}, which works around the two DL4J 1.0.0-M2.1
 * SameDiff-vertex gradient bugs (doubled gradients, stale input gradients after the first backward pass).
 */
public abstract class AttentionCore extends SameDiffVertex {

    protected int heads;
    protected int headDim;
    protected int height;
    protected int width;

    protected AttentionCore() {
        // for JSON deserialisation
    }

    protected AttentionCore(int heads, int headDim, int height, int width) {
        require(heads > 0, "heads must be > 0, got " + heads);
        require(headDim > 0, "headDim must be > 0, got " + headDim);
        require(height > 0 && width > 0, "height and width must be > 0, got " + height + "x" + width);
        this.heads = heads;
        this.headDim = headDim;
        this.height = height;
        this.width = width;
    }

    static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Channels of the attention output: {@code heads * headDim}. */
    public int channels() {
        return heads * headDim;
    }

    /** Names of the SameDiff inputs, in graph-input order. */
    protected abstract List<String> inputNames();

    /** Expected [channels, height, width] of each input, in the order of {@link #inputNames()}. */
    protected abstract long[][] expectedInputShapes();

    @Override
    public void defineParametersAndInputs(SDVertexParams params) {
        params.defineInputs(inputNames().toArray(new String[0]));
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        // no parameters
    }

    @Override
    public int minVertexInputs() {
        return inputNames().size();
    }

    @Override
    public int maxVertexInputs() {
        return inputNames().size();
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
            INDArray paramsView, boolean initializeParams, DataType networkDatatype) {
        setName(name);
        return new AttentionCoreGraphVertex(this, graph, name, idx, paramsView, initializeParams, networkDatatype);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) throws InvalidInputTypeException {
        long[][] expected = expectedInputShapes();
        if (vertexInputs.length != expected.length) {
            throw new InvalidInputTypeException(describe() + ": expected " + expected.length + " inputs "
                    + inputNames() + ", got " + vertexInputs.length);
        }
        for (int i = 0; i < expected.length; i++) {
            if (!(vertexInputs[i] instanceof InputType.InputTypeConvolutional)) {
                throw new InvalidInputTypeException(describe() + ": input '" + inputNames().get(i)
                        + "' must be convolutional (NCHW), got " + vertexInputs[i]);
            }
            InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) vertexInputs[i];
            check(i, new long[] {c.getChannels(), c.getHeight(), c.getWidth()}, expected[i],
                    InvalidInputTypeException::new);
        }
        return InputType.convolutional(height, width, channels());
    }

    @Override
    public void validateInput(INDArray[] input) {
        long[][] expected = expectedInputShapes();
        if (input.length != expected.length) {
            throw new IllegalArgumentException(describe() + ": expected " + expected.length + " inputs, got "
                    + input.length);
        }
        for (int i = 0; i < expected.length; i++) {
            long[] s = input[i].shape();
            if (s.length != 4) {
                throw new IllegalArgumentException(describe() + ": input '" + inputNames().get(i)
                        + "' must be rank 4 [batch, channels, height, width], got shape "
                        + java.util.Arrays.toString(s));
            }
            check(i, new long[] {s[1], s[2], s[3]}, expected[i], IllegalArgumentException::new);
        }
    }

    private <E extends RuntimeException> void check(int i, long[] actual, long[] expected,
            java.util.function.Function<String, E> error) {
        String[] dims = {"channels", "height", "width"};
        for (int d = 0; d < 3; d++) {
            if (actual[d] != expected[d]) {
                throw error.apply(describe() + ": input '" + inputNames().get(i) + "' has " + dims[d] + " "
                        + actual[d] + ", expected " + expected[d] + " (expected [C,H,W] = "
                        + java.util.Arrays.toString(expected) + ", got " + java.util.Arrays.toString(actual) + ")");
            }
        }
    }

    /** A short description used in error messages. */
    protected String describe() {
        return getClass().getSimpleName() + (getName() == null ? "" : " '" + getName() + "'");
    }

    public int getHeads() {
        return heads;
    }

    public void setHeads(int heads) {
        this.heads = heads;
    }

    public int getHeadDim() {
        return headDim;
    }

    public void setHeadDim(int headDim) {
        this.headDim = headDim;
    }

    public int getHeight() {
        return height;
    }

    public void setHeight(int height) {
        this.height = height;
    }

    public int getWidth() {
        return width;
    }

    public void setWidth(int width) {
        this.width = width;
    }

    @Override
    public boolean equals(Object o) {
        if (o == null || o.getClass() != getClass()) {
            return false;
        }
        AttentionCore a = (AttentionCore) o;
        return heads == a.heads && headDim == a.headDim && height == a.height && width == a.width;
    }

    @Override
    public int hashCode() {
        return Objects.hash(getClass(), heads, headDim, height, width);
    }
}
