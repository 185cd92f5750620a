package org.transcnn.train;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.SerializationFeature;
import org.transcnn.bench.Benchmark;
import org.transcnn.data.FashionMnist;
import org.transcnn.io.ModelFile;
import org.transcnn.io.OutputFiles;
import org.transcnn.models.ModelSummary;
import org.transcnn.models.PreciseBatchNorm;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Trains and evaluates TransCNN on Fashion-MNIST: Adam with decoupled weight decay, linear warm-up and cosine decay
 * of the learning rate, random shifts and mirroring, label smoothing; the test set is scored after every epoch, with
 * the BatchNorm running statistics first re-estimated from a fixed sample of training images ({@code --precise-bn},
 * {@link PreciseBatchNorm}: short runs otherwise evaluate with statistics that lag far behind the weights). A
 * {@code --time-budget} ends training after the batch during which it runs out, or after the epoch's evaluation;
 * the run is then evaluated and saved as after an epoch, and is complete.
 * After each epoch the model (with updater state) and the run state (options, per-epoch history) are saved together
 * in {@code OUT/model.zip}, replaced atomically, so {@code --resume} continues an interrupted run to the same result
 * as an uninterrupted one (a resume with different options is refused). {@code OUT/metrics.json} and the curves {@code OUT/curves.png} are rewritten after
 * every epoch. With {@link Parallelism} of several workers, DL4J's {@code ParallelWrapper} trains the epochs (same
 * batches, checkpoints, metrics and progress output); such runs cannot be resumed.
 */
public final class Trainer {

    /** Side of the square model input: the 28x28 images sit on a 32x32 canvas (32 = the network's stride). */
    public static final int INPUT_SIZE = 32;
    public static final String MODEL_FILE = "model.zip";
    /** Key of the run state in checkpoints of 0.1.0 (a Java-serialized string, read only through a filter). */
    public static final String STATE_KEY = "transcnn-run-state";
    /**
     * Plain JSON entry {@code transcnn/run-state.json} holding the run state inside the model file, so that weights
     * and state change together.
     */
    public static final String STATE_ENTRY = "run-state.json";
    public static final String METRICS_FILE = "metrics.json";
    public static final String CHART_FILE = "curves.png";

