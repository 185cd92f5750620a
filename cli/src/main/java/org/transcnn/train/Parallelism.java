package org.transcnn.train;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How many workers train one model on this machine, and how they combine their work: DL4J's
 * {@code ParallelWrapper} runs {@code workers} copies of the model, each on its own mini-batches, and either
 * averages their parameters and updater state every {@code averagingFrequency} rounds ({@link Mode#AVERAGING}) or
 * exchanges threshold-encoded gradients after every step ({@link Mode#SHARED}). One worker is plain single-model
 * training.
 */
public record Parallelism(int workers, Mode mode, int averagingFrequency) {

    /** How the workers' models are kept together. */
    public enum Mode {
        /** Parameter (and updater-state) averaging every {@code averagingFrequency} rounds. */
        AVERAGING,
        /** Shared gradients: every worker applies every worker's (threshold-encoded) updates. */
        SHARED;

        /** The name used on the command line. */
        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The mode named {@code name} on the command line; a clear error for any other name. */
        public static Mode of(String name) {
            for (Mode m : values()) {
                if (m.cliName().equals(name)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("--parallel-mode " + name + ": must be one of "
                    + Arrays.stream(values()).map(Mode::cliName).collect(Collectors.joining(", ")));
        }
    }

    public Parallelism {
        if (mode == null) {
            throw new IllegalArgumentException("--parallel-mode: a mode is required");
        }
        if (workers < 1) {
            throw new IllegalArgumentException(workersMessage(workers));
        }
        if (averagingFrequency < 1) {
            throw new IllegalArgumentException("--averaging-frequency " + averagingFrequency
                    + ": must be at least 1 (rounds of one batch per worker between two averagings)");
        }
    }

    /** One worker: the plain training loop. */
    public static Parallelism single() {
        return new Parallelism(1, Mode.AVERAGING, 1);
    }

    /** Refuses more workers than {@link #maxWorkers()} (a saved run's count is not checked against this machine). */
    public Parallelism checkedForThisMachine() {
        if (workers > maxWorkers()) {
            throw new IllegalArgumentException(workersMessage(workers));
        }
        return this;
    }

    private static String workersMessage(int workers) {
        return "--workers " + workers + ": must be between 1 and " + maxWorkers()
                + " (one worker per CPU core here; each worker holds its own copy of the model)";
    }

    /** The largest worker count accepted on this machine: its processor count, and at least 2. */
    public static int maxWorkers() {
        return Math.max(2, Runtime.getRuntime().availableProcessors());
    }
}
