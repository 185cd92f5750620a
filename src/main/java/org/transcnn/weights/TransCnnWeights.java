package org.transcnn.weights;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transcnn.layers.HMHSA;
import org.transcnn.layers.InvertedResidual;
import org.transcnn.layers.TransCnnBlock;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import org.transcnn.models.VertexNames;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * Official TransCNN weights: builds a model from a PyTorch state_dict checkpoint and loads its tensors, BatchNorm
 * running statistics included.
 *
 * <p>Weight import is a name mapping: the torch key {@code <module>.<param>} goes to the DL4J vertex {@code <module>}
 * (vertex names mirror the official module paths), {@code weight/bias} to {@code W/b} of convolutions and the
 * classifier (depthwise kernels permuted to [kH, kW, C, 1], the classifier transposed) and
 * {@code weight/bias/running_mean/running_var} to {@code gamma/beta/mean/var} of BatchNorm
 * ({@code num_batches_tracked} is ignored).
 *
 * <p>The architecture is inferred from the tensors where they determine it (dims, depths, expansions, kernel sizes,
 * classes, input channels, which stages' blocks have H-MHSA and whether a stage has grid attention); head dim, grid
 * sizes, pooling ratios and the input size come from the defaults passed in (the release defaults unless changed).
 */
public final class TransCnnWeights {

    private static final Logger LOG = LoggerFactory.getLogger(TransCnnWeights.class);
    private static final String CLASSIFIER_WEIGHT = VertexNames.LOGITS + ".weight";
    private static final String CLASSIFIER_PREFIX = VertexNames.LOGITS + ".";
    private static final String STEM_WEIGHT = VertexNames.STEM + ".0.weight";

    private TransCnnWeights() {
    }

    /** Reads {@code file}, infers the architecture over {@code defaults}, builds the network and loads the weights. */
    public static ComputationGraph loadModel(Path file, TransCNN.Builder defaults) throws CheckpointException {
        return init(readChecked(file, defaults), defaults);
    }

    /**
     * Builds the network a checked checkpoint describes, with the non-architectural settings (seed, updater, data
     * type, ...) of {@code settings}, and loads the weights.
     */
    public static ComputationGraph init(Checked checked, TransCNN.Builder settings) {
        ComputationGraph net = settings.config(checked.config()).build().init();
        assign(net, targets(net.getConfiguration()), checked.tensors());
        return net;
    }

    /**
     * Builds a network for fine-tuning, as timm's {@code create_model(name, pretrained=True, num_classes=N,
     * in_chans=C)}: the architecture (dims, depths, ...) comes from the checkpoint, while the number of classes, the
     * input channels and features-only outputs come from {@code builder} (with its seed, updater, input size, drop
     * rates, ...). Every tensor of the checkpoint is checked as {@link #loadModel} checks it, then loaded, except:
     * <ul>
     *   <li>the classifier {@value TransCNN#LOGITS}, when the checkpoint's class count differs from the builder's:
     *   the head keeps its fresh initialisation and a WARN line names both counts; a headless (0 classes) or
     *   features-only builder ignores the checkpoint's classifier;</li>
     *   <li>the stem kernel {@code patch_embed.0.weight} [16, 3, 3, 3] of an RGB checkpoint, when the builder asks
     *   for another channel count C: adapted to [16, C, 3, 3] by {@link #adaptInputConv}.</li>
     * </ul>
     * Freeze parts of the result with {@link TransCNN#freezeStages}.
     */
    public static ComputationGraph loadForFineTuning(Path file, TransCNN.Builder builder) throws CheckpointException {
        TransCNN wanted = builder.build();
        Checked checked = readChecked(file, builder);
        TransCnnConfig found = checked.config();
        int classes = wanted.config().numClasses();
        boolean keepHead = !wanted.isFeaturesOnly() && classes > 0 && classes == found.numClasses();
        if (!wanted.isFeaturesOnly() && classes > 0 && !keepHead) {
            LOG.warn("{}: the checkpoint has {} classes, the model is built for {} classes: the classifier {} is "
                    + "freshly initialised, not loaded", file, found.numClasses(), classes, TransCNN.LOGITS);
        }
        int inChannels = wanted.config().inChannels();
        int stemIn = found.inChannels();
        if (inChannels != stemIn && stemIn != 3) {
            throw new CheckpointException(file, "key '" + STEM_WEIGHT + "' has " + stemIn + " input channel(s); only "
                    + "3-channel (RGB) stems can be adapted to " + inChannels + " channels");
        }
        ComputationGraph net = builder.config(found.toBuilder().numClasses(classes).inChannels(inChannels).build())
                .build().init();
        DataType dt = net.params().dataType();
        assign(net, targets(net.getConfiguration()), key -> {
            if (key.startsWith(CLASSIFIER_PREFIX) && !keepHead) {
                return null;
            }
            INDArray value = checked.tensors().get(key).toINDArray(dt);
            return key.equals(STEM_WEIGHT) && inChannels != stemIn ? adaptInputConv(value, inChannels) : value;
        });
        return net;
    }

    /**
     * timm's {@code adapt_input_conv}: the kernel [O, 3, kH, kW] of a first convolution trained on RGB, for
     * {@code inChannels} input channels. 1 channel: the sum over R, G, B, so that a gray image gives the output the
     * RGB kernel gives on that image repeated to three channels. C &gt; 1 channels (C != 3): the RGB kernels repeated
     * ceil(C/3) times, cut to C and scaled by 3/C, so that the expected response to inputs of unchanged statistics is
     * kept. 3 channels: unchanged.
     *
     * @param weight [O, 3, kH, kW]
     * @return [O, inChannels, kH, kW] (a new array; {@code weight} itself for 3 channels)
     */
    public static INDArray adaptInputConv(INDArray weight, int inChannels) {
        if (weight.rank() != 4 || weight.size(1) != 3) {
            throw new IllegalArgumentException("expected an RGB kernel [O, 3, kH, kW], got "
                    + Arrays.toString(weight.shape()));
        }
        if (inChannels < 1) {
            throw new IllegalArgumentException("inChannels must be >= 1, got " + inChannels);
        }
        if (inChannels == 3) {
            return weight;
        }
        if (inChannels == 1) {
            return weight.sum(true, 1);
        }
        int repeat = (inChannels + 2) / 3;
        INDArray tiled = Nd4j.concat(1, Collections.nCopies(repeat, weight).toArray(new INDArray[0]));
        return tiled.get(NDArrayIndex.all(), NDArrayIndex.interval(0, inChannels), NDArrayIndex.all(),
                NDArrayIndex.all()).mul(3.0 / inChannels);
    }

    /** A checkpoint whose keys and shapes were verified against the architecture it describes. */
    public record Checked(TransCnnConfig config, Map<String, TorchTensor> tensors) {
    }

    /**
     * Reads {@code file}, infers its architecture over {@code defaults} and verifies every key and shape against
     * it, without building a network. NaN and infinite weights are refused, naming the key.
     */
    public static Checked readChecked(Path file, TransCNN.Builder defaults) throws CheckpointException {
        return readChecked(file, defaults, false);
    }

    /**
     * As {@link #readChecked(Path, TransCNN.Builder)}; {@code allowNonFinite} accepts NaN and infinite weights
     * (see {@link TorchCheckpoint#read(Path, boolean)}), for inspecting what a diverged checkpoint computes.
     */
    public static Checked readChecked(Path file, TransCNN.Builder defaults, boolean allowNonFinite)
            throws CheckpointException {
        Map<String, TorchTensor> sd = TorchCheckpoint.read(file, allowNonFinite);
        TransCnnConfig config = inferConfig(file, sd, defaults.architecture());
        check(file, targets(TransCNN.builder(config).build().graphConfiguration()), sd);
        return new Checked(config, sd);
    }

    /**
     * The configuration the checkpoint describes: {@code defaults} with dims, depths, expansions, kernel sizes,
     * classes, input channels, H-MHSA or not and grid-vs-global per stage taken from the tensors (a stage without
     * H-MHSA keeps the default grid size). Only the completed configuration is validated: the defaults alone may not
     * be a valid architecture (a head dim of 24 does not divide the release dims 64/128/256/512, but does divide the
     * checkpoint's 24/48/72/96). {@code defaults} is not changed.
     */
    public static TransCnnConfig inferConfig(Path file, Map<String, TorchTensor> sd, TransCnnConfig.Builder defaults)
            throws CheckpointException {
        int[] dims = new int[4];
        int[] depths = new int[4];
        int[] expansions = new int[4];
        int[] kernels = new int[4];
        // a wrong count of grid sizes is left for the validation of the completed configuration to name
        int[] grids = defaults.currentGridSizes();
        long[] stem = shape(file, sd, STEM_WEIGHT, 4);
        boolean[] attention = new boolean[4];
        for (int s = 0; s < 4; s++) {
            String b0 = VertexNames.block(s, 0) + ".";
            dims[s] = dim(file, sd, b0 + "conv.conv1.0.weight", 1);
            while (sd.containsKey(VertexNames.block(s, depths[s]) + ".conv.conv1.0.weight")) {
                depths[s]++;
            }
            int hidden = dim(file, sd, b0 + "conv.conv1.0.weight", 0);
            if (hidden % dims[s] != 0) {
                throw new CheckpointException(file, "key '" + b0 + "conv.conv1.0.weight': hidden width " + hidden
                        + " is not a multiple of the stage width " + dims[s]);
            }
            expansions[s] = hidden / dims[s];
            kernels[s] = dim(file, sd, b0 + "conv.conv2.0.weight", 2);
            attention[s] = sd.containsKey(b0 + "attn.qkv.weight");
            boolean grid = sd.containsKey(b0 + "attn.grid_norm.weight");
            if (grids.length != 4 || !attention[s]) {
                continue;
            }
            if (!grid) {
                grids[s] = 1;
            } else if (grids[s] == 1) {
                throw new CheckpointException(file, "stage " + (s + 1) + " has grid attention (key '" + b0
                        + "attn.grid_norm.weight') but the grid size given for it is 1: pass the grid sizes the "
                        + "checkpoint was trained with");
            }
        }
        int classes = sd.containsKey(CLASSIFIER_WEIGHT) ? dim(file, sd, CLASSIFIER_WEIGHT, 0) : 0;
        try {
            return defaults.copy().dims(dims).depths(depths).expansions(expansions).kernelSizes(kernels)
                    .gridSizes(grids).numClasses(classes).inChannels((int) stem[1])
                    .attentionStages(IntStream.range(0, 4).filter(s -> attention[s]).toArray()).build();
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file, "the checkpoint's architecture does not fit: " + e.getMessage(), e);
        }
    }

    /**
     * Loads {@code sd} into {@code net}. Every key and shape is checked before any parameter changes: a missing or
     * unexpected key or a wrong shape leaves the network untouched.
     */
    public static void load(Path file, ComputationGraph net, Map<String, TorchTensor> sd) throws CheckpointException {
        Map<String, Target> targets = targets(net.getConfiguration());
        check(file, targets, sd);
        assign(net, targets, sd);
    }

    private static void check(Path file, Map<String, Target> targets, Map<String, TorchTensor> sd)
            throws CheckpointException {
        List<String> missing = new ArrayList<>();
        for (String key : targets.keySet()) {
            if (!sd.containsKey(key) && !key.endsWith(".num_batches_tracked")) {
                missing.add(key);
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException(file, missing.size() + " missing key(s), first '" + missing.get(0) + "'"
                    + (missing.size() > 1 ? " (all: " + missing + ")" : ""));
        }
        TreeSet<String> unexpected = new TreeSet<>(sd.keySet());
        unexpected.removeAll(targets.keySet());
        if (!unexpected.isEmpty()) {
            throw new CheckpointException(file, unexpected.size() + " unexpected key(s), first '"
                    + unexpected.first() + "'" + (unexpected.size() > 1 ? " (all: " + unexpected + ")" : ""));
        }
        for (Map.Entry<String, Target> e : targets.entrySet()) {
            TorchTensor t = sd.get(e.getKey());
            if (t != null && !Arrays.equals(t.shape(), e.getValue().torchShape)) {
                throw new CheckpointException(file, "key '" + e.getKey() + "' has shape " + Arrays.toString(t.shape())
                        + ", expected " + Arrays.toString(e.getValue().torchShape));
            }
        }
    }

    private static void assign(ComputationGraph net, Map<String, Target> targets, Map<String, TorchTensor> sd) {
        DataType dt = net.params().dataType();
        assign(net, targets, key -> sd.get(key).toINDArray(dt));
    }

    /** Assigns {@code values.apply(torchKey)} (in torch layout) to each target; a null value leaves it unchanged. */
    private static void assign(ComputationGraph net, Map<String, Target> targets,
            Function<String, INDArray> values) {
        for (Map.Entry<String, Target> e : targets.entrySet()) {
            Target target = e.getValue();
            if (target.param == null) {
                continue;
            }
            INDArray value = values.apply(e.getKey());
            if (value == null) {
                continue;
            }
            if (target.permute != null) {
                value = value.permute(target.permute);
            }
            INDArray param = net.getParam(target.vertex + "_" + target.param);
            param.assign(value.reshape(param.shape()));
        }
    }

    /** Torch key and shape each parameter of {@code conf} expects, in graph order. */
    public static Map<String, long[]> expectedShapes(ComputationGraphConfiguration conf) {
        Map<String, long[]> out = new LinkedHashMap<>();
        targets(conf).forEach((k, v) -> out.put(k, v.torchShape.clone()));
        return out;
    }

    /**
     * The parameters (or gradients) of a network with configuration {@code conf}, keyed by DL4J parameter key
     * ({@code vertex_param}), converted to official torch keys and layouts; BatchNorm running statistics included.
     */
    public static Map<String, INDArray> toTorch(ComputationGraphConfiguration conf, Map<String, INDArray> dl4j) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, Target> e : targets(conf).entrySet()) {
            Target t = e.getValue();
            INDArray value = t.param == null ? null : dl4j.get(t.vertex + "_" + t.param);
            if (value == null) {
                continue;
            }
            if (t.permute != null) {
                int[] inverse = new int[t.permute.length];
                for (int i = 0; i < inverse.length; i++) {
                    inverse[t.permute[i]] = i;
                }
                long[] dl4jShape = new long[t.permute.length];
                for (int i = 0; i < dl4jShape.length; i++) {
                    dl4jShape[i] = t.torchShape[t.permute[i]];
                }
                value = value.reshape(dl4jShape).permute(inverse);
            }
            out.put(e.getKey(), value.reshape(t.torchShape));
        }
        return out;
    }

    private record Target(String vertex, String param, long[] torchShape, int[] permute) {
    }

    private static Map<String, Target> targets(ComputationGraphConfiguration conf) {
        Map<String, Target> out = new LinkedHashMap<>();
        for (String name : conf.getVertices().keySet()) {
            if (!(conf.getVertices().get(name) instanceof LayerVertex)) {
                continue;
            }
            Layer layer = ((LayerVertex) conf.getVertices().get(name)).getLayerConf().getLayer();
            if (layer instanceof HMHSA) {
                HMHSA a = (HMHSA) layer;
                // a TransCNN block's first half is blocks.s.i.res1 holding attn.* (official blocks.s.i.attn.*)
                String prefix = name.endsWith(TransCnnBlock.RES1)
                        ? name.substring(0, name.length() - TransCnnBlock.RES1.length()) : name;
                for (String key : a.parameterKeys()) {
                    out.put(prefix + "." + HMHSA.torchKey(key), new Target(name, key, a.parameterShape(key), null));
                    if (key.endsWith(".var")) {
                        out.put(prefix + "." + HMHSA.torchKey(key.substring(0, key.length() - ".var".length()))
                                + ".num_batches_tracked", new Target(name, null, new long[] {}, null));
                    }
                }
            } else if (layer instanceof InvertedResidual) {
                InvertedResidual irb = (InvertedResidual) layer;
                for (String key : irb.parameterKeys()) {
                    out.put(name + "." + InvertedResidual.torchKey(key), new Target(name, key,
                            irb.parameterShape(key), null));
                    if (key.endsWith(".var")) {
                        out.put(name + "." + key.substring(0, key.length() - ".var".length())
                                + ".num_batches_tracked", new Target(name, null, new long[] {}, null));
                    }
                }
            } else if (layer instanceof DepthwiseConvolution2D) {
                DepthwiseConvolution2D d = (DepthwiseConvolution2D) layer;
                out.put(name + ".weight", new Target(name, "W", new long[] {d.getNOut(), 1, d.getKernelSize()[0],
                        d.getKernelSize()[1]}, new int[] {2, 3, 0, 1}));
            } else if (layer instanceof ConvolutionLayer) {
                ConvolutionLayer c = (ConvolutionLayer) layer;
                out.put(name + ".weight", new Target(name, "W", new long[] {c.getNOut(), c.getNIn(),
                        c.getKernelSize()[0], c.getKernelSize()[1]}, null));
                if (c.hasBias()) {
                    out.put(name + ".bias", new Target(name, "b", new long[] {c.getNOut()}, null));
                }
            } else if (layer instanceof BatchNormalization) {
                long n = ((BatchNormalization) layer).getNOut();
                out.put(name + ".weight", new Target(name, "gamma", new long[] {n}, null));
                out.put(name + ".bias", new Target(name, "beta", new long[] {n}, null));
                out.put(name + ".running_mean", new Target(name, "mean", new long[] {n}, null));
                out.put(name + ".running_var", new Target(name, "var", new long[] {n}, null));
                out.put(name + ".num_batches_tracked", new Target(name, null, new long[] {}, null));
            } else if (layer instanceof DenseLayer) {
                DenseLayer d = (DenseLayer) layer;
                out.put(name + ".weight", new Target(name, "W", new long[] {d.getNOut(), d.getNIn()},
                        new int[] {1, 0}));
                if (d.hasBias()) {
                    out.put(name + ".bias", new Target(name, "b", new long[] {d.getNOut()}, null));
                }
            }
        }
        return out;
    }

    private static long[] shape(Path file, Map<String, TorchTensor> sd, String key, int rank)
            throws CheckpointException {
        TorchTensor t = sd.get(key);
        if (t == null) {
            throw new CheckpointException(file, "missing key '" + key + "': not a TransCNN checkpoint");
        }
        if (t.shape().length != rank) {
            throw new CheckpointException(file, "key '" + key + "' has shape " + Arrays.toString(t.shape())
                    + ", expected rank " + rank);
        }
        return t.shape();
    }

    /** Size of {@code axis} of the rank-4 tensor {@code key} (rank 2 for the classifier). */
    private static int dim(Path file, Map<String, TorchTensor> sd, String key, int axis) throws CheckpointException {
        long[] s = shape(file, sd, key, key.equals(CLASSIFIER_WEIGHT) ? 2 : 4);
        if (s[axis] < 1 || s[axis] > 1 << 20) {
            throw new CheckpointException(file, "key '" + key + "' has implausible shape " + Arrays.toString(s));
        }
        return (int) s[axis];
    }
}
