package org.transcnn.layers;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.layers.runtime.InvertedResidualLayer;
import org.transcnn.layers.runtime.InvertedResidualLayer;
import org.transcnn.layers.runtime.InvertedResidualParams;
import org.transcnn.layers.runtime.InvertedResidualParams;

import java.util.Collection;
import java.util.List;

/**
 * Inverted residual bottleneck (IRB) of TransCNN, the official {@code blocks.s.i.conv}, as one DL4J layer:
 * [B, C, H, W] -&gt; [B, C, H, W], any H and W.
 *
 * <pre>
 * conv1: Conv1x1(C -&gt; eC, no bias) BN SiLU
 * conv2: depthwise Conv kxk(eC, pad (k-1)/2, no bias) BN SiLU, Dropout2d(dropRate)
 * conv3: Conv1x1(eC -&gt; C, no bias) BN, Dropout2d(dropRate)
 * </pre>
 * {@link #withResidual} makes it the official block's second half, {@code x + DropPath(IRB(x))}, as TransCNN's blocks
 * use it. BatchNorm as PyTorch's BatchNorm2d (eps {@value BatchNorm#EPS}, momentum 0.1): batch statistics and the
 * running-statistics update in training, running statistics in inference; Dropout2d and drop path in training only
 * (their masks drawn as DL4J's SpatialDropout and this library's {@link DropPath} draw theirs).
 *
 * <p>Add it to any ComputationGraph with one call, {@code g.addLayer("irb", new InvertedResidual(64, 4, 3, 0,
 * new ActivationSwish()), "in")}. Parameters (keys as the official module's, {@code running_mean} and
 * {@code running_var} shortened to DL4J's {@code mean} and {@code var}: DL4J parameter keys cannot hold an
 * underscore), in this order in the layer's parameter view:
 * <pre>
 * conv1.0.weight [eC, C, 1, 1]   conv1.1.weight, conv1.1.bias [eC]
 * conv2.0.weight [eC, 1, k, k]   conv2.1.weight, conv2.1.bias [eC]
 * conv3.0.weight [C, eC, 1, 1]   conv3.1.weight, conv3.1.bias [C]
 * conv1.1.mean, conv1.1.var [eC]  conv2.1.mean, conv2.1.var [eC]  conv3.1.mean, conv3.1.var [C]
 * </pre>
 * With the residual the layer stands for the official block ({@code blocks.s.i}, the name TransCNN gives it) and its
 * keys carry the official sub-module's prefix: {@code conv.conv1.0.weight} ... (so an official key is always the
 * layer's name, a dot and the parameter key). Torch layouts, so importing official weights is a copy per key. The
 * running statistics come last so that the trained parameters form one block for the updater; they are updated
 * like DL4J's BatchNormalization's, as a "gradient" under a NoOp updater. Weight decay applies to the three
 * convolution weights only.
 *
 * <p>Why one layer, not eight (plus the drop path and the sum): the fused runtime ({@link InvertedResidualLayer})
 * keeps eC + C values per pixel for the backward pass instead of 6eC + 3C and copies each map once into and out of
 * Java instead of at every stage. Why a hand-written DL4J layer rather than a SameDiff layer: M2.1's SameDiff layers
 * have no training flag (so no BatchNorm state) and two gradient bugs (see {@code SameDiffWorkaroundTest}).
 *
 * <p>Models saved before this layer existed hold the IRB as separate vertices ({@code .conv1.0} .. {@code .conv3.1},
 * {@code .conv.drop_path} and the block's sum); {@link LegacyBlocks} converts them on load.
 */
public class InvertedResidual extends FusedBlock {

    /** Parameter keys, in the order of the layer's parameter view. */
    public static final String W1 = "conv1.0.weight";
    public static final String G1 = "conv1.1.weight";
    public static final String B1 = "conv1.1.bias";
    public static final String WDW = "conv2.0.weight";
    public static final String G2 = "conv2.1.weight";
    public static final String B2 = "conv2.1.bias";
    public static final String W3 = "conv3.0.weight";
    public static final String G3 = "conv3.1.weight";
    public static final String B3 = "conv3.1.bias";
    public static final String M1 = "conv1.1.mean";
    public static final String V1 = "conv1.1.var";
    public static final String M2 = "conv2.1.mean";
    public static final String V2 = "conv2.1.var";
    public static final String M3 = "conv3.1.mean";
    public static final String V3 = "conv3.1.var";

