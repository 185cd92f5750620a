package org.transcnn.train;

import org.transcnn.data.FashionMnist;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The embedded Fashion-MNIST sample written to a directory once per test JVM, for tests that train on it through an
 * explicit {@code --data} (the default location may hold the full dataset, and an explicit directory without one is
 * an error).
 */
public final class SampleData {

    private static Path dir;

    private SampleData() {
    }

    /** The directory holding the sample's four files; removed when the JVM exits. */
    public static synchronized Path dir() {
        if (dir == null) {
            try {
                Path d = Files.createTempDirectory("fashion-mnist-sample-test");
                FashionMnist.writeSample(d);
                d.toFile().deleteOnExit();
                try (var files = Files.list(d)) {
                    files.forEach(f -> f.toFile().deleteOnExit());
                }
                dir = d;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }
}
