package org.transcnn.bench;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Multiply-adds by hand: a depthwise convolution's output channel reads one input channel, not all of them. */
class MacsTest {

    @Test
    void depthwiseConvolutionCountsOneInputChannelPerOutput() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(16, 16, 8))
                .addLayer("dw", new DepthwiseConvolution2D.Builder(3, 3).nIn(8).depthMultiplier(1)
                        .convolutionMode(org.deeplearning4j.nn.conf.ConvolutionMode.Same).build(), "in")
                .addLayer("pw", new ConvolutionLayer.Builder(1, 1).nIn(8).nOut(4).build(), "dw")
                .setOutputs("pw")
                .build();
        long depthwise = 3 * 3 * 8 * 16 * 16;
        long pointwise = 8 * 4 * 16 * 16;
        assertEquals(depthwise + pointwise, Macs.convAndDense(conf, InputType.convolutional(16, 16, 8)));
    }
}