    private int channels;
    private int hidden;
    private int kernelSize;
    private double dropRate;
    private IActivation activation;
    /** Whether the layer adds its input to its output, {@code x + DropPath(IRB(x))}: the official block's end. */
    private boolean residual;
    private double dropPathRate;
    private double eps = BatchNorm.EPS;
    private double decay = BatchNorm.DECAY;

    /** For JSON deserialisation. */
    public InvertedResidual() {
    }

    /**
     * @param channels   C, input and output channels
     * @param expansion  e, hidden channels = e * C
     * @param kernelSize k, odd depthwise kernel size
     * @param dropRate   Dropout2d rate after the depthwise stage and after conv3, in [0, 1)
     * @param activation SiLU, the official activation, which the fused layer computes; {@link #addTo} composes any
     *                   other from stock layers
     */
    public InvertedResidual(int channels, int expansion, int kernelSize, double dropRate, IActivation activation) {
        Layers.requirePositive(channels, "IRB channels");
        Layers.requirePositive(expansion, "IRB expansion");
        Layers.requirePositive(kernelSize, "IRB kernel size");
        if (kernelSize % 2 == 0) {
            throw new IllegalArgumentException("IRB kernel size must be odd, got " + kernelSize);
        }
        Layers.requireRate(dropRate, "IRB dropRate");
        if (activation == null) {
            throw new IllegalArgumentException("IRB activation must not be null");
        }
        if ((long) channels * expansion > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("IRB hidden width " + channels + " x " + expansion + " is too large");
        }
        this.channels = channels;
        this.hidden = channels * expansion;
        this.kernelSize = kernelSize;
        this.dropRate = dropRate;
        this.activation = activation;
    }

    /**
     * A copy that adds its input to its output, {@code x + DropPath(IRB(x))} with the given drop path rate (per
     * sample, training only), as the official block's second half; its parameter keys then start with
     * {@code conv.}.
     */
    public InvertedResidual withResidual(double dropPathRate) {
        Layers.requireRate(dropPathRate, "IRB drop path rate");
        InvertedResidual copy = clone();
        copy.residual = true;
        copy.dropPathRate = dropPathRate;
        return copy;
    }

    public boolean isResidual() {
        return residual;
    }

    public double getDropPathRate() {
        return dropPathRate;
    }

    /** A copy with other BatchNorm settings (eps, DL4J decay = 1 - PyTorch momentum) for all three norms. */
    public InvertedResidual withNorm(double eps, double decay) {
        if (!(eps > 0) || !(decay >= 0 && decay < 1)) {
            throw new IllegalArgumentException("IRB BatchNorm needs eps > 0 and decay in [0, 1), got " + eps + ", "
                    + decay);
        }
        InvertedResidual copy = clone();
        copy.eps = eps;
        copy.decay = decay;
        return copy;
    }

    /** The parameter keys, in the order of the layer's parameter view ({@code conv.}-prefixed with the residual). */
    public List<String> parameterKeys() {
        return InvertedResidualParams.keys(this);
    }

    /** The key of the parameter {@code base} ({@link #W1} ... {@link #V3}) here: {@code conv.}-prefixed if residual. */
    public String key(String base) {
        return residual ? InvertedResidualParams.PREFIX + base : base;
    }

    /** The torch shape of the parameter {@code key} (one of {@link #parameterKeys()}). */
    public long[] parameterShape(String key) {
        if (!parameterKeys().contains(key)) {
            throw new IllegalArgumentException("IRB has no parameter '" + key + "'; its keys are " + parameterKeys());
        }
        return InvertedResidualParams.shape(this, key);
    }

    /**
     * The official state-dict key suffix of the parameter {@code key}: the same, except the running statistics
     * {@code .mean} and {@code .var}, which are {@code .running_mean} and {@code .running_var} there.
     */
    public static String torchKey(String key) {
        if (key.endsWith(".mean") || key.endsWith(".var")) {
            int dot = key.lastIndexOf('.');
            return key.substring(0, dot) + ".running_" + key.substring(dot + 1);
        }
        return key;
    }

    /** Whether the fused layer computes {@code activation} (SiLU). */
    public static boolean supports(IActivation activation) {
        return activation instanceof ActivationSwish;
    }

