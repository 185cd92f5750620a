package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The fast kernels compute exactly what DL4J's stock layers compute (double precision): outputs, parameter gradients
 * and input gradients, over several shapes, including non-square maps, batch 1 and 7x7 kernels, two passes each
 * (the second reuses the {@link Scratch} arrays of the first when the tensors are large enough to be pooled).
 */
class FastLayersTest {

    /** pre (1x1 conv) -&gt; layers[0] ("layer") -&gt; layers[1] ("layer.1") ... -&gt; MSE loss. */
    static ComputationGraph net(int c, int h, int w, Layer... layers) {
        GraphBuilder g = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.DOUBLE).updater(new NoOp())
                .graphBuilder().addInputs("in").setInputTypes(InputType.convolutional(h, w, c));
        g.addLayer("pre", Layers.conv(c, c, 1, 1, true), "in");
        String last = "pre";
        for (int i = 0; i < layers.length; i++) {
            String name = i == 0 ? "layer" : "layer." + i;
            g.addLayer(name, layers[i], last);
            last = name;
        }
        g.addLayer("loss", new CnnLossLayer.Builder(LossFunctions.LossFunction.MSE).activation(Activation.IDENTITY)
                .build(), last);
        g.setOutputs("loss");
        ComputationGraph n = new ComputationGraph(g.build());
        n.init();
        return n;
    }

    static void assertSameAsStock(int b, int c, int h, int w, Layer fast, Layer... stock) {
        ComputationGraph f = net(c, h, w, fast);
        ComputationGraph s = net(c, h, w, stock);
        s.setParams(f.params());
        for (int pass = 0; pass < 2; pass++) {
            INDArray x = Nd4j.randn(DataType.DOUBLE, b, c, h, w);
            INDArray y = Nd4j.randn(DataType.DOUBLE, f.outputSingle(x).shape());
            assertEquals(0.0, f.outputSingle(x).sub(s.outputSingle(x)).amaxNumber().doubleValue(), 1e-12, "output");
            for (ComputationGraph n : new ComputationGraph[] {f, s}) {
                n.setInputs(x);
                n.setLabels(y);
                n.computeGradientAndScore();
            }
            // the 1x1 convolution in front carries the input gradient
            for (Map.Entry<String, INDArray> e : f.gradient().gradientForVariable().entrySet()) {
                if (e.getKey().equals("layer_var")) {
                    continue; // running variance: PyTorch's unbiased update, checked in TrainingModeTest
                }
                INDArray stockGrad = s.gradient().getGradientFor(e.getKey());
                assertEquals(0.0, e.getValue().sub(stockGrad).amaxNumber().doubleValue(), 1e-10,
                        e.getKey() + ", pass " + pass);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 5, 7, true", "1, 4, 8, 8, false", "3, 2, 6, 4, true", "4, 5, 1, 1, true"})
    void pointwiseMatchesDl4j(int b, int c, int h, int w, boolean bias) {
        assertSameAsStock(b, c, h, w, PointwiseConv.of(c, c, bias), new ConvolutionLayer.Builder(1, 1).nIn(c).nOut(c)
                .hasBias(bias).convolutionMode(ConvolutionMode.Truncate).activation(Activation.IDENTITY).build());
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 5, 7, 3, 2, 1, true", "1, 4, 8, 8, 3, 2, 1, false", "3, 2, 6, 4, 3, 1, 1, true",
            "2, 3, 9, 7, 5, 2, 2, true", "2, 2, 1, 1, 3, 2, 1, true", "1, 3, 7, 5, 3, 3, 0, false",
            "2, 4, 4, 6, 1, 2, 0, true", "2, 8, 72, 64, 3, 1, 1, true"})
    void gemmConvMatchesDl4j(int b, int c, int h, int w, int k, int stride, int pad, boolean bias) {
        assertSameAsStock(b, c, h, w, GemmConv.of(c, 2 * c, k, stride, pad, bias), new ConvolutionLayer.Builder(k, k)
                .stride(stride, stride).padding(pad, pad).nIn(c).nOut(2 * c).hasBias(bias)
                .convolutionMode(ConvolutionMode.Truncate).activation(Activation.IDENTITY).build());
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 5, 7", "1, 4, 8, 8", "3, 2, 6, 4", "4, 5, 1, 1", "2, 8, 72, 64"})
    void batchNormMatchesDl4j(int b, int c, int h, int w) {
        assertSameAsStock(b, c, h, w, BatchNorm.of(c), new BatchNormalization.Builder().nIn(c).nOut(c).eps(1e-5)
                .decay(0.9).useLogStd(false).build());
    }

    /** BatchNorm with SiLU fused into its kernel, and with another activation (exact GELU) applied after it. */
    @ParameterizedTest
    @CsvSource({"2, 3, 5, 7, true", "1, 4, 8, 8, false", "3, 2, 6, 4, true", "4, 5, 1, 1, false",
            "2, 8, 72, 64, true"})
    void batchNormWithActivationMatchesBatchNormThenActivation(int b, int c, int h, int w, boolean silu) {
        IActivation act = silu ? new ActivationSwish() : new ExactGELU();
        assertSameAsStock(b, c, h, w, BatchNorm.of(c, act), new BatchNormalization.Builder().nIn(c).nOut(c).eps(1e-5)
                .decay(0.9).useLogStd(false).build(), new ActivationLayer.Builder().activation(act).build());
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 5, 7, 3", "1, 4, 8, 8, 5", "3, 2, 6, 4, 7", "2, 5, 1, 1, 3", "2, 8, 72, 64, 5",
            // around the widths where DepthwiseFloat switches to its shifted-row kernels (16 and 32 columns)
            "1, 3, 16, 15, 5", "2, 3, 20, 17, 3", "1, 2, 9, 16, 7", "2, 2, 3, 70, 5", "1, 2, 5, 31, 3",
            "1, 2, 4, 32, 5"})
    void depthwiseMatchesDl4j(int b, int c, int h, int w, int k) {
        int pad = (k - 1) / 2;
        assertSameAsStock(b, c, h, w, DepthwiseConv.of(c, k), new DepthwiseConvolution2D.Builder(k, k)
                .padding(pad, pad).convolutionMode(ConvolutionMode.Truncate).nIn(c).nOut(c).depthMultiplier(1)
                .hasBias(false).activation(Activation.IDENTITY).build());
    }
}
