package org.transcnn.models;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.util.ComputationGraphUtil;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.transcnn.layers.FusedBlock;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * Precise BatchNorm (as fvcore's {@code update_bn_stats}, "PreciseBN"): re-estimates the BatchNorm running statistics
 * of a graph from its current weights, so that inference-mode outputs match what the network was trained to do.
 *
 * <p>Why: during training each BatchNorm normalises with the statistics of its batch and moves its running
 * statistics only a little (PyTorch momentum 0.1) towards them, while the weights that produce its input keep
 * changing. After a short run, or after large learning-rate steps, the running statistics still describe inputs of
 * earlier weights (in a one-epoch Fashion-MNIST run running variances were still near their initial 1 where the batch
 * variances were 1e-3 to 1e-5), and the inference-mode network scores far below its training-mode accuracy, down to
 * predicting one class for every image.
 *
 * <p>What: for up to {@code images} images from the given batches, in order, each batch runs one training-mode
 * forward and backward pass with the current weights (DL4J's {@link ComputationGraph#computeGradientAndScore}: no
 * update is applied). Each BatchNorm's running mean becomes the plain average over the batches of its batch means,
 * and its running variance the average of the batch variances its own update rule moves towards: the unbiased
 * batch variance for this library's layers (stand-alone {@link org.transcnn.layers.BatchNorm} and the norms inside
 * the fused {@link org.transcnn.layers.InvertedResidual} and {@link org.transcnn.layers.HMHSA} blocks), as in
 * PyTorch, and the biased one for DL4J's own {@link BatchNormalization} (with {@code useLogStd(false)}). Every batch
 * counts the same, as in fvcore: give batches of the training batch size, since batch statistics depend on it. The
 * last batch is cut to what is left of {@code images}.
 *
 * <p>How, without knowing how each layer computes its statistics: every BatchNorm of the library (and DL4J's) hands
 * its running-statistics update to the updater as a "gradient" {@code (1 - decay) (running - batch)} of its running
 * statistic parameter, which a NoOp updater subtracts during {@code fit}. With the running statistics set to 0 for
 * the duration (a training-mode pass does not read them), that gradient is {@code -(1 - decay) batch}, so each batch
 * statistic is read from the gradient exactly (to float rounding) rather than from a difference of large values.
 * The weights are never updated; they, the updater state (Adam's moments), the iteration and epoch counts and the
 * listeners are left as they were. Training-mode passes draw dropout and drop-path masks from ND4J's random
 * generator, as training does: seed it first ({@code Nd4j.getRandom().setSeed}) for a reproducible result. The
 * graph's last score ({@link ComputationGraph#score()}) is that of the last batch here.
 *
 * <p>Not re-estimated: norms inside frozen layers ({@link org.transcnn.models.TransCNN#freezeStages}: they run in
 * inference mode and never update their statistics). Refused, before anything changes: DL4J BatchNormalization
 * layers with {@code useLogStd(true)} (DL4J's default: the parameter is log10 of the standard deviation, updated by
 * a ratio this class does not invert) and a decay of 1 (statistics that never move); graphs whose outputs are not
 * output layers (the backward pass needs a loss), for example {@code featuresOnly} backbones.
 */
public final class PreciseBatchNorm {

    private PreciseBatchNorm() {
    }

    /**
     * What a call re-estimated.
     *
     * @param images the images the statistics were averaged over (fewer than asked when the batches ran out)
     * @param batches the training-mode passes, each weighted equally
     * @param norms the re-estimated BatchNorms, as {@code vertex} (stand-alone) or {@code vertex/module}
     *              ({@code blocks.0.0/conv.conv1.1}) in graph order
     */
    public record Result(int images, int batches, List<String> norms) {
        public Result {
            norms = List.copyOf(norms);
        }
    }

    /** One BatchNorm's running statistics: the gradient keys to read and the parameters to set. */
    private record Norm(String name, String vertex, String meanKey, String varKey, double decay) {
    }

    /**
     * Re-estimates the running statistics of {@code net} from up to {@code images} images of {@code batches}
     * (features and labels; the labels only let the backward pass run and do not change the statistics).
     *
     * @throws IllegalArgumentException if {@code images} is below 1, the batches hold no image, or the graph holds
     *                                  a BatchNorm this class cannot re-estimate or has no loss (see the class
     *                                  javadoc); the graph is then unchanged
     */
    public static Result recompute(ComputationGraph net, Iterator<? extends MultiDataSet> batches, int images) {
        Objects.requireNonNull(batches, "batches");
        List<Norm> norms = norms(net, images);
        return run(net, norms, images, batches::hasNext, () -> batches.next());
    }

    /** As {@link #recompute(ComputationGraph, Iterator, int)}, for a graph with one input and one output. */
    public static Result recompute(ComputationGraph net, DataSetIterator batches, int images) {
        Objects.requireNonNull(batches, "batches");
        List<Norm> norms = norms(net, images);
        return run(net, norms, images, batches::hasNext, () -> {
            DataSet d = batches.next();
            return ComputationGraphUtil.toMultiDataSet(d);
        });
    }

    /**
     * As {@link #recompute(ComputationGraph, Iterator, int)} for a graph with one input, from feature batches only:
     * the backward pass runs against all-zero labels of the shape of the graph's outputs (one inference pass per
     * batch finds it), which do not change the statistics.
     */
    public static Result recompute(ComputationGraph net, Iterable<INDArray> featureBatches, int images) {
        Objects.requireNonNull(featureBatches, "featureBatches");
        List<Norm> norms = norms(net, images);
        Iterator<INDArray> it = featureBatches.iterator();
        return run(net, norms, images, it::hasNext, () -> {
            INDArray x = it.next();
            INDArray[] out = net.output(false, x);
            INDArray[] labels = new INDArray[out.length];
            for (int i = 0; i < out.length; i++) {
                labels[i] = Nd4j.zeros(out[i].dataType(), out[i].shape());
            }
            return new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {x}, labels);
        });
    }

    /** The graph's BatchNorms, checked; refuses what cannot be re-estimated before anything changes. */
    private static List<Norm> norms(ComputationGraph net, int images) {
        Objects.requireNonNull(net, "net");
        if (images < 1) {
            throw new IllegalArgumentException("PreciseBatchNorm: images " + images + ": expected at least 1");
        }
        if (net.getLayers() == null) {
            throw new IllegalArgumentException("PreciseBatchNorm: the graph is not initialised (call init() first)");
        }
        for (String out : net.getConfiguration().getNetworkOutputs()) {
            GraphVertex v = net.getConfiguration().getVertices().get(out);
            if (!(v instanceof LayerVertex) || !(net.getLayer(out) instanceof IOutputLayer)) {
                throw new IllegalArgumentException("PreciseBatchNorm: output " + out + " of the graph is not an output "
                        + "layer (" + (v == null ? "none" : v.getClass().getSimpleName()) + "): the statistics are "
                        + "read from a backward pass, which needs a loss; add an output layer (e.g. a loss layer) to "
                        + "re-estimate them");
            }
        }
        List<Norm> norms = new ArrayList<>();
        for (Layer layer : net.getLayers()) {
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            String vertex = conf.getLayerName();
            if (conf instanceof FrozenLayer || conf instanceof FrozenLayerWithBackprop) {
                continue;
            }
            if (conf instanceof BatchNormalization) {
                BatchNormalization bn = (BatchNormalization) conf;
                if (bn.isUseLogStd()) {
                    throw new IllegalArgumentException("PreciseBatchNorm: " + vertex + " is a DL4J "
                            + "BatchNormalization with useLogStd(true) (a running log10 standard deviation); only "
                            + "running variances can be re-estimated: build it with useLogStd(false), or use "
                            + "org.transcnn.layers.BatchNorm");
                }
                norms.add(norm(vertex, vertex, BatchNormalizationParamInitializer.GLOBAL_MEAN,
                        BatchNormalizationParamInitializer.GLOBAL_VAR, bn.getDecay()));
            } else if (conf instanceof FusedBlock) {
                FusedBlock block = (FusedBlock) conf;
                List<String> keys = block.runningStatisticKeys();
                for (int i = 0; i < keys.size(); i += 2) {
                    String mean = keys.get(i);
                    String module = mean.substring(0, mean.length() - ".mean".length());
                    norms.add(norm(vertex + "/" + module, vertex, mean, keys.get(i + 1), block.getDecay()));
                }
            }
        }
        return norms;
    }

    private static Norm norm(String name, String vertex, String meanKey, String varKey, double decay) {
        if (!(decay >= 0 && decay < 1)) {
            throw new IllegalArgumentException("PreciseBatchNorm: " + name + " has decay " + decay + ": expected at "
                    + "least 0 and below 1 (with decay 1 the running statistics never move)");
        }
        return new Norm(name, vertex, meanKey, varKey, decay);
    }

    private interface Source {
        MultiDataSet next();
    }

    private static Result run(ComputationGraph net, List<Norm> norms, int images,
            java.util.function.BooleanSupplier hasNext, Source source) {
        List<String> names = norms.stream().map(Norm::name).toList();
        if (norms.isEmpty()) {
            return new Result(0, 0, names);
        }
        List<INDArray[]> original = new ArrayList<>();
        for (Norm n : norms) {
            original.add(new INDArray[] {param(net, n, n.meanKey).dup(), param(net, n, n.varKey).dup()});
        }
        List<TrainingListener> listeners = net.getListeners() == null ? new ArrayList<>()
                : new ArrayList<>(net.getListeners());
        double[][] sumMean = new double[norms.size()][];
        double[][] sumVar = new double[norms.size()][];
        int seen = 0;
        int passes = 0;
        boolean done = false;
        net.setListeners(new ArrayList<>());
        try {
            for (Norm n : norms) {
                param(net, n, n.meanKey).assign(0);
                param(net, n, n.varKey).assign(0);
            }
            while (seen < images && hasNext.getAsBoolean()) {
                MultiDataSet batch = source.next();
                long size = batch.getFeatures(0).size(0);
                if (size == 0) {
                    continue;
                }
                if (seen + size > images) {
                    size = images - seen;
                    batch = head(batch, size);
                }
                net.setInputs(batch.getFeatures());
                net.setLabels(batch.getLabels());
                net.setLayerMaskArrays(batch.getFeaturesMaskArrays(), batch.getLabelsMaskArrays());
                net.computeGradientAndScore();
                Gradient g = net.gradient();
                for (int i = 0; i < norms.size(); i++) {
                    Norm n = norms.get(i);
                    sumMean[i] = add(sumMean[i], batchStatistic(g, n, n.meanKey));
                    sumVar[i] = add(sumVar[i], batchStatistic(g, n, n.varKey));
                }
                seen += (int) size;
                passes++;
            }
            if (passes == 0) {
                throw new IllegalArgumentException("PreciseBatchNorm: the batches hold no image");
            }
            for (int i = 0; i < norms.size(); i++) {
                Norm n = norms.get(i);
                set(param(net, n, n.meanKey), sumMean[i], passes);
                set(param(net, n, n.varKey), sumVar[i], passes);
            }
            done = true;
        } finally {
            if (!done) {
                for (int i = 0; i < norms.size(); i++) {
                    Norm n = norms.get(i);
                    param(net, n, n.meanKey).assign(original.get(i)[0]);
                    param(net, n, n.varKey).assign(original.get(i)[1]);
                }
            }
            net.clearLayersStates();
            net.setListeners(listeners);
        }
        return new Result(seen, passes, names);
    }

    private static INDArray param(ComputationGraph net, Norm n, String key) {
        return net.getLayer(n.vertex).getParam(key);
    }

    /** The batch statistic behind {@code key}'s update {@code -(1 - decay) batch} (the running value being 0). */
    private static double[] batchStatistic(Gradient g, Norm n, String key) {
        INDArray step = g.getGradientFor(n.vertex + "_" + key);
        if (step == null) {
            throw new IllegalStateException("PreciseBatchNorm: the backward pass gave no running-statistics update "
                    + "for " + n.name + " (" + n.vertex + "_" + key + ")");
        }
        double[] v = step.castTo(DataType.DOUBLE).dup().data().asDouble();
        for (int c = 0; c < v.length; c++) {
            v[c] = -v[c] / (1 - n.decay);
        }
        return v;
    }

    private static double[] add(double[] sum, double[] v) {
        if (sum == null) {
            return v;
        }
        for (int c = 0; c < v.length; c++) {
            sum[c] += v[c];
        }
        return sum;
    }

    private static void set(INDArray param, double[] sum, int passes) {
        double[] avg = new double[sum.length];
        for (int c = 0; c < avg.length; c++) {
            avg[c] = sum[c] / passes;
        }
        param.assign(Nd4j.create(avg, param.shape(), DataType.DOUBLE).castTo(param.dataType()));
    }

    /** The first {@code n} examples of {@code batch}. */
    private static MultiDataSet head(MultiDataSet batch, long n) {
        return new org.nd4j.linalg.dataset.MultiDataSet(head(batch.getFeatures(), n), head(batch.getLabels(), n),
                head(batch.getFeaturesMaskArrays(), n), head(batch.getLabelsMaskArrays(), n));
    }

    private static INDArray[] head(INDArray[] arrays, long n) {
        if (arrays == null) {
            return null;
        }
        INDArray[] out = new INDArray[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            INDArray a = arrays[i];
            if (a == null) {
                continue;
            }
            INDArrayIndex[] idx = new INDArrayIndex[a.rank()];
            idx[0] = NDArrayIndex.interval(0, n);
            for (int d = 1; d < idx.length; d++) {
                idx[d] = NDArrayIndex.all();
            }
            out[i] = a.get(idx).dup('c');
        }
        return out;
    }
}
