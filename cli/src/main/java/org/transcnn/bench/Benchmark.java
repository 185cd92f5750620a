package org.transcnn.bench;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Throughput harness: warm-up iterations, then timed iterations of inference ({@code output}, inference mode) and
 * optionally training ({@code fit}: forward, backward and parameter update in training mode) on random data; reports
 * the median images/s and the peak resident memory of the process.
 */
public final class Benchmark {

    /** Measured numbers; {@code trainImagesPerSecond} is NaN when training was not measured. */
    public record Result(double inferenceImagesPerSecond, double trainImagesPerSecond, long peakRssMb) {
    }

    private Benchmark() {
    }

    /** Runs {@code warmup} untimed and {@code iterations} timed passes of batch {@code batch}. */
    public static Result run(ComputationGraph net, int batch, int channels, int height, int width, int classes,
            boolean train, int warmup, int iterations) {
        if (batch < 1 || warmup < 0 || iterations < 1) {
            throw new IllegalArgumentException("need batch >= 1, warmup >= 0, iterations >= 1; got " + batch + ", "
                    + warmup + ", " + iterations);
        }
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, channels, height, width);
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, classes);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % classes, 1f);
        }
        double fwd = median(warmup, iterations, () -> net.output(x));
        double trn = Double.NaN;
        if (train) {
            MultiDataSet data = new MultiDataSet(x, y);
            trn = median(warmup, iterations, () -> net.fit(data));
        }
        return new Result(batch / fwd, train ? batch / trn : Double.NaN, peakRssMb());
    }

    /**
     * Single-precision matrix-multiply throughput of ND4J on this machine in GFLOP/s (2 n^3 flops per product of two
     * n x n matrices; median of {@code iterations} after one warm-up): the roofline for the models' GFLOP/s.
     */
    public static double gemmGflops(int n, int iterations) {
        Nd4j.getRandom().setSeed(2);
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.create(DataType.FLOAT, n, n);
        double seconds = median(1, iterations, () -> a.mmuli(b, c));
        return 2.0 * n * n * n / seconds / 1e9;
    }

    private static double median(int warmup, int iterations, Runnable pass) {
        for (int i = 0; i < warmup; i++) {
            pass.run();
        }
        double[] seconds = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long t = System.nanoTime();
            pass.run();
            seconds[i] = (System.nanoTime() - t) / 1e9;
        }
        Arrays.sort(seconds);
        return iterations % 2 == 1 ? seconds[iterations / 2]
                : (seconds[iterations / 2 - 1] + seconds[iterations / 2]) / 2;
    }

    /** Peak resident set size of this process in MB (Linux VmHWM), or -1 where unknown. */
    public static long peakRssMb() {
        return processStatusMb("VmHWM");
    }

    /** Current resident set size of this process in MB (Linux VmRSS), or -1 where unknown. */
    public static long rssMb() {
        return processStatusMb("VmRSS");
    }

    /** A kB field of /proc/self/status in MB, or -1 where unknown. */
    private static long processStatusMb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
