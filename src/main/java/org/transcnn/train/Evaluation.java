package org.transcnn.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.transcnn.data.ImageDataset;

/** Accuracy and confusion matrix (rows: true class, columns: predicted) of a classifier on a dataset. */
public record Evaluation(double accuracy, long[][] confusion, int count) {

    /** Scores {@code net} (inference mode) on all of {@code data}, placed centred on a {@code size} canvas. */
    public static Evaluation of(ComputationGraph net, ImageDataset data, int size, int batchSize) {
        Batches batches = new Batches(data, size);
        int[] idx = new int[data.count()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        long[][] confusion = new long[data.classes()][data.classes()];
        long correct = 0;
        for (int from = 0; from < idx.length; from += batchSize) {
            int to = Math.min(idx.length, from + batchSize);
            MultiDataSet b = batches.batch(idx, from, to, Augment.NONE, null, 0);
            INDArray predicted = net.outputSingle(b.getFeatures(0)).argMax(1);
            for (int i = from; i < to; i++) {
                int truth = data.label(i);
                int guess = predicted.getInt(i - from);
                confusion[truth][guess]++;
                if (truth == guess) {
                    correct++;
                }
            }
        }
        return new Evaluation((double) correct / Math.max(1, idx.length), confusion, idx.length);
    }

    /** The confusion matrix as aligned text with class names. */
    public String confusionTable(java.util.List<String> names) {
        StringBuilder s = new StringBuilder(String.format("%-12s", "true\\pred"));
        for (int j = 0; j < confusion.length; j++) {
            s.append(String.format("%6d", j));
        }
        s.append('\n');
        for (int i = 0; i < confusion.length; i++) {
            s.append(String.format("%-12s", i + " " + abbreviate(names.get(i))));
            for (long v : confusion[i]) {
                s.append(String.format("%6d", v));
            }
            s.append('\n');
        }
        return s.toString();
    }

    private static String abbreviate(String name) {
        return name.length() <= 10 ? name : name.substring(0, 10);
    }
}
