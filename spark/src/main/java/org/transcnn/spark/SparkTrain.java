package org.transcnn.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.transcnn.data.FashionMnist;
import org.transcnn.io.ModelFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code spark-submit --class org.transcnn.spark.SparkTrain}: trains TransCNN on Fashion-MNIST on a Spark cluster
 * (see {@link SparkTraining}) and writes {@code OUT/model.zip}, a plain DL4J model file the core library loads.
 */
@Command(name = "transcnn-spark", mixinStandardHelpOptions = true,
        description = "Train TransCNN on Fashion-MNIST on Apache Spark (DL4J parameter averaging).")
public final class SparkTrain implements Callable<Integer> {

    @Option(names = "--master", description = "Spark master (default: the one spark-submit sets)")
    String master;

    @Option(names = "--data", description = "directory with the Fashion-MNIST .gz files, read on the driver "
            + "(default ${DEFAULT-VALUE}; the embedded sample when absent)")
    Path data = FashionMnist.DEFAULT_DIR;

    @Option(names = "--out", required = true, description = "output directory for model.zip")
    Path out;

    @Option(names = "--epochs", description = "epochs (default ${DEFAULT-VALUE})")
    int epochs = 2;

    @Option(names = "--batch-size", description = "batch size per worker (default ${DEFAULT-VALUE})")
    int batchSize = 64;

    @Option(names = "--averaging-frequency", description = "batches each worker trains between two parameter "
            + "averagings (default ${DEFAULT-VALUE})")
    int averagingFrequency = 5;

    @Option(names = "--lr", description = "Adam learning rate (default ${DEFAULT-VALUE})")
    double lr = 2e-3;

    @Option(names = "--width", description = "channels of stage 1; stages double it (default ${DEFAULT-VALUE})")
    int width = 16;

    @Option(names = "--limit", description = "use only the first N training images (default: all)")
    int limit;

    @Option(names = "--seed", description = "random seed (default ${DEFAULT-VALUE})")
    long seed = 42;

    /** How long an unreachable standalone master is waited for before giving up. */
    static final Duration MASTER_TIMEOUT = Duration.ofSeconds(10);

    @Override
    public Integer call() throws Exception {
        SparkTraining.Options o = new SparkTraining.Options(data, epochs, batchSize, averagingFrequency, lr, 0.05, 0.1,
                width, limit, seed);
        SparkConf conf = new SparkConf().setAppName("transcnn-spark");
        if (master != null) {
            conf.setMaster(master);
        }
        if (!conf.contains("spark.master")) {
            throw new IllegalArgumentException("no Spark master: pass --master or run through spark-submit");
        }
        SparkTraining.checkMaster(conf.get("spark.master"), MASTER_TIMEOUT);
        Files.createDirectories(out);
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            ComputationGraph net = SparkTraining.network(o);
            SparkTraining.train(sc, net, o, System.err);
            Path model = out.resolve("model.zip");
            ModelFile.save(net, model, true);
            System.err.println("saved " + model);
        }
        return 0;
    }

    /** Runs the command line and returns its exit code; every failure is one line on {@code err}. */
    public static int run(String[] args, PrintWriter err) {
        CommandLine cli = new CommandLine(new SparkTrain());
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, c, p) -> {
            String message = e instanceof IllegalArgumentException ? e.getMessage() : e.toString();
            err.println("transcnn-spark: " + message.replaceAll("\\s+", " ").trim());
            err.flush();
            return 1;
        });
        int code = cli.execute(args);
        err.flush();
        return code;
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.err, true)));
    }
}
