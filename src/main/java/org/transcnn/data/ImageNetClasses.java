package org.transcnn.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The 1000 ImageNet-1k class names in class-index order (index i = logit i of an ImageNet classifier), shipped as
 * the resource {@code org/transcnn/data/imagenet-classes.txt}: torchvision's {@code _IMAGENET_CATEGORIES}
 * (BSD-3-Clause, see {@code imagenet-classes.LICENSE} next to it). No network access.
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
