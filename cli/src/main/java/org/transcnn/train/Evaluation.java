package org.transcnn.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.data.ImageDataset;

/** Accuracy and confusion matrix (rows: true class, columns: predicted) of a classifier on a dataset. */
public record Evaluation(double accuracy, long[][] confusion, int count) {

    /** Scores {@code net} (inference mode) on all of {@code data}, placed centred on a {@code size} canvas. */
    public static Evaluation of(ComputationGraph net, ImageDataset data, int size, int batchSize) {
        return of(net, data, size, batchSize, TestTimeAugment.NONE);
    }

    /**
     * Scores {@code net} (inference mode) on all of {@code data}, placed centred on a {@code size} canvas: each image
     * is classified by the highest class probability of its own view ({@link TestTimeAugment#NONE}) or the mean
     * probability of it and its mirror ({@link TestTimeAugment#FLIP}).
     */
    public static Evaluation of(ComputationGraph net, ImageDataset data, int size, int batchSize,
            TestTimeAugment tta) {
        Batches batches = new Batches(data, size);
        int[] idx = new int[data.count()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        long[][] confusion = new long[data.classes()][data.classes()];
        long correct = 0;
        for (int from = 0; from < idx.length; from += batchSize) {
            int to = Math.min(idx.length, from + batchSize);
            INDArray x = batches.batch(idx, from, to, Augment.NONE, null, 0).getFeatures(0);
            INDArray predicted = probabilities(net, x, tta).argMax(1);
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

    /**
     * The class probabilities [N, classes] of the images {@code x} [N, C, H, W] (inference mode): the network's own,
     * or with {@link TestTimeAugment#FLIP} the mean of those of the images and of their mirrors.
     */
    public static INDArray probabilities(ComputationGraph net, INDArray x, TestTimeAugment tta) {
        // a copy: outputSingle's array may be reused by the next call
        INDArray p = net.outputSingle(x).dup();
        if (tta == TestTimeAugment.FLIP) {
            p.addi(net.outputSingle(Batches.mirror(x))).muli(0.5);
        }
        return p;
    }

    /**
     * The confusion matrix as aligned text: one row per true class, led by its index and full name (the column is as
     * wide as the longest, so that no name is cut), and one column per predicted class index.
     */
    public String confusionTable(java.util.List<String> names) {
        if (names.size() != confusion.length) {
            throw new IllegalArgumentException(names.size() + " class names for a " + confusion.length + "-class "
                    + "confusion matrix");
        }
        String header = "true\\pred";
        int width = header.length();
        for (int i = 0; i < confusion.length; i++) {
            width = Math.max(width, (i + " " + names.get(i)).length());
        }
        String label = "%-" + (width + 1) + "s";
        StringBuilder s = new StringBuilder(String.format(label, header));
        for (int j = 0; j < confusion.length; j++) {
            s.append(String.format("%6d", j));
        }
        s.append('\n');
        for (int i = 0; i < confusion.length; i++) {
            s.append(String.format(label, i + " " + names.get(i)));
            for (long v : confusion[i]) {
                s.append(String.format("%6d", v));
            }
            s.append('\n');
        }
        return s.toString();
    }
}
