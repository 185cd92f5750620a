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
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Trains and evaluates TransCNN on Fashion-MNIST: Adam with decoupled weight decay, linear warm-up and cosine decay
 * of the learning rate, random shifts and mirroring, label smoothing; the test set is scored after every epoch.
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

    /** Settings of a run; {@link #defaults()} is the configuration the README reports. */
    public record Options(Path data, Path out, int epochs, int batchSize, double learningRate, double weightDecay,
                          int warmupEpochs, double labelSmoothing, long seed, boolean ablation, boolean resume,
                          int width, int trainLimit, Augment augment) {

        /** Checkpoints written before {@code augment} existed trained with shifts and flips. */
        public Options {
            augment = augment == null ? Augment.SHIFT_FLIP : augment;
        }

        /** These options with another data directory, output directory and resume flag (the same run otherwise). */
        Options forRun(Path dataDir, Path outDir, boolean resumeRun) {
            return new Options(dataDir, outDir, epochs, batchSize, learningRate, weightDecay, warmupEpochs,
                    labelSmoothing, seed, ablation, resumeRun, width, trainLimit, augment);
        }

        public static Options defaults() {
            return new Options(FashionMnist.DEFAULT_DIR, Path.of("runs/fashion-mnist"), 5, 128, 2e-3, 0.05, 1, 0.1,
                    42, false, false, 16, 0, Augment.NONE);
        }
    }

    /** One epoch's numbers. */
    public record Epoch(int epoch, double trainLoss, double trainAccuracy, double testAccuracy,
                        double imagesPerSecond, double seconds, long rssMb) {
    }

    private final Options o;
    private final Parallelism parallel;
    private final PrintStream log;

    public Trainer(Options options, PrintStream log) {
        this(options, Parallelism.single(), log);
    }

    /** A run with {@code parallelism.workers()} workers; multi-worker runs refuse {@code --resume}. */
    public Trainer(Options options, Parallelism parallelism, PrintStream log) {
        if (options.epochs() < 1 || options.batchSize() < 1 || !(options.learningRate() > 0)
                || options.weightDecay() < 0 || options.warmupEpochs() < 0 || options.labelSmoothing() < 0
                || options.labelSmoothing() >= 1 || options.width() < 1 || options.trainLimit() < 0) {
            throw new IllegalArgumentException("invalid training options: " + options);
        }
        parallelism.checkedForThisMachine();
        if (options.resume() && parallelism.workers() > 1) {
            throw new IllegalArgumentException("--resume cannot continue with --workers " + parallelism.workers()
                    + ": multi-worker runs are not reproducible step for step; start a new run");
        }
        this.o = options;
        this.parallel = parallelism;
        this.log = log;
    }

    /** The TransCNN configuration used for 32x32 Fashion-MNIST inputs, with or without H-MHSA. */
    public static TransCnnConfig fashionConfig(int width, boolean attention) {
        return TransCnnConfig.builder()
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
                .attention(attention)
                .build();
    }

    /** Runs (or resumes) the training; returns the per-epoch numbers. */
    public List<Epoch> run() throws IOException {
        return run(Integer.MAX_VALUE);
    }

    /** Runs at most {@code maxEpochs} epochs of this run (tests use it to interrupt a run after a checkpoint). */
    List<Epoch> run(int maxEpochs) throws IOException {
        try {
            Files.createDirectories(o.out());
        } catch (IOException e) {
            throw new IOException("cannot create output directory " + o.out() + " (" + e + ")", e);
        }
        if (!Files.isWritable(o.out())) {
            throw new IOException("output directory " + o.out() + " is not writable");
        }
        Path modelFile = o.out().resolve(MODEL_FILE);
        if (!o.resume()) {
            try (var entries = Files.list(o.out())) {
                if (entries.findAny().isPresent()) {
                    throw new IOException(o.out() + " is not empty" + (Files.exists(modelFile) ? " (it holds a run; "
                            + "pass --resume to continue it)" : "") + ": choose an empty or new --out");
                }
            }
        }
        FashionMnist data = FashionMnist.loadOrSample(o.data(), log::println);
        Batches train = new Batches(data.train(), INPUT_SIZE);
        int trainCount = o.trainLimit() > 0 ? Math.min(o.trainLimit(), data.train().count()) : data.train().count();
        int steps = (trainCount + o.batchSize() - 1) / o.batchSize();
        // The learning-rate schedule counts model iterations: one per round of one batch for each worker
        int rounds = (steps + parallel.workers() - 1) / parallel.workers();
        List<Epoch> history = new ArrayList<>();
        ComputationGraph net;
        double priorSeconds = 0;
        if (o.resume()) {
            if (!Files.exists(modelFile)) {
                throw new IOException("--resume: " + o.out() + " has no " + MODEL_FILE + " to continue");
            }
            State state = readState(modelFile);
            if (state.parallel != null && state.parallel.workers() > 1) {
                throw new IOException("--resume: the run in " + o.out() + " was trained with --workers "
                        + state.parallel.workers() + "; multi-worker runs cannot be resumed exactly, start a new run");
            }
            if (!state.options.forRun(o.data(), o.out(), o.resume()).equals(o)) {
                throw new IOException("--resume: the options differ from those of the run in " + o.out() + " ("
                        + state.options + "); resume with the same options");
            }
            net = ModelFile.load(modelFile, true);
            history.addAll(state.history);
            priorSeconds = state.wallSeconds;
            log.printf("resuming %s after epoch %d%n", o.out(), history.size());
        } else {
            net = TransCNN.builder(fashionConfig(o.width(), !o.ablation()))
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
        log.printf("TransCNN%s (%,d parameters, %.2f M multiply-adds per image) on Fashion-MNIST (%s): %,d training "
                        + "and %,d test images, %d epochs, batch %d, augmentation %s%s%n",
                o.ablation() ? " IRB-only ablation" : "", size.params(), size.macs() / 1e6, data.source(), trainCount,
                data.test().count(), o.epochs(), o.batchSize(), o.augment().cliName(), parallel.workers() == 1 ? ""
                        : String.format(", %d workers (%s)", parallel.workers(),
                        parallel.mode() == Parallelism.Mode.AVERAGING ? "averaging every "
                                + parallel.averagingFrequency() + " rounds" : "shared gradients"));
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
                    .showSpeed()
                    .build()) {
                meter.start(bar);
                fitEpoch.accept(new EpochBatches(train, order, trainCount, o.batchSize(), o.augment(), random,
                        o.labelSmoothing(), meter));
            }
            double seconds = (System.nanoTime() - epochStart) / 1e9;
            Evaluation test = Evaluation.of(net, data.test(), INPUT_SIZE, 250);
            Epoch e = new Epoch(epoch + 1, meter.meanLoss(), meter.accuracy(), test.accuracy(),
                    meter.seen() / seconds, seconds, Benchmark.rssMb());
            history.add(e);
            log.printf("epoch %d: train loss %.4f, train accuracy %.4f, test accuracy %.4f, %.0f images/s, RSS %d MB%n",
                    e.epoch(), e.trainLoss(), e.trainAccuracy(), e.testAccuracy(), e.imagesPerSecond(), e.rssMb());
            double wall = priorSeconds + (System.nanoTime() - start) / 1e9;
            State state = new State();
            state.options = o;
            state.parallel = parallel;
            state.history = new ArrayList<>(history);
            state.wallSeconds = wall;
            String stateJson = new ObjectMapper().writeValueAsString(state);
            ModelFile.save(net, modelFile, true, Map.of(STATE_ENTRY, stateJson));
            boolean last = epoch == o.epochs() - 1;
            Evaluation finalEval = last ? test : null;
            writeMetrics(size, history, wall, finalEval);
            writeChart(history);
            if (last) {
                log.printf("test accuracy %.4f after %d epochs, %s%n", test.accuracy(), o.epochs(),
                        Duration.ofSeconds((long) wall).toString().substring(2).toLowerCase());
                log.print(test.confusionTable(FashionMnist.CLASSES));
            }
        }
        return history;
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

    private void writeMetrics(ModelSummary size, List<Epoch> history, double wall, Evaluation finalEval)
            throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        Epoch lastEpoch = history.get(history.size() - 1);
        m.put("test_accuracy", lastEpoch.testAccuracy());
        m.put("wall_seconds", wall);
        m.put("model", o.ablation() ? "TransCNN IRB-only ablation" : "TransCNN");
        m.put("width", o.width());
        m.put("batch_size", o.batchSize());
        m.put("augment", o.augment().cliName());
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
