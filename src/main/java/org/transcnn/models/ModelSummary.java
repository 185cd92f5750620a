package org.transcnn.models;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.transcnn.layers.GlobalAttentionCore;
import org.transcnn.layers.HMHSA;
import org.transcnn.layers.InvertedResidual;
import org.transcnn.layers.WindowAttentionCore;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters and multiply-adds of a TransCNN graph, per part (stem, stage 1..4 with its downsampling block, head)
 * and in total, computed from the graph configuration without allocating it.
 *
 * <p>Parameters are counted as PyTorch counts them: trainable weights only, BatchNorm running statistics excluded
 * ({@code ComputationGraph.numParams()} includes them). Multiply-adds count convolutions, linear layers and the
 * attention matrix products for one image.
 */
public final class ModelSummary {

    /** One row of the summary. */
    public record Part(String name, long params, long macs) {
    }

    private final List<Part> parts;

    private ModelSummary(List<Part> parts) {
        this.parts = Collections.unmodifiableList(parts);
    }

    /** Summary of {@code conf}, whose single input has the given type. */
    public static ModelSummary of(ComputationGraphConfiguration conf, InputType input) {
        Map<String, InputType> types = conf.getLayerActivationTypes(input);
        Map<String, long[]> rows = new LinkedHashMap<>();
        for (String p : new String[] {"stem", "stage1", "stage2", "stage3", "stage4", "head"}) {
            rows.put(p, new long[2]);
        }
        for (String name : conf.getVertices().keySet()) {
            GraphVertex v = conf.getVertices().get(name);
            if (v == null) {
                continue;
            }
            long[] row = rows.get(part(name));
            InputType out = types.get(name);
            if (v instanceof LayerVertex) {
                Layer layer = ((LayerVertex) v).getLayerConf().getLayer();
                row[0] += trainableParams(layer);
                row[1] += macs(layer, out);
            } else if (v instanceof WindowAttentionCore w) {
                row[1] += 2L * w.getHeight() * w.getWidth() * w.getGridSize() * w.getGridSize() * w.channels();
            } else if (v instanceof GlobalAttentionCore g) {
                row[1] += 2L * g.getHeight() * g.getWidth() * g.getKvHeight() * g.getKvWidth() * g.channels();
            }
        }
        List<Part> parts = new ArrayList<>();
        rows.forEach((k, r) -> parts.add(new Part(k, r[0], r[1])));
        return new ModelSummary(parts);
    }

    /** Summary of the network a {@link TransCNN} builds. */
    public static ModelSummary of(TransCNN model) {
        TransCnnConfig c = model.config();
        return of(model.graphConfiguration(), InputType.convolutional(c.height(), c.width(), c.inChannels()));
    }

    private static String part(String vertex) {
        int stage = VertexNames.stageOf(vertex);
        if (stage >= 0) {
            return "stage" + (stage + 1);
        }
        if (vertex.startsWith(TransCNN.POOL) || vertex.startsWith("classifier") || vertex.equals(TransCNN.OUTPUT)) {
            return "head";
        }
        return "stem";
    }

    private static long trainableParams(Layer layer) {
        if (layer instanceof InvertedResidual irb) {
            return irb.parameters();
        }
        if (layer instanceof HMHSA a) {
            return a.parameters();
        }
        long n = layer.initializer().numParams(layer);
        if (layer instanceof BatchNormalization) {
            n -= 2 * ((BatchNormalization) layer).getNOut();
        }
        return n;
    }

    private static long macs(Layer layer, InputType out) {
        if (layer instanceof InvertedResidual irb) {
            InputType.InputTypeConvolutional o = (InputType.InputTypeConvolutional) out;
            return irb.multiplyAdds(o.getHeight() * o.getWidth());
        }
        if (layer instanceof HMHSA a) {
            return a.multiplyAdds();
        }
        if (layer instanceof DepthwiseConvolution2D d) {
            InputType.InputTypeConvolutional o = (InputType.InputTypeConvolutional) out;
            return (long) d.getKernelSize()[0] * d.getKernelSize()[1] * d.getNOut() * o.getHeight() * o.getWidth();
        }
        if (layer instanceof ConvolutionLayer c) {
            InputType.InputTypeConvolutional o = (InputType.InputTypeConvolutional) out;
            return (long) c.getKernelSize()[0] * c.getKernelSize()[1] * c.getNIn() * c.getNOut() * o.getHeight()
                    * o.getWidth();
        }
        if (layer instanceof DenseLayer d) {
            return d.getNIn() * d.getNOut();
        }
        return 0;
    }

    public List<Part> parts() {
        return parts;
    }

    /** Trainable parameters in total (PyTorch's count). */
    public long params() {
        return parts.stream().mapToLong(Part::params).sum();
    }

    /** Multiply-adds per image in total. */
    public long macs() {
        return parts.stream().mapToLong(Part::macs).sum();
    }
}
