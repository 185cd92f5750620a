package org.transcnn.layers;

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

import java.util.Arrays;

/**
 * Identity vertex that checks every batch entering a graph against the shape the graph was built for,
 * [B, channels, height, width] (NCHW), and fails with a message naming the dimension, the expected and the actual
 * size before any native code sees a wrong input.
 */
public class InputCheckVertex extends GraphVertex {

    private int channels;
    private int height;
    private int width;

    public InputCheckVertex() {
        // for JSON deserialisation
    }

    public InputCheckVertex(int channels, int height, int width) {
        this.channels = channels;
        this.height = height;
        this.width = width;
    }

    /** Throws IllegalArgumentException unless {@code input} is [B, channels, height, width] with B &gt; 0. */
    public void check(INDArray input) {
        long[] s = input.shape();
        String expected = "[batch, " + channels + ", " + height + ", " + width + "] (NCHW)";
        if (s.length != 4) {
            throw new IllegalArgumentException("input must be rank 4 " + expected + ", got rank " + s.length
                    + " shape " + Arrays.toString(s));
        }
        String[] names = {"batch", "channel count", "height", "width"};
        long[] want = {-1, channels, height, width};
        if (s[0] < 1) {
            throw new IllegalArgumentException("input batch size must be >= 1, got shape " + Arrays.toString(s));
        }
        for (int d = 1; d < 4; d++) {
            if (s[d] != want[d]) {
                throw new IllegalArgumentException("input " + names[d] + " is " + s[d] + ", expected " + want[d]
                        + ": the model takes " + expected + ", got shape " + Arrays.toString(s));
            }
        }
    }

    @Override
    public InputCheckVertex clone() {
        return new InputCheckVertex(channels, height, width);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InputCheckVertex && ((InputCheckVertex) o).channels == channels
                && ((InputCheckVertex) o).height == height && ((InputCheckVertex) o).width == width;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(channels, height, width);
    }

    @Override
    public long numParams(boolean backprop) {
        return 0;
    }

    @Override
    public int minVertexInputs() {
        return 1;
    }

    @Override
    public int maxVertexInputs() {
        return 1;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
            INDArray paramsView, boolean initializeParams, DataType networkDatatype) {
        return new Impl(graph, name, idx, networkDatatype, this);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) throws InvalidInputTypeException {
        InputType in = vertexInputs[0];
        if (!(in instanceof InputType.InputTypeConvolutional)) {
            throw new InvalidInputTypeException("input must be convolutional [batch, " + channels + ", " + height
                    + ", " + width + "], got " + in);
        }
        InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) in;
        if (c.getChannels() != channels || c.getHeight() != height || c.getWidth() != width) {
            throw new InvalidInputTypeException("input type [C,H,W] = [" + c.getChannels() + ", " + c.getHeight()
                    + ", " + c.getWidth() + "] does not match the model's [" + channels + ", " + height + ", "
                    + width + "]");
        }
        return in;
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        return new LayerMemoryReport.Builder(null, InputCheckVertex.class, inputTypes[0], inputTypes[0])
                .standardMemory(0, 0).workingMemory(0, 0, 0, 0).cacheMemory(0, 0).build();
    }

    public int getChannels() {
        return channels;
    }

    public void setChannels(int channels) {
        this.channels = channels;
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

    /** Runtime side of {@link InputCheckVertex}. */
    static final class Impl extends ParameterFreeVertex {
        private final InputCheckVertex conf;

        Impl(ComputationGraph graph, String name, int idx, DataType dataType, InputCheckVertex conf) {
            super(graph, name, idx, dataType);
            this.conf = conf;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
            conf.check(inputs[0]);
            return workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, inputs[0]);
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
            return new Pair<>(null, new INDArray[] {workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, epsilon)});
        }

        @Override
        public String toString() {
            return "InputCheckVertex(" + getVertexName() + ")";
        }
    }
}
