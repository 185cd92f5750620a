package org.transcnn.layers;

import org.transcnn.kernels.AttentionDouble;
import org.transcnn.kernels.AttentionFloat;
import org.transcnn.kernels.AttentionLayout;
import org.transcnn.layers.runtime.Buffers;
import org.transcnn.layers.runtime.Scratch;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Objects;

/**
 * Base of the parameter-free multi-head attention cores of H-MHSA: graph vertices computing
 * {@code softmax(q k^T / sqrt(d)) v} per head with direct forward and backward kernels ({@link AttentionFloat}).
 *
 * <p>Inputs and output are NCHW activations whose channel index is {@code head * headDim + j}. The spatial size
 * is fixed when the graph is built ({@code height x width}); inputs of another shape are refused with a message
 * that names the vertex, the dimension, the expected and the actual size. FLOAT networks compute in float, DOUBLE
 * networks in double (the generated twin of the kernels).
 */
public abstract class AttentionCore extends GraphVertex {

    private String name;
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

    /** Names of the inputs, in graph-input order. */
    protected abstract List<String> inputNames();

    /** Expected [channels, height, width] of each input, in the order of {@link #inputNames()}. */
    protected abstract long[][] expectedInputShapes();

    /** The kernel geometry for a batch of {@code batch}. */
    abstract AttentionLayout layout(int batch);

    @Override
    public long numParams(boolean backprop) {
        return 0;
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
        this.name = name;
        return new Impl(graph, name, idx, networkDatatype, this);
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        return new LayerMemoryReport.Builder(name, getClass(), inputTypes[0],
                InputType.convolutional(height, width, channels()))
                .standardMemory(0, 0).workingMemory(0, 0, 0, 0).cacheMemory(0, 0).build();
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

    /** Throws IllegalArgumentException naming the input and dimension unless the inputs have the built shapes. */
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
        return getClass().getSimpleName() + (name == null ? "" : " '" + name + "'");
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

    /** Runtime vertex: validates the inputs, then runs the attention kernels forward and backward. */
    static final class Impl extends ParameterFreeVertex {
        private final AttentionCore conf;

        Impl(ComputationGraph graph, String name, int idx, DataType dataType, AttentionCore conf) {
            super(graph, name, idx, dataType);
            this.conf = conf;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
            conf.validateInput(inputs);
            AttentionLayout l = conf.layout((int) inputs[0].size(0));
            INDArray result = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType,
                    new long[] {l.batch(), l.outChannels(), l.qH(), l.qW()}, 'c');
            int n = (int) result.length();
            if (dataType == DataType.FLOAT) {
                float[] q = Buffers.readFloats(inputs[0]);
                float[] kv = inputs.length == 1 ? q : Buffers.readFloats(inputs[1]);
                float[] out = Scratch.takeFloats(n);
                AttentionFloat.forward(q, kv, l, out);
                Buffers.write(out, result);
                Scratch.give(q, kv, out);
            } else {
                double[] q = Buffers.read(inputs[0]);
                double[] kv = inputs.length == 1 ? q : Buffers.read(inputs[1]);
                double[] out = Scratch.take(n);
                AttentionDouble.forward(q, kv, l, out);
                Buffers.write(out, result);
                Scratch.give(q, kv, out);
            }
            return result;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
            AttentionLayout l = conf.layout((int) inputs[0].size(0));
            INDArray[] grads = new INDArray[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                grads[i] = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, inputs[i].shape(),
                        'c');
            }
            if (dataType == DataType.FLOAT) {
                float[] q = Buffers.readFloats(inputs[0]);
                float[] kv = inputs.length == 1 ? q : Buffers.readFloats(inputs[1]);
                float[] dq = Scratch.zerosFloats(q.length);
                float[] dkv = inputs.length == 1 ? dq : Scratch.zerosFloats(kv.length);
                float[] dOut = Buffers.readFloats(epsilon);
                AttentionFloat.backward(q, kv, dOut, l, dq, dkv);
                Buffers.write(dq, grads[0]);
                if (inputs.length == 2) {
                    Buffers.write(dkv, grads[1]);
                }
                Scratch.give(q, kv, dOut, dq, dkv);
            } else {
                double[] q = Buffers.read(inputs[0]);
                double[] kv = inputs.length == 1 ? q : Buffers.read(inputs[1]);
                double[] dq = Scratch.zeros(q.length);
                double[] dkv = inputs.length == 1 ? dq : Scratch.zeros(kv.length);
                double[] dOut = Buffers.read(epsilon);
                AttentionDouble.backward(q, kv, dOut, l, dq, dkv);
                Buffers.write(dq, grads[0]);
                if (inputs.length == 2) {
                    Buffers.write(dkv, grads[1]);
                }
                Scratch.give(q, kv, dOut, dq, dkv);
            }
            return new Pair<>(null, grads);
        }

        @Override
        public String toString() {
            return conf.getClass().getSimpleName() + "(" + getVertexName() + ")";
        }
    }
}