    /**
     * Adds the IRB under {@code name}, reading {@code input}; returns the name of its output vertex: {@code name}
     * itself, this layer, when the activation is SiLU; for any other activation the IRB composed of this library's
     * single-operation layers ({@link #addComposed}, without the residual, which the caller then adds).
     */
    public String addTo(GraphBuilder g, String name, String input) {
        if (!supports(activation)) {
            return addComposed(g, name, input);
        }
        g.addLayer(name, clone(), input);
        return name;
    }

    /**
     * The same IRB as eight single-operation layers, as releases up to 0.1.0 built it: vertices {@code .conv1.0} conv,
     * {@code .conv1.1} BN with the activation, likewise {@code .conv2.*}, {@code .conv3.0}, {@code .conv3.1}, and
     * {@code .conv2.drop}, {@code .conv3.drop} when dropRate &gt; 0. Returns the name of its output vertex.
     */
    String addComposed(GraphBuilder g, String prefix, String input) {
        g.addLayer(prefix + ".conv1.0", Layers.conv(channels, hidden, 1, 1, false), input);
        g.addLayer(prefix + ".conv1.1", BatchNorm.of(hidden, activation), prefix + ".conv1.0");
        g.addLayer(prefix + ".conv2.0", Layers.depthwise(hidden, kernelSize), prefix + ".conv1.1");
        g.addLayer(prefix + ".conv2.1", BatchNorm.of(hidden, activation), prefix + ".conv2.0");
        String mid = Layers.dropout2d(g, prefix + ".conv2.drop", prefix + ".conv2.1", dropRate);
        g.addLayer(prefix + ".conv3.0", Layers.conv(hidden, channels, 1, 1, false), mid);
        g.addLayer(prefix + ".conv3.1", Layers.batchNorm(channels), prefix + ".conv3.0");
        return Layers.dropout2d(g, prefix + ".conv3.drop", prefix + ".conv3.1", dropRate);
    }

    /** Trainable parameters (PyTorch count, running statistics excluded): 2*C*h + h*(k^2 + 4) + 2C. */
    public long parameters() {
        return 2L * channels * hidden + (long) hidden * (kernelSize * kernelSize + 4) + 2L * channels;
    }

    /** Multiply-adds per image on maps of {@code pixels} pixels: the two 1x1 convolutions and the depthwise one. */
    public long multiplyAdds(long pixels) {
        return (2L * channels * hidden + (long) hidden * kernelSize * kernelSize) * pixels;
    }

    public int getChannels() {
        return channels;
    }

    public int getHidden() {
        return hidden;
    }

    public int getKernelSize() {
        return kernelSize;
    }

    public double getDropRate() {
        return dropRate;
    }

    public IActivation getActivation() {
        return activation;
    }

    public double getEps() {
        return eps;
    }

    /** DL4J decay of the running statistics (PyTorch momentum = 1 - decay). */
    public double getDecay() {
        return decay;
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
            Collection<TrainingListener> listeners, int layerIndex, INDArray paramsView, boolean initializeParams,
            DataType networkDataType) {
        requireSiLU();
        return Layers.instantiate(new InvertedResidualLayer(conf, networkDataType), conf, listeners, layerIndex,
                paramsView, initializeParams, initializer());
    }

    @Override
    public ParamInitializer initializer() {
        return InvertedResidualParams.INSTANCE;
    }

    private void requireSiLU() {
        if (!supports(activation)) {
            throw new IllegalStateException("IRB " + getLayerName() + ": the fused layer computes SiLU only, got "
                    + activation + " (InvertedResidual.addTo composes other activations from stock layers)");
        }
    }

    @Override
    void requireInput(InputType inputType) {
        requireSiLU();
        if (!(inputType instanceof InputType.InputTypeConvolutional)
                || ((InputType.InputTypeConvolutional) inputType).getChannels() != channels) {
            throw new IllegalArgumentException("IRB " + getLayerName() + " expects convolutional input with "
                    + channels + " channels, got " + inputType);
        }
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        InputType.InputTypeConvolutional in = (InputType.InputTypeConvolutional) inputType;
        long pixels = in.getHeight() * in.getWidth();
        long params = initializer().numParams(this);
        return new LayerMemoryReport.Builder(getLayerName(), InvertedResidual.class, inputType, inputType)
                .standardMemory(params, 2 * params)
                .workingMemory(0, (2L * hidden + channels) * pixels, 0, (4L * hidden + 2 * channels) * pixels)
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
    }

    @Override
    public InvertedResidual clone() {
        return (InvertedResidual) super.clone();
    }
}
