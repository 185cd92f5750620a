package org.transcnn.layers;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDVertexParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * Window attention written as a DL4J SameDiff vertex (the form the library used before its direct kernels), on the
 * gradient-bug workaround {@link AttentionCoreGraphVertex}. Test oracle and subject of {@code SameDiffWorkaroundTest}.
 * Input [B, 3C, H, W], H and W multiples of G; output [B, C, H, W].
 */
class SameDiffWindowCore extends SameDiffVertex {

    final int heads;
    final int headDim;
    final int gridSize;
    final int height;
    final int width;

    SameDiffWindowCore(int heads, int headDim, int gridSize, int height, int width) {
        this.heads = heads;
        this.headDim = headDim;
        this.gridSize = gridSize;
        this.height = height;
        this.width = width;
    }

    int channels() {
        return heads * headDim;
    }

    @Override
    public void defineParametersAndInputs(SDVertexParams params) {
        params.defineInputs("qkv");
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        // no parameters
    }

    @Override
    public SDVariable defineVertex(SameDiff sd, Map<String, SDVariable> in, Map<String, SDVariable> params,
            Map<String, SDVariable> masks) {
        int g = gridSize;
        int rows = height / g;
        int cols = width / g;
        int n = heads;
        int d = headDim;
        SDVariable[] qkv = sd.unstack(in.get("qkv").reshape(-1, 3, n, d, rows, g, cols, g)
                .permute(1, 0, 4, 6, 2, 5, 7, 3)
                .reshape(3, -1, (long) g * g, d), 0, 3);
        SDVariable attn = sd.nn().softmax(sd.mmul(qkv[0].mul(1.0 / Math.sqrt(d)), qkv[1], false, true, false), 2);
        return sd.mmul(attn, qkv[2]).reshape(-1, rows, cols, n, g, g, d)
                .permute(0, 3, 6, 1, 4, 2, 5)
                .reshape(-1, (long) n * d, height, width);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) {
        return InputType.convolutional(height, width, channels());
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
            INDArray paramsView, boolean initializeParams, DataType networkDatatype) {
        setName(name);
        return new AttentionCoreGraphVertex(this, graph, name, idx, paramsView, initializeParams, networkDatatype);
    }

    @Override
    public SameDiffWindowCore clone() {
        return new SameDiffWindowCore(heads, headDim, gridSize, height, width);
    }
}
