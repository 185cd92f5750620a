package org.transcnn.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.data.FashionMnist;
import org.transcnn.train.Augment;
import org.transcnn.train.Batches;
import org.transcnn.train.Trainer;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TransCNN on Spark in local mode (local[2], no network, no cluster) on the embedded Fashion-MNIST sample. */
class SparkTrainingTest {

    static JavaSparkContext sc;

    @TempDir
    Path dir;

    @BeforeAll
    static void startSpark() {
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("transcnn-spark-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1"));
    }

    @AfterAll
    static void stopSpark() {
        sc.close();
    }

    /** Training-mode loss (dropout seeded) on 256 fixed training images. */
    static double loss(ComputationGraph net, MultiDataSet fixed) {
        Nd4j.getRandom().setSeed(5);
        return net.score(fixed, true);
    }

    @Test
    void localModeTrainingLowersTheLossAndTheSavedModelLoadsInTheLibrary() throws Exception {
        SparkTraining.Options o = new SparkTraining.Options(Path.of("/nonexistent/fashion-mnist"), 2, 32, 4, 2e-3,
                0.05, 0.1, 8, 1024, 7);
        ComputationGraph net = SparkTraining.network(o);
        INDArray initial = net.params().dup();
        Batches b = new Batches(FashionMnist.sample().train(), Trainer.INPUT_SIZE);
        MultiDataSet fixed = b.batch(b.order(256, 1, 0), 0, 256, Augment.NONE, null, 0);
        double before = loss(net, fixed);

        SparkTraining.Result r = SparkTraining.train(sc, net, o, System.out);

        assertEquals(2, r.history().size());
        assertTrue(r.network() == net, "the driver's network holds the result");
        double change = r.network().params().sub(initial).amaxNumber().doubleValue();
        assertTrue(change > 1e-2, "parameters trained on the executors came back to the driver: " + change);
        double after = loss(r.network(), fixed);
        assertTrue(after < before - 0.2, "loss falls: " + before + " -> " + after + ", " + r.history());

        Path file = dir.resolve("model.zip");
        ModelSerializer.writeModel(r.network(), file.toFile(), true);
        ComputationGraph loaded = ModelSerializer.restoreComputationGraph(file.toFile(), true);
        INDArray images = new Batches(FashionMnist.sample().test(), Trainer.INPUT_SIZE)
                .batch(b.order(64, 2, 0), 0, 64, Augment.NONE, null, 0).getFeatures(0);
        assertEquals(r.network().outputSingle(images), loaded.outputSingle(images), "same outputs after loading");
        assertEquals(r.network().params(), loaded.params());
    }

    @Test
    void anUnreachableMasterIsAClearErrorWithinSeconds() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> assertTimeoutPreemptively(
                Duration.ofSeconds(30), () -> SparkTraining.checkMaster("spark://127.0.0.1:1", Duration.ofSeconds(5))));
        assertTrue(e.getMessage().startsWith("Spark master spark://127.0.0.1:1 cannot be reached (127.0.0.1:1: "),
                e.getMessage());

        StringWriter err = new StringWriter();
        Path out = dir.resolve("never");
        int code = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> SparkTrain.run(new String[] {
                "--master", "spark://127.0.0.1:1", "--out", out.toString()}, new PrintWriter(err)));
        assertEquals(1, code);
        assertTrue(err.toString().startsWith("transcnn-spark: Spark master spark://127.0.0.1:1 cannot be reached"),
                err.toString());
        assertFalse(Files.exists(out), "nothing written");
    }
}
