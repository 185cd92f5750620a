package org.transcnn.layers;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Runtime base of this library's graph vertices without parameters or a layer; masks pass through unchanged. */
abstract class ParameterFreeVertex extends BaseGraphVertex {

    ParameterFreeVertex(ComputationGraph graph, String name, int idx, DataType dataType) {
        super(graph, name, idx, null, null, dataType);
    }

    @Override
    public boolean hasLayer() {
        return false;
    }

    @Override
    public Layer getLayer() {
        return null;
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
        // no parameters
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
            int minibatchSize) {
        return maskArrays == null || maskArrays.length == 0 ? null : new Pair<>(maskArrays[0], currentMaskState);
    }
}
