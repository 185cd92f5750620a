package org.transcnn.bench;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.transcnn.layers.HMHSA;
import org.transcnn.layers.InvertedResidual;

import java.util.Map;

/**
 * Multiply-adds per image of the convolution and dense layers of any DL4J graph (batch norm, pooling, activations
 * and element-wise vertices are not counted), for graphs without a TransCNN {@code ModelSummary}, such as DL4J's
 * ResNet-50.
 */
public final class Macs {

    private Macs() {
    }

    /**
     * Sum over convolutions of k_h * k_w * C_in * C_out * H_out * W_out (k_h * k_w * C_out * H_out * W_out for a
     * depthwise one, whose output channel reads one input channel) plus n_in * n_out per dense layer.
     */
    public static long convAndDense(ComputationGraphConfiguration conf, InputType input) {
        Map<String, InputType> outputs = conf.getLayerActivationTypes(input);
        long total = 0;
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            if (!(e.getValue() instanceof LayerVertex lv)) {
                continue;
            }
            Layer layer = lv.getLayerConf().getLayer();
            if (layer instanceof InvertedResidual irb
                    && outputs.get(e.getKey()) instanceof InputType.InputTypeConvolutional o) {
                total += irb.multiplyAdds(o.getHeight() * o.getWidth());
            } else if (layer instanceof HMHSA a) {
                total += a.convolutionMultiplyAdds();
            } else if (layer instanceof ConvolutionLayer c && outputs.get(e.getKey()) instanceof InputType.InputTypeConvolutional o) {
                long inputsPerOutput = layer instanceof DepthwiseConvolution2D ? 1 : c.getNIn();
                total += (long) c.getKernelSize()[0] * c.getKernelSize()[1] * inputsPerOutput * c.getNOut()
                        * o.getHeight() * o.getWidth();
            } else if (layer instanceof DenseLayer d) {
                total += d.getNIn() * d.getNOut();
            } else if (layer instanceof OutputLayer d) {
                total += d.getNIn() * d.getNOut();
            }
        }
        return total;
    }
}
