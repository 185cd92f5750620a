package org.transcnn.data;

import org.transcnn.io.RegularFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The 1000 ImageNet-1k class names in class-index order (index i = logit i of an ImageNet classifier), shipped as
 * the resource {@code org/transcnn/data/imagenet-classes.txt}: torchvision's {@code _IMAGENET_CATEGORIES}
 * (BSD-3-Clause, see {@code imagenet-classes.LICENSE} next to it). No network access. {@link #read} reads a user's
 * own list of names ({@code --labels}).
 */
public final class ImageNetClasses {

    /** Number of ImageNet-1k classes. */
    public static final int COUNT = 1000;
    private static final String RESOURCE = "imagenet-classes.txt";

    private ImageNetClasses() {
    }

    private static final class Holder {
        static final List<String> NAMES = load();
    }

    /** The class names, index order; an immutable list of exactly {@value #COUNT} entries. */
    public static List<String> names() {
        return Holder.NAMES;
    }

    /** Largest {@code --labels} file read: 21,843 ImageNet-21k names take about 0.5 MB. */
    static final long MAX_LABELS_BYTES = 16L << 20;

    /**
     * Reads class names from {@code file}, one per line in class order (UTF-8; trailing blank lines ignored), and
     * checks that there is one per class. The file must be a regular file (a FIFO would block the read forever) of
     * at most 16 MiB.
     *
     * @param role    what the file is, for the messages, e.g. {@code "--labels"}
     * @param classes the number of classes the names are for
     * @throws IOException naming the file when it is missing, not a regular file, too large, not UTF-8 text or
     *                     holds another number of names
     */
    public static List<String> read(Path file, String role, int classes) throws IOException {
        RegularFiles.require(file, role);
        long size = Files.size(file);
        if (size > MAX_LABELS_BYTES) {
            throw new IOException(role + " " + file + ": " + size + " bytes, expected at most " + MAX_LABELS_BYTES
                    + " for a list of class names");
        }
        List<String> lines;
        try {
            lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        } catch (CharacterCodingException e) {
            throw new IOException(role + " " + file + ": not UTF-8 text (" + e + ")", e);
        }
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) {
            lines.remove(lines.size() - 1);
        }
        if (lines.size() != classes) {
            throw new IOException(role + " " + file + " has " + lines.size() + " names, the model has " + classes
                    + " classes");
        }
        return List.copyOf(lines);
    }

    private static List<String> load() {
        try (InputStream in = ImageNetClasses.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource org/transcnn/data/" + RESOURCE + " is missing from the jar");
            }
            List<String> names = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines()
                    .toList();
            if (names.size() != COUNT || names.stream().anyMatch(String::isBlank)) {
                throw new IllegalStateException("resource org/transcnn/data/" + RESOURCE + " has " + names.size()
                        + " lines (blank ones included), expected " + COUNT + " class names");
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
