package org.transcnn.layers;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.dropout.SpatialDropout;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.optimize.api.TrainingListener;

import java.util.Collection;

/**
 * The built-in DL4J layers TransCNN is made of, configured as PyTorch computes them (NCHW, symmetric padding,
 * BatchNorm eps 1e-5 and momentum 0.1, Dropout2d as spatial dropout). Package-private building kit of the blocks.
 */
final class Layers {

    private Layers() {
    }

    /** Conv2d(nIn, nOut, k, stride, padding (k-1)/2), PyTorch semantics, as one GEMM (1x1 stride-1: no patches). */
    static ConvolutionLayer conv(int nIn, int nOut, int kernel, int stride, boolean bias) {
        if (kernel == 1 && stride == 1) {
            return PointwiseConv.of(nIn, nOut, bias);
        }
        return GemmConv.of(nIn, nOut, kernel, stride, (kernel - 1) / 2, bias);
    }

    /** Depthwise Conv2d(c, c, k, groups=c, padding (k-1)/2), no bias. */
    static DepthwiseConv depthwise(int channels, int kernel) {
        return DepthwiseConv.of(channels, kernel);
    }

    static BatchNorm batchNorm(int channels) {
        return BatchNorm.of(channels);
    }

    static ActivationLayer activation(IActivation fn) {
        return new ActivationLayer.Builder().activation(fn).build();
    }

    /** size x size pooling, stride size, remainder rows/columns dropped (PyTorch's default floor mode). */
    static SubsamplingLayer pool(PoolingType type, int size) {
        return pool(type, size, ConvolutionMode.Truncate);
    }

    /**
     * size x size pooling, stride size; {@link ConvolutionMode#Same} keeps a partial window at the bottom/right
     * edge (ceil mode; max pooling over the real pixels of that window only).
     */
    static SubsamplingLayer pool(PoolingType type, int size, ConvolutionMode mode) {
        return new SubsamplingLayer.Builder(type)
                .kernelSize(size, size)
                .stride(size, size)
                .convolutionMode(mode)
                .build();
    }

    /** Adds {@code a + b}. */
    static String add(GraphBuilder g, String name, String a, String b) {
        g.addVertex(name, new ElementWiseVertex(ElementWiseVertex.Op.Add), a, b);
        return name;
    }

    /** Adds a PyTorch Dropout2d(rate) after {@code input} when rate &gt; 0; returns the name of the output. */
    static String dropout2d(GraphBuilder g, String name, String input, double rate) {
        if (rate <= 0) {
            return input;
        }
        g.addLayer(name, new DropoutLayer.Builder(new SpatialDropout(1.0 - rate)).build(), input);
        return name;
    }

    /** Adds {@link DropPath} with the given rate after {@code input} when rate &gt; 0; returns the output name. */
    static String dropPath(GraphBuilder g, String name, String input, double rate) {
        if (rate <= 0) {
            return input;
        }
        g.addLayer(name, new DropoutLayer.Builder(new DropPath(rate)).build(), input);
        return name;
    }

    /** Wires a runtime layer of one of this package's layer configurations, as DL4J's own configurations do. */
    static <L extends BaseLayer<?>> L instantiate(L layer, NeuralNetConfiguration conf,
            Collection<TrainingListener> listeners, int index, INDArray paramsView, boolean initializeParams,
            ParamInitializer initializer) {
        layer.setListeners(listeners);
        layer.setIndex(index);
        layer.setParamsViewArray(paramsView);
        layer.setParamTable(initializer.init(conf, paramsView, initializeParams));
        layer.setConf(conf);
        return layer;
    }

    static void requirePositive(int value, String what) {
        if (value <= 0) {
            throw new IllegalArgumentException(what + " must be > 0, got " + value);
        }
    }

    static void requireRate(double rate, String what) {
        if (!(rate >= 0 && rate < 1)) {
            throw new IllegalArgumentException(what + " must be in [0, 1), got " + rate);
        }
    }
}
