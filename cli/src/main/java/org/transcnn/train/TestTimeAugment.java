package org.transcnn.train;

/**
 * Test-time augmentation of an evaluation: which views of each test image the network classifies, its prediction
 * being the class of the highest mean probability over them.
 *
 * <p>Mirroring pays only for a network trained on mirrored images ({@link Augment#FLIP}, {@link Augment#SHIFT_FLIP}):
 * one that never saw any misclassifies many more mirrored test images than originals, so averaging with them lowers
 * its accuracy (measured in docs/training.md).
 */
public enum TestTimeAugment {
    /** The centred image only. */
    NONE,
    /** The centred image and its left-right mirror. */
    FLIP;

    /** The command-line spelling: none, flip. */
    public String cliName() {
        return CliNames.of(this);
    }

    /** What a run evaluates with by default: the mirror when it trains on mirrored images, else none. */
    public static TestTimeAugment defaultFor(Augment augment) {
        return augment == Augment.NONE ? NONE : FLIP;
    }

    /** Parses a command-line spelling for {@code option}; refuses anything else, naming the choices. */
    public static TestTimeAugment of(String name, String option) {
        return CliNames.parse(values(), TestTimeAugment::cliName, option, name);
    }
}
