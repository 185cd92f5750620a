package org.transcnn.train;

import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.transcnn.models.TransCNN;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Training loss, training accuracy and the progress bar of one epoch, from DL4J's listener calls. Thread-safe, so
 * one meter serves a single model and all the workers of a {@code ParallelWrapper} alike: each fitted batch is
 * recognised by its feature array (the model's input), whose labels {@link EpochBatches} registered.
 */
final class EpochMeter extends BaseTrainingListener {

    private final Map<INDArray, INDArray> labels = Collections.synchronizedMap(new IdentityHashMap<>());
    private ProgressBar bar;
    private long start;
    private double lossSum;
    private long correct;
    private long seen;

    /** Starts an epoch: counts from zero and reports to {@code progress}. */
    synchronized void start(ProgressBar progress) {
        bar = progress;
        start = System.nanoTime();
        lossSum = 0;
        correct = 0;
        seen = 0;
        labels.clear();
    }

    void expect(MultiDataSet batch) {
        labels.put(batch.getFeatures(0), batch.getLabels(0));
    }

    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        INDArray logits = activations.get(TransCNN.LOGITS);
        INDArray y = labelsOf(model);
        if (logits != null && y != null) {
            long hits = logits.argMax(1).eq(y.argMax(1)).castTo(DataType.INT).sumNumber().longValue();
            synchronized (this) {
                correct += hits;
            }
        }
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        INDArray y = labelsOf(model);
        if (y == null) {
            throw new IllegalStateException("the model fitted a batch that was not made by EpochBatches");
        }
        labels.remove(((ComputationGraph) model).getInputs()[0]);
        ComputationGraph net = (ComputationGraph) model;
        double loss = net.score(); // DecoupledWeightDecay adds nothing to the score: this is the data loss
        long n = y.size(0);
        synchronized (this) {
            lossSum += loss * n;
            seen += n;
            double secs = (System.nanoTime() - start) / 1e9;
            bar.step();
            bar.setExtraMessage(String.format(" loss %.3f acc %.3f %.0f img/s", lossSum / seen,
                    (double) correct / seen, seen / secs));
        }
    }

    private INDArray labelsOf(Model model) {
        INDArray[] inputs = ((ComputationGraph) model).getInputs();
        return inputs == null || inputs.length == 0 ? null : labels.get(inputs[0]);
    }

    synchronized double meanLoss() {
        return lossSum / seen;
    }

    synchronized double accuracy() {
        return (double) correct / seen;
    }

    synchronized long seen() {
        return seen;
    }
}
