package org.transcnn.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; MIT licence): 60,000 training and 10,000 test images, 28x28
 * grayscale, 10 classes. Read from the four standard IDX {@code .gz} files in a directory (Debian's
 * {@code dataset-fashion-mnist} installs them in {@link #DEFAULT_DIR}), or from the sample embedded in this library
 * (the first 3,000 training and 1,000 test images) when none is found.
 */
public record FashionMnist(ImageDataset train, ImageDataset test, String source) {

    public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    static final String TRAIN_IMAGES = "train-images-idx3-ubyte.gz";
    static final String TRAIN_LABELS = "train-labels-idx1-ubyte.gz";
    static final String TEST_IMAGES = "t10k-images-idx3-ubyte.gz";
    static final String TEST_LABELS = "t10k-labels-idx1-ubyte.gz";
    static final String SAMPLE = "/org/transcnn/data/fashion-mnist-sample/";

    /** True when {@code dir} holds the four files. */
    public static boolean present(Path dir) {
        return List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS).stream()
                .allMatch(f -> Files.isRegularFile(dir.resolve(f)));
    }

    /** Loads the four files from {@code dir}. */
    public static FashionMnist load(Path dir) throws IOException {
        return new FashionMnist(
                ImageDataset.loadIdx(dir.resolve(TRAIN_IMAGES), dir.resolve(TRAIN_LABELS), CLASSES.size()),
                ImageDataset.loadIdx(dir.resolve(TEST_IMAGES), dir.resolve(TEST_LABELS), CLASSES.size()),
                dir.toString());
    }

    /** The dataset in {@code dir}, or the embedded sample (saying so through {@code say}) when it is not there. */
    public static FashionMnist loadOrSample(Path dir, java.util.function.Consumer<String> say) throws IOException {
        if (present(dir)) {
            return load(dir);
        }
        say.accept("transcnn: no Fashion-MNIST in " + dir + "; using the embedded sample (3,000 training and 1,000 "
                + "test images)");
        return sample();
    }

    /**
     * The dataset a user asked for: with {@code dir} null, the {@link #DEFAULT_DIR default location}, or the embedded
     * sample when that has no dataset (said through {@code say}); an explicit {@code dir} must hold the four files,
     * since silently training or scoring on 3,000 sample images instead of the data the user named would give
     * numbers that look valid and are not.
     *
     * @param option the option that named {@code dir}, for the message (e.g. {@code "--data"})
     * @throws IOException naming {@code dir} and what it lacks when it is given and holds no dataset
     */
    public static FashionMnist open(Path dir, String option, java.util.function.Consumer<String> say)
            throws IOException {
        if (dir == null) {
            return loadOrSample(DEFAULT_DIR, say);
        }
        requirePresent(dir, option);
        return load(dir);
    }

    /**
     * Checks, without reading them, that {@code dir} holds the four files.
     *
     * @throws IOException "OPTION DIR: WHAT IS MISSING", e.g. "--data /x: no such directory, expected ..."
     */
    public static void requirePresent(Path dir, String option) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(option + " " + dir + ": " + (Files.exists(dir) ? "not a directory" : "no such "
                    + "directory") + ", expected a directory with the four Fashion-MNIST .gz files (leave " + option
                    + " out for " + DEFAULT_DIR + " or the embedded sample)");
        }
        List<String> missing = List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS).stream()
                .filter(f -> !Files.isRegularFile(dir.resolve(f))).toList();
        if (!missing.isEmpty()) {
            throw new IOException(option + " " + dir + ": no Fashion-MNIST there (missing " + String.join(", ",
                    missing) + "); leave " + option + " out for " + DEFAULT_DIR + " or the embedded sample");
        }
    }

    /**
     * Writes the four files of the embedded sample into {@code dir} (created if absent), so that it can be named
     * like any dataset directory.
     */
    public static void writeSample(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (String f : List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)) {
            try (InputStream in = FashionMnist.class.getResourceAsStream(SAMPLE + f)) {
                if (in == null) {
                    throw new IOException("embedded Fashion-MNIST sample is missing " + f);
                }
                Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The embedded sample (3,000 training and 1,000 test images of the original sets). */
    public static FashionMnist sample() {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("fashion-mnist-sample");
            writeSample(dir);
            FashionMnist s = load(dir);
            return new FashionMnist(s.train(), s.test(), "embedded sample");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (dir != null) {
                for (String f : List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)) {
                    dir.resolve(f).toFile().delete();
                }
                dir.toFile().delete();
            }
        }
    }
}
