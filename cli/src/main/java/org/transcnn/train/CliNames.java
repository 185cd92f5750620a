package org.transcnn.train;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Command-line spellings of the training options' enum constants: lower case, '-' for '_'. */
final class CliNames {

    private CliNames() {
    }

    /** The spelling of {@code constant}, e.g. shift-flip for SHIFT_FLIP. */
    static String of(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The constant of {@code values} that {@code option} spells {@code name}; refuses anything else, naming the
     * choices: "OPTION must be one of A, B, got 'NAME'".
     */
    static <E extends Enum<E>> E parse(E[] values, Function<E, String> spelling, String option, String name) {
        for (E e : values) {
            if (spelling.apply(e).equals(name)) {
                return e;
            }
        }
        throw new IllegalArgumentException(option + " must be one of " + Arrays.stream(values).map(spelling)
                .collect(Collectors.joining(", ")) + ", got '" + name + "'");
    }
}
