package org.transcnn.spark;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.transcnn.data.FashionMnist;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import org.transcnn.train.Augment;
import org.transcnn.train.Batches;
import org.transcnn.train.Evaluation;
import org.transcnn.train.TestTimeAugment;
import org.transcnn.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Trains the Fashion-MNIST TransCNN of {@link Trainer} on Apache Spark with DL4J's parameter averaging
 * ({@link ParameterAveragingTrainingMaster}): each epoch's batches (augmented as {@link #AUGMENT}) are made on the driver, spread over the
 * executors, trained there on copies of the network, and the averaged parameters come back to the driver's network.
 */
public final class SparkTraining {

    /** Settings of a Spark run: batch size per worker and rounds of batches between two parameter averagings. */
    /** Training augmentation: the default of {@code bin/transcnn train}; evaluations use its default test-time views. */
    static final Augment AUGMENT = Trainer.Options.defaults().augment();

    public record Options(Path data, int epochs, int batchSizePerWorker, int averagingFrequency, double learningRate,
                          double weightDecay, double labelSmoothing, int width, int trainLimit, long seed) {

        public Options {
            if (epochs < 1 || batchSizePerWorker < 1 || averagingFrequency < 1 || !(learningRate > 0)
                    || weightDecay < 0 || labelSmoothing < 0 || labelSmoothing >= 1 || width < 1 || trainLimit < 0) {
                throw new IllegalArgumentException("invalid Spark training options: " + this);
            }
        }
    }

    /** One epoch: test accuracy (on the driver) and training images per second (the Spark jobs, end to end). */
    public record Epoch(int epoch, double testAccuracy, double imagesPerSecond, double seconds) {
    }

    /** The trained network (the driver's copy) and the per-epoch numbers. */
    public record Result(ComputationGraph network, List<Epoch> history) {
    }

    private SparkTraining() {
    }

    /** A new network for {@code o}: the Fashion-MNIST configuration of {@link Trainer#fashionConfig}. */
    public static ComputationGraph network(Options o) {
        return TransCNN.builder(Trainer.fashionConfig(o.width(), TransCnnConfig.STEM_STRIDE,
                        Trainer.Options.ALL_STAGES))
                .seed(o.seed())
                .updater(new Adam(o.learningRate()))
                .weightDecay(o.weightDecay())
                .build()
                .init();
    }

    /** Trains {@code net} in place on {@code sc}'s executors; the data come from {@code o.data()} or the sample. */
    public static Result train(JavaSparkContext sc, ComputationGraph net, Options o, PrintStream log)
            throws IOException {
        FashionMnist data = FashionMnist.loadOrSample(o.data(), log::println);
        Batches train = new Batches(data.train(), Trainer.INPUT_SIZE);
        int count = o.trainLimit() > 0 ? Math.min(o.trainLimit(), data.train().count()) : data.train().count();
        ParameterAveragingTrainingMaster master = new ParameterAveragingTrainingMaster.Builder(o.batchSizePerWorker())
                .batchSizePerWorker(o.batchSizePerWorker())
                .averagingFrequency(o.averagingFrequency())
                .workerPrefetchNumBatches(0)
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .storageLevel(StorageLevel.MEMORY_ONLY())
                .rngSeed(o.seed())
                .build();
        SparkComputationGraph spark = new SparkComputationGraph(sc, net, master);
        log.printf("TransCNN on Spark %s (master %s, %d executor cores): %,d training images (%s), %d epochs, "
                        + "batch %d per worker, averaging every %d batches%n", sc.version(), sc.master(),
                sc.defaultParallelism(), count, data.source(), o.epochs(), o.batchSizePerWorker(),
                o.averagingFrequency());
        List<Epoch> history = new ArrayList<>();
        for (int epoch = 0; epoch < o.epochs(); epoch++) {
            Random random = new Random(o.seed() * 31L + epoch);
            int[] order = train.order(count, o.seed(), epoch);
            List<MultiDataSet> batches = new ArrayList<>();
            for (int from = 0; from < count; from += o.batchSizePerWorker()) {
                batches.add(train.batch(order, from, Math.min(count, from + o.batchSizePerWorker()), AUGMENT,
                        random, o.labelSmoothing()));
            }
            JavaRDD<MultiDataSet> rdd = sc.parallelize(batches, sc.defaultParallelism());
            long start = System.nanoTime();
            spark.fitMultiDataSet(rdd);
            double seconds = (System.nanoTime() - start) / 1e9;
            Evaluation test = Evaluation.of(spark.getNetwork(), data.test(), Trainer.INPUT_SIZE, 250,
                    TestTimeAugment.defaultFor(AUGMENT));
            Epoch e = new Epoch(epoch + 1, test.accuracy(), count / seconds, seconds);
            history.add(e);
            log.printf("epoch %d: test accuracy %.4f, %.0f images/s (%.1f s)%n", e.epoch(), e.testAccuracy(),
                    e.imagesPerSecond(), e.seconds());
        }
        return new Result(spark.getNetwork(), history);
    }

    /**
     * Refuses a standalone master ({@code spark://host:port[,host:port...]}) none of whose addresses accepts a
     * connection within {@code timeout}, with one clear message, instead of Spark's minute of registration retries.
     * Other masters (local, yarn, k8s) are left to Spark.
     */
    public static void checkMaster(String master, Duration timeout) {
        if (master == null || !master.startsWith("spark://")) {
            return;
        }
        String reason = "no address";
        for (String hostPort : master.substring("spark://".length()).split(",")) {
            int colon = hostPort.lastIndexOf(':');
            String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
            int port;
            try {
                port = colon < 0 ? 7077 : Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Spark master " + master + ": bad port in " + hostPort);
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
                return;
            } catch (IOException | IllegalArgumentException e) {
                reason = host + ":" + port + ": " + e.getMessage();
            }
        }
        throw new IllegalArgumentException("Spark master " + master + " cannot be reached (" + reason + ", waited up to "
                + timeout.toSeconds() + " s): start the master or correct --master");
    }
}
