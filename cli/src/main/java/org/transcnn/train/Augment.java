package org.transcnn.train;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Training-time augmentation of the Fashion-MNIST images on their canvas. */
public enum Augment {
    /** Centred, as for evaluation. */
    NONE,
    /** Centred and mirrored left-right with probability 1/2. */
    FLIP,
    /** At a uniformly random offset on the canvas (up to 2 pixels each way from the centre at 32x32) and mirrored. */
    SHIFT_FLIP;

    /** The command-line spelling: none, flip, shift-flip. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Parses a command-line spelling; refuses anything else, naming the choices. */
    public static Augment of(String name) {
        for (Augment a : values()) {
            if (a.cliName().equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("--augment must be one of " + Arrays.stream(values())
                .map(Augment::cliName).collect(Collectors.joining(", ")) + ", got '" + name + "'");
    }
}
