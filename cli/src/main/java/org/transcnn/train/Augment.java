package org.transcnn.train;

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
        return CliNames.of(this);
    }

    /** Parses a command-line spelling; refuses anything else, naming the choices. */
    public static Augment of(String name) {
        return CliNames.parse(values(), Augment::cliName, "--augment", name);
    }
}