    /**
     * Settings of a run, validated on construction; {@link #defaults()} is the configuration the README reports.
     * Messages name each setting by its {@code transcnn train} option ({@code width} is {@code --channels}).
     *
     * @param data the Fashion-MNIST directory, which must hold the dataset; null for {@link FashionMnist#DEFAULT_DIR}
     *             or, when that has none, the embedded sample (see {@link FashionMnist#open})
     * @param trainLimit the first N training images only; 0 for all of them
     * @param preciseBn training images (a fixed sample drawn from the seed) from which the BatchNorm running
     *                  statistics are re-estimated before every evaluation and checkpoint (see
     *                  {@link PreciseBatchNorm}); 0 for none (as in checkpoints written before it existed)
     * @param timeBudget seconds after which training ends, at the end of the batch then running (counted from
     *                   the trainer's start, see {@link Trainer#Trainer(Options, Parallelism, PrintStream, long)});
     *                   0 for no budget
     * @param stemStride the network's stem stride (see {@link #fashionConfig}): 4 (stage 1 at 8x8) or 2 (stage 1
     *                   at 16x16); 0, as read from checkpoints written before it existed, means 4
     * @param attentionStages the 0-based stages whose blocks carry H-MHSA ({@code --attention-stages}), in any
     *                        order; null (the option not given, or a checkpoint written before it existed) means all
     *                        four, or none with {@code ablation}. Empty means the ablation, and sets {@code ablation};
     *                        a non-empty list with {@code ablation} is an error
     * @param tta the views of each test image its evaluations average ({@code --tta}); null, as read from
     *            checkpoints written before it existed, means {@link TestTimeAugment#NONE}
     */
    public record Options(Path data, Path out, int epochs, int batchSize, double learningRate, double weightDecay,
                          int warmupEpochs, double labelSmoothing, long seed, boolean ablation, boolean resume,
                          int width, int trainLimit, Augment augment, int preciseBn, double timeBudget,
                          int stemStride, List<Integer> attentionStages, TestTimeAugment tta) {

        /** Checkpoints written before {@code augment} existed trained with shifts and flips. */
        public Options {
            augment = augment == null ? Augment.SHIFT_FLIP : augment;
            tta = tta == null ? TestTimeAugment.NONE : tta;
            stemStride = checkStemStride(stemStride == 0 ? TransCnnConfig.STEM_STRIDE : stemStride);
            if (attentionStages == null) {
                attentionStages = ablation ? List.of() : ALL_STAGES;
            } else {
                attentionStages = checkAttentionStages(stageList(attentionStages), attentionStages);
                if (ablation && !attentionStages.isEmpty()) {
                    throw new IllegalArgumentException("--ablation and --attention-stages "
                            + stageList(attentionStages) + ": the ablation has H-MHSA in no stage; give one of the "
                            + "two");
                }
                ablation = attentionStages.isEmpty();
            }
            if (out == null) {
                throw new IllegalArgumentException("--out: an output directory is required");
            }
            atLeast("--epochs", epochs, 1);
            atLeast("--batch-size", batchSize, 1);
            if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                throw new IllegalArgumentException("--lr " + number(learningRate) + ": expected a finite number "
                        + "above 0");
            }
            if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
                throw new IllegalArgumentException("--weight-decay " + number(weightDecay) + ": expected a finite "
                        + "number of at least 0");
            }
            atLeast("--warmup-epochs", warmupEpochs, 0);
            if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
                throw new IllegalArgumentException("--label-smoothing " + number(labelSmoothing) + ": expected at "
                        + "least 0 and below 1");
            }
            atLeast("--channels", width, 1);
            if (trainLimit < 0) {
                throw new IllegalArgumentException("--limit " + trainLimit + ": expected 0 (all training images) or "
                        + "more");
            }
            if (preciseBn < 0) {
                throw new IllegalArgumentException("--precise-bn " + preciseBn + ": expected 0 (off) or a number of "
                        + "training images");
            }
            if (!(timeBudget >= 0) || Double.isInfinite(timeBudget)) {
                throw new IllegalArgumentException("--time-budget " + number(timeBudget) + ": expected a finite "
                        + "number of seconds above 0");
            }
        }

        /** H-MHSA in every stage, the official network. */
        public static final List<Integer> ALL_STAGES = List.of(0, 1, 2, 3);

        /**
         * {@code stages} ascending if each is a stage index 0..3 and appears once (see
         * {@link TransCnnConfig#checkAttentionStages}); otherwise the {@code --attention-stages} error, naming the
         * value as {@code typed}.
         */
        private static List<Integer> checkAttentionStages(String typed, List<Integer> stages) {
            if (stages.stream().anyMatch(s -> s == null)) {
                throw new IllegalArgumentException("--attention-stages: a stage index is missing in " + stages);
            }
            try {
                return Arrays.stream(TransCnnConfig.checkAttentionStages(stages.stream().mapToInt(Integer::intValue)
                        .toArray())).boxed().toList();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--attention-stages " + typed + ": " + e.getMessage());
            }
        }

        /**
         * {@code --attention-stages} as typed: {@code all}, {@code none} or stage indices 0..3 separated by commas;
         * a value that is none of these is the option's error.
         */
        public static List<Integer> parseAttentionStages(String value) {
            String v = value.trim();
            if (v.equals("all")) {
                return ALL_STAGES;
            }
            if (v.equals("none")) {
                return List.of();
            }
            List<Integer> stages = new ArrayList<>();
            for (String part : v.split(",", -1)) {
                try {
                    stages.add(Integer.parseInt(part.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--attention-stages " + (value.isEmpty() ? "''" : value)
                            + ": expected all, none or stage indices 0..3 separated by commas (0 is stage 1), e.g. 0 "
                            + "or 0,1");
                }
            }
            return checkAttentionStages(value, stages);
        }

        /** {@code stages} as {@code --attention-stages} spells them: all, none or e.g. 0,1. */
        public static String stageList(List<Integer> stages) {
            return stages.equals(ALL_STAGES) ? "all" : stages.isEmpty() ? "none"
                    : stages.stream().map(String::valueOf).collect(Collectors.joining(","));
        }

        /** {@code stemStride} if it is 4 or 2; otherwise the {@code --stem-stride} error. */
        public static int checkStemStride(int stemStride) {
            if (stemStride != 2 && stemStride != 4) {
                throw new IllegalArgumentException("--stem-stride " + stemStride + ": expected 4 (stage 1 at 8x8) or 2 "
                        + "(stage 1 at 16x16)");
            }
            return stemStride;
        }

        private static void atLeast(String option, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException(option + " " + value + ": expected at least " + min);
            }
        }

        /** {@code v} as a user would type it: 0 and 2 rather than 0.0 and 2.0. */
        public static String number(double v) {
            return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
        }

        /** These options with another data directory, output directory and resume flag (the same run otherwise). */
        Options forRun(Path dataDir, Path outDir, boolean resumeRun) {
            return new Options(dataDir, outDir, epochs, batchSize, learningRate, weightDecay, warmupEpochs,
                    labelSmoothing, seed, ablation, resumeRun, width, trainLimit, augment, preciseBn, timeBudget,
                    stemStride, attentionStages, tta);
        }

        /**
         * The settings that make this run differ from {@code other} (data, output directory and resume flag aside),
         * as "OPTION THEIRS in the run, MINE now", in option order; empty when they train the same run.
         */
        public List<String> differences(Options other) {
            Map<String, String> mine = settings();
            Map<String, String> theirs = other.settings();
            List<String> out = new ArrayList<>();
            mine.forEach((k, v) -> {
                // the ablation flag follows from the attention stages: their difference says it
                boolean followsStages = k.equals("--ablation")
                        && !mine.get("--attention-stages").equals(theirs.get("--attention-stages"));
                if (!v.equals(theirs.get(k)) && !followsStages) {
                    out.add(k + " " + theirs.get(k) + " in the run, " + v + " now");
                }
            });
            return out;
        }

        /**
         * The {@code transcnn train} arguments that differ from {@link #defaults()}, e.g. {@code --epochs 2
         * --channels 8}: with {@code --out} and {@code --resume}, the command that continues this run.
         */
        public String arguments() {
            Map<String, String> defaults = defaults().settings();
            StringBuilder b = new StringBuilder();
            settings().forEach((k, v) -> {
                // the ablation says it has no H-MHSA: "--attention-stages none" would repeat it
                if (!v.equals(defaults.get(k)) && !(ablation && k.equals("--attention-stages"))) {
                    b.append(b.length() == 0 ? "" : " ").append(k);
                    if (!v.equals("on")) {
                        b.append(' ').append(v);
                    }
                }
            });
            return b.toString();
        }

        /**
         * The settings that define the run (every option that changes its result), by option name, as the command
         * line spells their values.
         */
        public Map<String, String> settings() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("--epochs", Integer.toString(epochs));
            m.put("--batch-size", Integer.toString(batchSize));
            m.put("--lr", number(learningRate));
            m.put("--weight-decay", number(weightDecay));
            m.put("--warmup-epochs", Integer.toString(warmupEpochs));
            m.put("--label-smoothing", number(labelSmoothing));
            m.put("--seed", Long.toString(seed));
            m.put("--ablation", ablation ? "on" : "off");
            m.put("--channels", Integer.toString(width));
            m.put("--limit", Integer.toString(trainLimit));
            m.put("--augment", augment.cliName());
            m.put("--precise-bn", Integer.toString(preciseBn));
            m.put("--time-budget", timeBudget > 0 ? number(timeBudget) : "none");
            m.put("--stem-stride", Integer.toString(stemStride));
            m.put("--attention-stages", stageList(attentionStages));
            m.put("--tta", tta.cliName());
            return m;
        }

        /** The default stem stride: 2, stage 1 at 16x16 pixels (see {@link #fashionConfig}). */
        public static final int DEFAULT_STEM_STRIDE = 2;

        /** The stages that carry H-MHSA by default: stage 1 only (16x16 pixels at stem stride 2). */
        public static final List<Integer> DEFAULT_ATTENTION_STAGES = List.of(0);

        /**
         * The README's recipe: data from the default location (or the sample), out {@code runs/fashion-mnist}, 6
         * epochs, batch 128, mirrored training images and a mirrored view at test time, BatchNorm statistics
         * re-estimated from 512 images, stem stride 2 with H-MHSA in stage 1 only, no time budget.
         */
        public static Options defaults() {
            return new Options(null, Path.of("runs/fashion-mnist"), 6, 128, 2e-3, 0.05, 1, 0.1,
                    42, false, false, 16, 0, Augment.FLIP, 512, 0, DEFAULT_STEM_STRIDE, DEFAULT_ATTENTION_STAGES,
                    TestTimeAugment.FLIP);
        }
    }

    /** One epoch's numbers. */
    public record Epoch(int epoch, double trainLoss, double trainAccuracy, double testAccuracy,
                        double imagesPerSecond, double seconds, long rssMb) {
    }

    /**
     * Names of the temporary files {@link OutputFiles#replace} writes before renaming them over
     * {@value #MODEL_FILE}, {@value #METRICS_FILE} and {@value #CHART_FILE}: a process killed during a write leaves
     * one behind, which the next run removes.
     */
    static final java.util.regex.Pattern LEFTOVER = java.util.regex.Pattern.compile(
            "\\.(model\\.zip|metrics\\.json|curves\\.png)\\.[0-9]+\\.tmp");

    /** {@link State#stoppedBy} of a run that trained all its epochs. */
    public static final String STOPPED_BY_EPOCHS = "epochs";
    /** {@link State#stoppedBy} of a run that ended at its {@code --time-budget}. */
    public static final String STOPPED_BY_BUDGET = "time-budget";

    private final Options o;
    private final Parallelism parallel;
    private final PrintStream log;
    /** {@link System#nanoTime} when the command started: {@code --time-budget} counts from it. */
    private final long startNanos;
    /** The fixed training images of {@code --precise-bn}, made on first use. */
    private List<org.nd4j.linalg.dataset.api.MultiDataSet> preciseSample;
    /** Held while a checkpoint (model, metrics, chart) is written; {@link #interrupt} waits for it. */
    private final Object checkpointLock = new Object();
    private volatile boolean stopping;

    public Trainer(Options options, PrintStream log) {
        this(options, Parallelism.single(), log);
    }

    /** A run with {@code parallelism.workers()} workers, its time budget counted from now. */
    public Trainer(Options options, Parallelism parallelism, PrintStream log) {
        this(options, parallelism, log, System.nanoTime());
    }

    /**
     * A run with {@code parallelism.workers()} workers; multi-worker runs refuse {@code --resume}. Its
     * {@code --time-budget} counts from {@code startNanos} (a {@link System#nanoTime} value: the command line passes
     * the JVM's start, so that start-up and data loading count), plus the wall time a resumed run recorded.
     */
    public Trainer(Options options, Parallelism parallelism, PrintStream log, long startNanos) {
        parallelism.checkedForThisMachine();
        if (options.resume() && parallelism.workers() > 1) {
            throw new IllegalArgumentException("--resume cannot continue with --workers " + parallelism.workers()
                    + ": multi-worker runs are not reproducible step for step; start a new run");
        }
        this.o = options;
        this.parallel = parallelism;
        this.log = log;
        this.startNanos = startNanos;
    }

    /**
     * The TransCNN configuration used for 32x32 Fashion-MNIST inputs: a stem of stride {@code stemStride} (4 puts
     * stage 1 at 8x8 pixels, 2 at 16x16: the same parameters, about 4x the multiply-adds) and H-MHSA in the 0-based
     * stages {@code attentionStages} only ({@link Options#ALL_STAGES}: every block; none: the IRB-only ablation).
     */
    public static TransCnnConfig fashionConfig(int width, int stemStride, List<Integer> attentionStages) {
        return TransCnnConfig.builder()
                .stemStride(stemStride)
                .dims(width, 2 * width, 4 * width, 8 * width)
                .depths(1, 1, 2, 1)
                .expansions(4, 4, 4, 4)
                .headDim(width)
                .gridSizes(4, 2, 2, 1)
                .dsRatios(2, 2, 1, 1)
                .numClasses(FashionMnist.CLASSES.size())
                .inChannels(1)
                .inputSize(INPUT_SIZE, INPUT_SIZE)
                .headDropRate(0.1)
                .attentionStages(attentionStages.stream().mapToInt(Integer::intValue).toArray())
                .build();
    }

    /**
     * The configuration for 32x32 Fashion-MNIST inputs with H-MHSA in every stage or none.
     *
     * @deprecated use {@link #fashionConfig(int, int, List)}, which also chooses the stages with H-MHSA
     */
    @Deprecated
    public static TransCnnConfig fashionConfig(int width, boolean attention, int stemStride) {
        return fashionConfig(width, stemStride, attention ? Options.ALL_STAGES : List.of());
    }

    /**
     * The configuration for 32x32 Fashion-MNIST inputs with H-MHSA in every stage or none, at stem stride 4.
     *
     * @deprecated use {@link #fashionConfig(int, int, List)}
     */
    @Deprecated
    public static TransCnnConfig fashionConfig(int width, boolean attention) {
        return fashionConfig(width, attention, TransCnnConfig.STEM_STRIDE);
    }

    /** "TransCNN", "TransCNN IRB-only ablation" or e.g. "TransCNN with H-MHSA in stage 1 only". */
    private static String modelName(Options o) {
        if (o.ablation()) {
            return "TransCNN IRB-only ablation";
        }
        if (o.attentionStages().equals(Options.ALL_STAGES)) {
            return "TransCNN";
        }
        List<String> stages = o.attentionStages().stream().map(s -> Integer.toString(s + 1)).toList();
        return "TransCNN with H-MHSA in stage" + (stages.size() == 1 ? " " + stages.get(0)
                : "s " + String.join(", ", stages)) + " only";
    }

    /** Runs (or resumes) the training; returns the per-epoch numbers. */
    public List<Epoch> run() throws IOException {
        return run(Integer.MAX_VALUE);
    }

    /**
     * Runs at most {@code maxEpochs} epochs of this run (tests use it to interrupt a run after a checkpoint). Every
     * check that can fail without training (the output directory, the resume state and options, the dataset) runs
     * before the first batch.
     */
    List<Epoch> run(int maxEpochs) throws IOException {
        if (o.data() != null) {
            FashionMnist.requirePresent(o.data(), "--data");
        }
        Path modelFile = prepareOutput();
        State resumed = o.resume() ? resumable(modelFile) : null;
        if (resumed != null && STOPPED_BY_BUDGET.equals(resumed.stoppedBy)) {
            log.printf("transcnn: the run in %s ended at its time budget (%s s) in epoch %d of %d; nothing to do%n",
                    o.out(), Options.number(o.timeBudget()), resumed.history.size(), o.epochs());
            return new ArrayList<>(resumed.history);
        }
        if (resumed != null && resumed.history.size() >= o.epochs()) {
            log.printf("transcnn: the run in %s is complete (%d of %d epochs); nothing to do%n", o.out(),
                    resumed.history.size(), o.epochs());
            return new ArrayList<>(resumed.history);
        }
        FashionMnist data = FashionMnist.open(o.data(), "--data", log::println);
        if (resumed != null && resumed.trainImages != null && (resumed.trainImages != data.train().count()
                || resumed.testImages != data.test().count())) {
            throw new IOException(String.format("--resume: the run in %s trained on %,d training and %,d test images "
                    + "(%s), this dataset (%s) has %,d and %,d; resume with the run's --data", o.out(),
                    resumed.trainImages, resumed.testImages, resumed.dataSource, data.source(),
                    data.train().count(), data.test().count()));
        }
        Batches train = new Batches(data.train(), INPUT_SIZE);
        int trainCount = o.trainLimit() > 0 ? Math.min(o.trainLimit(), data.train().count()) : data.train().count();
        int steps = (trainCount + o.batchSize() - 1) / o.batchSize();
        // The learning-rate schedule counts model iterations: one per round of one batch for each worker
        int rounds = (steps + parallel.workers() - 1) / parallel.workers();
        List<Epoch> history = new ArrayList<>();
        ComputationGraph net;
        double priorSeconds = 0;
        if (resumed != null) {
            net = ModelFile.load(modelFile, true);
            history.addAll(resumed.history);
            priorSeconds = resumed.wallSeconds;
            log.printf("resuming %s after epoch %d%n", o.out(), history.size());
        } else {
            net = TransCNN.builder(fashionConfig(o.width(), o.stemStride(), o.attentionStages()))
                    .seed(o.seed())
                    .updater(new Adam(new WarmupCosine(o.learningRate(),
                            Math.min(o.warmupEpochs(), o.epochs() - 1) * rounds, o.epochs() * rounds, 0.01)))
                    .weightDecay(o.weightDecay())
                    .build()
                    .init();
        }
        Nd4j.getMemoryManager().togglePeriodicGc(true);
        Nd4j.getMemoryManager().setAutoGcWindow(2000);
        ModelSummary size = ModelSummary.of(net.getConfiguration(), InputType.convolutional(INPUT_SIZE, INPUT_SIZE, 1));
        log.printf("%s (%,d parameters, %.2f M multiply-adds per image) on Fashion-MNIST (%s): %,d training "
                        + "and %,d test images, %d epochs, batch %d, augmentation %s, test-time augmentation %s%s, "
                        + "%s%s%n",
                modelName(o), size.params(), size.macs() / 1e6, data.source(), trainCount,
                data.test().count(), o.epochs(), o.batchSize(), o.augment().cliName(), o.tta().cliName(),
                parallel.workers() == 1 ? ""
                        : String.format(", %d workers (%s)", parallel.workers(),
                        parallel.mode() == Parallelism.Mode.AVERAGING ? "averaging every "
                                + parallel.averagingFrequency() + " rounds" : "shared gradients"),
                o.preciseBn() > 0 ? String.format("BatchNorm statistics re-estimated from %,d training images before "
                        + "each evaluation", Math.min(o.preciseBn(), trainCount)) : "running BatchNorm statistics",
                o.timeBudget() > 0 ? ", time budget " + Options.number(o.timeBudget()) + " s" : "");
        EpochMeter meter = new EpochMeter();
        ParallelWrapper wrapper = parallel.workers() == 1 ? null : wrapper(net, meter);
        Consumer<MultiDataSetIterator> fitEpoch = wrapper != null ? it -> fitParallel(wrapper, it) : it -> {
            while (it.hasNext()) {
                net.fit(it.next());
            }
        };
        if (wrapper == null) {
            net.setListeners(meter);
        }
        long start = System.nanoTime();
        double prior = priorSeconds;
        BooleanSupplier overBudget = () -> o.timeBudget() > 0
                && prior + (System.nanoTime() - startNanos) / 1e9 >= o.timeBudget();
        int stop = (int) Math.min(o.epochs(), (long) history.size() + maxEpochs);
        for (int epoch = history.size(); epoch < stop; epoch++) {
            Nd4j.getRandom().setSeed(o.seed() * 7919L + epoch);
            Random random = new Random(o.seed() * 31L + epoch);
            int[] order = train.order(trainCount, o.seed(), epoch);
            long epochStart = System.nanoTime();
            try (ProgressBar bar = new ProgressBarBuilder()
                    .setTaskName(String.format("epoch %d/%d", epoch + 1, o.epochs()))
                    .setInitialMax(steps)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setConsumer(new ConsoleProgressBarConsumer(log, 120))
                    .setUpdateIntervalMillis(System.console() != null ? 1000 : 15000)
                    .setUnit(" batches", 1)
                    .showSpeed(new java.text.DecimalFormat("0.0"))
                    .build()) {
                meter.start(bar);
                fitEpoch.accept(new EpochBatches(train, order, trainCount, o.batchSize(), o.augment(), random,
                        o.labelSmoothing(), meter, overBudget));
            }
            double seconds = (System.nanoTime() - epochStart) / 1e9;
            long images = meter.seen();
            boolean partial = images < trainCount;
            if (o.preciseBn() > 0) {
                // masks of dropout and drop path come from ND4J's generator: seeded for the same result on resume
                Nd4j.getRandom().setSeed(o.seed() * 7919L + 104_729L + epoch);
                PreciseBatchNorm.recompute(net, preciseSample(train, trainCount).iterator(), o.preciseBn());
            }
            Evaluation test = Evaluation.of(net, data.test(), INPUT_SIZE, 250, o.tta());
            // after the re-estimation and the evaluation, which count towards the budget: a next epoch would
            // otherwise start past it (and train its first batch)
            boolean budgetStop = partial || (epoch < o.epochs() - 1 && overBudget.getAsBoolean());
            Epoch e = new Epoch(epoch + 1, meter.meanLoss(), meter.accuracy(), test.accuracy(),
                    meter.seen() / seconds, seconds, Benchmark.rssMb());
            history.add(e);
            double wall = priorSeconds + (System.nanoTime() - start) / 1e9;
            State state = new State();
            state.options = o;
            state.parallel = parallel;
            state.history = new ArrayList<>(history);
            state.wallSeconds = wall;
            state.trainImages = data.train().count();
            state.testImages = data.test().count();
            state.dataSource = data.source();
            boolean last = epoch == o.epochs() - 1;
            state.stoppedBy = budgetStop ? STOPPED_BY_BUDGET : last ? STOPPED_BY_EPOCHS : null;
            state.lastEpochImages = partial ? (int) images : null;
            state.trainCount = trainCount;
            String stateJson = new ObjectMapper().writeValueAsString(state);
            synchronized (checkpointLock) {
                if (stopping) {
                    break;
                }
                ModelFile.save(net, modelFile, true, Map.of(STATE_ENTRY, stateJson));
                writeMetrics(size, state, last || budgetStop ? test : null);
                writeChart(history);
            }
            // printed once the checkpoint is complete: an epoch that was reported is one that --resume keeps
            log.printf("epoch %d: train loss %.4f, train accuracy %.4f, test accuracy %.4f, %.0f images/s, RSS %d MB%n",
                    e.epoch(), e.trainLoss(), e.trainAccuracy(), e.testAccuracy(), e.imagesPerSecond(), e.rssMb());
            if (budgetStop) {
                log.printf("test accuracy %.4f after %.2f of %d epochs (stopped at the time budget of %s s), %s%n",
                        test.accuracy(), epoch + (double) images / trainCount, o.epochs(),
                        Options.number(o.timeBudget()),
                        Duration.ofSeconds((long) wall).toString().substring(2).toLowerCase());
                log.print(test.confusionTable(FashionMnist.CLASSES));
                break;
            }
            if (last) {
                log.printf("test accuracy %.4f after %d epochs, %s%n", test.accuracy(), o.epochs(),
                        Duration.ofSeconds((long) wall).toString().substring(2).toLowerCase());
                log.print(test.confusionTable(FashionMnist.CLASSES));
            }
        }
        return history;
    }

    /**
     * The images of {@code --precise-bn}: the first of a permutation of the run's training images drawn from the
     * seed (the same in every epoch and on resume), centred as for evaluation, in batches of the training batch size
     * (batch statistics depend on it).
     */
    private List<org.nd4j.linalg.dataset.api.MultiDataSet> preciseSample(Batches train, int trainCount) {
        if (preciseSample == null) {
            int n = Math.min(o.preciseBn(), trainCount);
            int[] idx = new int[trainCount];
            for (int i = 0; i < trainCount; i++) {
                idx[i] = i;
            }
            Random r = new Random(o.seed() * 1_000_033L + 0x5EED_B47CL);
            for (int i = trainCount - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
            List<org.nd4j.linalg.dataset.api.MultiDataSet> batches = new ArrayList<>();
            for (int from = 0; from < n; from += o.batchSize()) {
                batches.add(train.batch(idx, from, Math.min(n, from + o.batchSize()), Augment.NONE, null, 0));
            }
            preciseSample = batches;
        }
        return preciseSample;
    }

    /**
     * Creates the output directory (checked first, see {@link OutputFiles#checkDirectory}), removes what interrupted
     * writes left there (see {@link #LEFTOVER}), and checks that it suits the run: empty for a new run, holding
     * {@value #MODEL_FILE} for {@code --resume}. Returns the model file.
     */
    private Path prepareOutput() throws IOException {
        OutputFiles.checkDirectory(o.out(), "--out");
        Files.createDirectories(o.out());
        List<Path> removed = new ArrayList<>();
        try (var entries = Files.list(o.out())) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                if (LEFTOVER.matcher(p.getFileName().toString()).matches()
                        && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(p);
                    removed.add(p);
                }
            }
        }
        for (Path p : removed) {
            log.printf("transcnn: removed %s, a partial file left by an interrupted write%n", p);
        }
        Path modelFile = o.out().resolve(MODEL_FILE);
        if (!o.resume()) {
            try (var entries = Files.list(o.out())) {
                if (entries.findAny().isPresent()) {
                    throw new IOException(o.out() + " is not empty" + (Files.exists(modelFile) ? " (it holds a run; "
                            + "pass --resume to continue it)" : "") + ": choose an empty or new --out");
                }
            }
        } else if (!Files.exists(modelFile)) {
            throw new IOException("--resume: " + o.out() + " has no " + MODEL_FILE + " to continue" + (removed.isEmpty()
                    ? "" : " (the run was stopped while writing its first checkpoint; the partial file is removed)")
                    + "; start the run without --resume: " + command(false));
        }
        return modelFile;
    }

    /** The run state in {@code modelFile}, if it continues this run: same workers, same options. */
    private State resumable(Path modelFile) throws IOException {
        State state = readState(modelFile);
        if (state.parallel != null && state.parallel.workers() > 1) {
            throw new IOException("--resume: the run in " + o.out() + " was trained with --workers "
                    + state.parallel.workers() + "; multi-worker runs cannot be resumed exactly, start a new run");
        }
        List<String> differences = o.differences(state.options);
        if (!differences.isEmpty()) {
            throw new IOException("--resume: the options differ from those of the run in " + o.out() + ": "
                    + String.join("; ", differences) + "; resume with the run's options: "
                    + command(state.options.forRun(o.data(), o.out(), true)));
        }
        return state;
    }

    /**
     * For a shutdown hook (SIGTERM, Ctrl-C): waits until a checkpoint being written is complete, keeps any further
     * one from starting, and returns the line that tells how to continue from the last complete checkpoint. Once it
     * has returned, this trainer writes nothing more.
     */
    public String interrupt() {
        synchronized (checkpointLock) {
            stopping = true;
        }
        Path model = o.out().resolve(MODEL_FILE);
        if (!Files.exists(model)) {
            return "transcnn: interrupted before the first checkpoint; nothing to resume, start again with: "
                    + command(false);
        }
        if (parallel.workers() > 1) {
            return "transcnn: interrupted; " + model + " holds the last complete epoch (multi-worker runs cannot be "
                    + "resumed)";
        }
        return "transcnn: interrupted; resume with: " + command(true);
    }

    /** The command that starts ({@code resume} false) or continues this run. */
    private String command(boolean resume) {
        return command(o.forRun(o.data(), o.out(), resume));
    }

    private static String command(Options run) {
        String args = run.arguments();
        return "bin/transcnn train --out " + run.out() + (run.resume() ? " --resume" : "")
                + (run.data() != null ? " --data " + run.data() : "") + (args.isEmpty() ? "" : " " + args);
    }

    /** DL4J's ParallelWrapper over {@code net}: batches made on this thread, one meter shared by all workers. */
    private ParallelWrapper wrapper(ComputationGraph net, EpochMeter meter) {
        ParallelWrapper w = new ParallelWrapper.Builder<>(net)
                .workers(parallel.workers())
                .prefetchBuffer(0)
                .trainingMode(parallel.mode() == Parallelism.Mode.AVERAGING ? ParallelWrapper.TrainingMode.AVERAGING
                        : ParallelWrapper.TrainingMode.SHARED_GRADIENTS)
                .averagingFrequency(parallel.averagingFrequency())
                .averageUpdaters(true)
                .build();
        w.setListeners(meter);
        return w;
    }

    /** One epoch on the workers; on failure (a worker's exception is rethrown here) the worker threads are ended. */
    private static void fitParallel(ParallelWrapper wrapper, MultiDataSetIterator epoch) {
        try {
            wrapper.fit(epoch);
        } catch (RuntimeException e) {
            try {
                wrapper.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Run state stored inside the checkpoint. */
    public static final class State {
        public Options options;
        /** Workers of the run; absent in checkpoints of single-worker runs written before it existed. */
        public Parallelism parallel;
        public List<Epoch> history = new ArrayList<>();
        public double wallSeconds;
        /** Images of the training and test sets, and where they came from; absent in checkpoints before 0.2. */
        public Integer trainImages;
        public Integer testImages;
        public String dataSource;
        /**
         * Why the run ended: {@value #STOPPED_BY_EPOCHS} or {@value #STOPPED_BY_BUDGET} (then {@code --resume} has
         * nothing more to do); null while it goes on and in checkpoints written before it existed.
         */
        public String stoppedBy;
        /** Images trained in the last epoch when the time budget ended it early; null when it is complete. */
        public Integer lastEpochImages;
        /** Images of a complete epoch (the training set, or {@code --limit}); absent in checkpoints before it. */
        public Integer trainCount;
    }

    /**
     * The run state saved in a checkpoint written by this trainer: the plain JSON entry {@code transcnn/}{@value
     * #STATE_ENTRY}, or in checkpoints of 0.1.0 the Java-serialized string {@code objects/}{@value #STATE_KEY}, read
     * through a filter that admits nothing but a string (see {@link ModelFile#readLegacyString}).
     */
    public static State readState(Path modelFile) throws IOException {
        Optional<String> json = ModelFile.readText(modelFile, STATE_ENTRY);
        if (json.isEmpty()) {
            json = ModelFile.readLegacyString(modelFile, STATE_KEY);
        }
        if (json.isEmpty()) {
            throw new IOException(modelFile + " holds no training state: not written by 'transcnn train'");
        }
        try {
            return new ObjectMapper().readValue(json.get(), State.class);
        } catch (IOException e) {
            throw new IOException(modelFile + ": the training state is not valid: " + e.getMessage(), e);
        }
    }

    private void writeJson(Path file, Object value) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        OutputFiles.replace(file, out -> mapper.writeValue(out, value));
    }

    /**
     * {@value #METRICS_FILE}: the final (or latest) accuracies, why the run stopped ({@code stopped_by}: null while
     * it goes on), the recipe (every option that changes the result, as the command line spells it), images trained
     * and training throughput, sizes, and per-epoch rows.
     */
    private void writeMetrics(ModelSummary size, State state, Evaluation finalEval) throws IOException {
        List<Epoch> history = state.history;
        Map<String, Object> m = new LinkedHashMap<>();
        Epoch lastEpoch = history.get(history.size() - 1);
        m.put("test_accuracy", lastEpoch.testAccuracy());
        m.put("train_accuracy", lastEpoch.trainAccuracy());
        m.put("stopped_by", state.stoppedBy);
        m.put("time_budget_seconds", o.timeBudget() > 0 ? o.timeBudget() : null);
        m.put("precise_bn_images", o.preciseBn());
        m.put("wall_seconds", state.wallSeconds);
        long imagesTrained = 0;
        double trainSeconds = 0;
        for (Epoch e : history) {
            imagesTrained += imagesOf(e, state);
            trainSeconds += e.seconds();
        }
        m.put("images_trained", imagesTrained);
        m.put("images_per_second", imagesTrained / trainSeconds);
        m.put("recipe", o.settings());
        m.put("command", command(false));
        m.put("model", modelName(o));
        m.put("width", o.width());
        m.put("batch_size", o.batchSize());
        m.put("augment", o.augment().cliName());
        m.put("tta", o.tta().cliName());
        m.put("params", size.params());
        m.put("macs_per_image", size.macs());
        m.put("seed", o.seed());
        m.put("workers", parallel.workers());
        if (parallel.workers() > 1) {
            m.put("parallel_mode", parallel.mode().cliName());
            m.put("averaging_frequency", parallel.averagingFrequency());
        }
        List<Map<String, Object>> epochs = new ArrayList<>();
        for (Epoch e : history) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("epoch", e.epoch());
            row.put("images", imagesOf(e, state));
            row.put("train_loss", e.trainLoss());
            row.put("train_accuracy", e.trainAccuracy());
            row.put("test_accuracy", e.testAccuracy());
            row.put("images_per_second", e.imagesPerSecond());
            row.put("seconds", e.seconds());
            row.put("rss_mb", e.rssMb());
            epochs.add(row);
        }
        m.put("epochs", epochs);
        if (finalEval != null) {
            m.put("confusion_matrix", finalEval.confusion());
            m.put("classes", FashionMnist.CLASSES);
        }
        writeJson(o.out().resolve(METRICS_FILE), m);
    }

    /** The images epoch {@code e} trained: all but in an epoch the time budget ended early. */
    private static long imagesOf(Epoch e, State state) {
        boolean lastOne = e.epoch() == state.history.size();
        return lastOne && state.lastEpochImages != null ? state.lastEpochImages : state.trainCount;
    }

    private void writeChart(List<Epoch> history) throws IOException {
        System.setProperty("java.awt.headless", "true");
        double[] x = history.stream().mapToDouble(Epoch::epoch).toArray();
        XYChart loss = new XYChartBuilder().width(560).height(400).title("Training loss").xAxisTitle("epoch")
                .yAxisTitle("loss").build();
        loss.addSeries("train", x, history.stream().mapToDouble(Epoch::trainLoss).toArray());
        XYChart acc = new XYChartBuilder().width(560).height(400).title("Accuracy").xAxisTitle("epoch")
                .yAxisTitle("accuracy").build();
        acc.addSeries("train", x, history.stream().mapToDouble(Epoch::trainAccuracy).toArray());
        acc.addSeries("test", x, history.stream().mapToDouble(Epoch::testAccuracy).toArray());
        OutputFiles.replace(o.out().resolve(CHART_FILE),
                out -> BitmapEncoder.saveBitmap(List.of(loss, acc), 1, 2, out, BitmapEncoder.BitmapFormat.PNG));
    }
}
