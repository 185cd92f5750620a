package org.transcnn.cli;

import org.transcnn.train.Augment;
import org.transcnn.train.Parallelism;
import org.transcnn.train.TestTimeAugment;
import org.transcnn.train.Trainer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code transcnn train}: trains TransCNN on Fashion-MNIST (see {@link Trainer}). A bad option value is a parameter
 * error (exit code 2, one line naming the option, its value and what was expected), checked before anything is
 * read or trained. In the {@code bin/transcnn} process an interruption (SIGTERM, Ctrl-C) waits for a checkpoint being
 * written to be complete and prints how to resume.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train TransCNN on Fashion-MNIST; checkpoints, metrics.json and curves.png go to --out.",
            "A run is deterministic for a seed on one machine and build (same accuracies epoch by epoch, resumed or "
                    + "not); other CPUs or builds may round differently and give slightly different numbers."})
final class TrainCommand implements Callable<Integer> {

    private static final Trainer.Options D = Trainer.Options.defaults();

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "directory with the four Fashion-MNIST .gz files, "
            + "which must be there (default: " + "/usr/share/datasets/fashion-mnist, or the embedded 3,000/1,000-image "
            + "sample when that has none)")
    Path data;

    @Option(names = "--out", description = "output directory (default ${DEFAULT-VALUE})")
    Path out = D.out();

    @Option(names = "--epochs", description = "epochs, at least 1 (default ${DEFAULT-VALUE})")
    int epochs = D.epochs();

    @Option(names = "--batch-size", description = "batch size, at least 1 (default ${DEFAULT-VALUE})")
    int batchSize = D.batchSize();

    @Option(names = "--lr", description = "peak learning rate, above 0 (default ${DEFAULT-VALUE})")
    double lr = D.learningRate();

    @Option(names = "--warmup-epochs", description = "epochs of linear learning-rate warm-up (default "
            + "${DEFAULT-VALUE})")
    int warmupEpochs = D.warmupEpochs();

    @Option(names = "--weight-decay", description = "decoupled weight decay (default ${DEFAULT-VALUE})")
    double weightDecay = D.weightDecay();

    @Option(names = "--label-smoothing", description = "label smoothing, in [0, 1) (default ${DEFAULT-VALUE})")
    double labelSmoothing = D.labelSmoothing();

    @Option(names = "--channels", description = "channels of stage 1, at least 1; stages double it (default 16)")
    Integer channels;

    /** The old name of {@code --channels}, which meant the image width in {@code benchmark} and {@code predict}. */
    @Option(names = "--width", hidden = true)
    Integer deprecatedWidth;

    @Option(names = "--seed", description = "random seed (default ${DEFAULT-VALUE}); the same seed gives the same "
            + "run on the same machine and build")
    long seed = D.seed();

    @Option(names = "--limit", description = "use only the first N training images, shuffled each epoch (default 0: "
            + "all)")
    int limit = D.trainLimit();

    @Option(names = "--augment", description = "training augmentation: none, flip (mirror), shift-flip (random "
            + "offset on the 32x32 canvas and mirror); default ${DEFAULT-VALUE}")
    String augment = D.augment().cliName();

    @Option(names = "--tta", description = "test-time augmentation of every evaluation: none, or flip (the mean "
            + "class probabilities of each test image and its mirror); default flip when --augment mirrors the "
            + "training images, else none")
    String tta;

    @Option(names = "--precise-bn", paramLabel = "IMAGES", description = "before each evaluation and checkpoint, "
            + "re-estimate the BatchNorm running statistics from this many training images (a fixed sample drawn from "
            + "the seed; training-mode passes with the final weights, which stay unchanged), as fvcore's PreciseBN; "
            + "0: keep the running statistics as training left them (default ${DEFAULT-VALUE})")
    int preciseBn = D.preciseBn();

    @Option(names = "--time-budget", paramLabel = "SECONDS", description = "end training after the batch that is "
            + "running when SECONDS (a number above 0) have passed since the command started (JVM start and data "
            + "loading included; a resumed run also counts the time its earlier sessions recorded), then re-estimate "
            + "the BatchNorm statistics, evaluate and save as after an epoch; metrics.json says why the run stopped. "
            + "A run stopped so is complete: --resume has nothing more to do (default: no budget)")
    Double timeBudget;

    @Option(names = "--stem-stride", description = "stride of the stem: 4 (the official stem; stage 1 at 8x8 pixels) "
            + "or 2 (its first convolution at stride 1: stage 1 at 16x16, the same parameters, about 4x the "
            + "multiply-adds); default ${DEFAULT-VALUE}")
    int stemStride = D.stemStride();

    @Option(names = "--ablation", description = "train the same network without H-MHSA (IRB-only blocks); the same "
            + "as --attention-stages none")
    boolean ablation;

    @Option(names = "--attention-stages", paramLabel = "STAGES", description = "the stages whose blocks carry H-MHSA, "
            + "0-based (0 is stage 1, at the largest maps): all, none (the ablation), or indices separated by commas, "
            + "e.g. 0; the other stages' blocks are IRB-only (default: 0, with --ablation none)")
    String attentionStages;

    @Option(names = "--resume", description = "continue the run in --out from its last checkpoint, with the same "
            + "options")
    boolean resume;

    @Option(names = "--workers", description = "models training in parallel on this machine, each on its own batches "
            + "(DL4J ParallelWrapper; default 1)")
    int workers = 1;

    @Option(names = "--parallel-mode", description = "with --workers > 1: averaging (parameters and updater state "
            + "averaged every --averaging-frequency rounds) or shared (shared gradients); default ${DEFAULT-VALUE}")
    String parallelMode = "averaging";

    @Option(names = "--averaging-frequency", description = "rounds (one batch per worker) between two averagings "
            + "(default ${DEFAULT-VALUE})")
    int averagingFrequency = 1;

    /** Whether {@link #call} installs the interruption hook: only in the {@code bin/transcnn} process. */
    static volatile boolean handleInterrupts;

    @Override
    public Integer call() throws Exception {
        PrintStream log = new PrintStream(new WriterOutputStream(spec.commandLine().getErr()), true,
                StandardCharsets.UTF_8);
        Trainer trainer = trainer(log);
        Thread hook = new Thread(() -> {
            String line = trainer.interrupt();
            // on a line of its own: the progress bar may have left its line open
            log.println();
            log.println(line);
            log.flush();
        }, "transcnn-interrupt");
        if (handleInterrupts) {
            Runtime.getRuntime().addShutdownHook(hook);
        }
        try {
            trainer.run();
        } finally {
            log.flush();
            if (handleInterrupts) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running: it prints the resume line itself
                }
            }
        }
        return 0;
    }

    /**
     * When the command started, as a {@link System#nanoTime} value, for {@code --time-budget}: in the
     * {@code bin/transcnn} process the JVM's start (so start-up counts), elsewhere (tests, a host application) now.
     */
    private static long commandStart() {
        long now = System.nanoTime();
        return handleInterrupts ? now - ManagementFactory.getRuntimeMXBean().getUptime() * 1_000_000L : now;
    }

    /** The trainer for these options; a bad value is a parameter error naming the option. */
    private Trainer trainer(PrintStream log) {
        try {
            if (deprecatedWidth != null && channels != null) {
                throw new IllegalArgumentException("--width " + deprecatedWidth + " and --channels " + channels
                        + ": --width is the old name of --channels; give --channels only");
            }
            if (deprecatedWidth != null) {
                log.println("transcnn: train --width is deprecated, use --channels (--width is the image width in "
                        + "benchmark, predict and summary)");
            }
            int width = channels != null ? channels : deprecatedWidth != null ? deprecatedWidth : D.width();
            if (timeBudget != null && !(timeBudget > 0 && timeBudget < Double.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException("--time-budget " + Trainer.Options.number(timeBudget)
                        + ": expected a finite number of seconds above 0");
            }
            // checked here too: the run options read 0 as 4, for checkpoints written before the option existed
            Trainer.Options.checkStemStride(stemStride);
            Parallelism parallel = new Parallelism(workers, Parallelism.Mode.of(parallelMode), averagingFrequency);
            Augment trainAugment = Augment.of(augment);
            List<Integer> stages = attentionStages != null ? Trainer.Options.parseAttentionStages(attentionStages)
                    : ablation ? List.of() : D.attentionStages();
            return new Trainer(new Trainer.Options(data, out, epochs, batchSize, lr, weightDecay, warmupEpochs,
                    labelSmoothing, seed, ablation, resume, width, limit, trainAugment, preciseBn,
                    timeBudget == null ? 0 : timeBudget, stemStride, stages,
                    tta == null ? TestTimeAugment.defaultFor(trainAugment) : TestTimeAugment.of(tta, "--tta")),
                    parallel, log, commandStart());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }
}
