package org.transcnn.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.data.ImageDataset;

import java.util.Random;

/**
 * Mini-batches of a grayscale {@link ImageDataset} for a model taking {@code size x size} inputs: each image is placed
 * on a zero canvas (centred for evaluation; for training as {@link Augment} says), normalised with
 * the dataset mean and standard deviation, and paired with one-hot labels (optionally smoothed).
 */
public final class Batches {

    /** Fashion-MNIST pixel mean and standard deviation (of x / 255 over the training set). */
    public static final double MEAN = 0.2860;
    public static final double STD = 0.3530;

    private final ImageDataset data;
    private final int size;

    public Batches(ImageDataset data, int size) {
        if (size < data.rows() || size < data.cols()) {
            throw new IllegalArgumentException("canvas " + size + " is smaller than the images " + data.rows() + "x"
                    + data.cols());
        }
        this.data = data;
        this.size = size;
    }

    /** The order of one training epoch: a permutation of the first {@code count} images, fixed by (seed, epoch). */
    public int[] order(int count, long seed, int epoch) {
        int[] idx = new int[count];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Random r = new Random(seed * 1_000_003L + epoch);
        for (int i = idx.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return idx;
    }

    /**
     * The batch of images {@code idx[from..to)}, augmented as {@code augment} says with the random numbers of
     * {@code random} (unused for {@link Augment#NONE}); {@code smoothing} spreads that much label mass over all
     * classes.
     */
    public MultiDataSet batch(int[] idx, int from, int to, Augment augment, Random random, double smoothing) {
        int n = to - from;
        int rows = data.rows();
        int cols = data.cols();
        int classes = data.classes();
        float[] x = new float[n * size * size];
        float[] y = new float[n * classes];
        float zero = (float) (-MEAN / STD);
        java.util.Arrays.fill(x, zero);
        int centre = (size - rows) / 2;
        int centreC = (size - cols) / 2;
        for (int b = 0; b < n; b++) {
            int i = idx[from + b];
            boolean shift = augment == Augment.SHIFT_FLIP;
            int dr = shift ? random.nextInt(size - rows + 1) : centre;
            int dc = shift ? random.nextInt(size - cols + 1) : centreC;
            boolean flip = augment != Augment.NONE && random.nextBoolean();
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int src = flip ? cols - 1 - c : c;
                    x[(b * size + r + dr) * size + c + dc] = (float) ((data.pixel(i, r, src) / 255.0 - MEAN) / STD);
                }
            }
            for (int k = 0; k < classes; k++) {
                y[b * classes + k] = (float) (smoothing / classes);
            }
            y[b * classes + data.label(i)] += (float) (1 - smoothing);
        }
        INDArray features = Nd4j.create(x, new long[] {n, 1, size, size}, 'c');
        INDArray labels = Nd4j.create(y, new long[] {n, classes}, 'c');
        return new MultiDataSet(features.castTo(DataType.FLOAT), labels);
    }

    /**
     * A copy of the images {@code x} [N, C, H, W] (FLOAT), each mirrored left-right: the view of
     * {@link TestTimeAugment#FLIP}, the same pixels as a batch made with the mirror drawn for every image.
     */
    public static INDArray mirror(INDArray x) {
        if (x.rank() != 4 || x.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("mirror expects FLOAT images [N, C, H, W], got " + x.dataType() + " "
                    + java.util.Arrays.toString(x.shape()));
        }
        float[] v = x.dup('c').data().asFloat();
        int w = (int) x.size(3);
        float[] out = new float[v.length];
        for (int row = 0; row < v.length; row += w) {
            for (int c = 0; c < w; c++) {
                out[row + c] = v[row + w - 1 - c];
            }
        }
        return Nd4j.create(out, x.shape(), 'c');
    }

    public ImageDataset data() {
        return data;
    }
}
