package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.zoo.model.ResNet50;
import org.nd4j.linalg.learning.config.Adam;
import org.transcnn.bench.Benchmark;
import org.transcnn.bench.Macs;
import org.transcnn.models.ModelSummary;
import org.transcnn.models.Preset;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * {@code transcnn benchmark}: inference and training images/s of a preset (or DL4J's ResNet-50), the achieved
 * GFLOP/s, optionally ND4J's matrix-multiply GFLOP/s as the roofline, and the peak resident memory.
 */
@Command(name = "benchmark", mixinStandardHelpOptions = true,
        description = "Median images/s of inference (and training with --train) on random data, and peak RSS.")
final class BenchmarkCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--preset", required = true, description = "SMALL, BASE, MEDIUM, LARGE, or RESNET50 (DL4J's "
            + "zoo ResNet-50, the paper's speed reference)")
    String preset;

    @Option(names = "--activation", defaultValue = "SILU", description = "TransCNN activation: SILU (default) or GELU")
    TransCnnConfig.Act activation;

    @Option(names = "--roofline", description = "also measure ND4J's 2048^3 float matrix multiply (GFLOP/s) and "
            + "report each model's GFLOP/s against it")
    boolean roofline;

    @Option(names = "--batch", defaultValue = "8", description = "batch size (default 8)")
    int batch;

    @Option(names = "--height", defaultValue = "256", description = "input height (default 256)")
    int height;

    @Option(names = "--width", defaultValue = "256", description = "input width (default 256)")
    int width;

    @Option(names = "--train", description = "also measure training (forward, backward, update)")
    boolean train;

    @Option(names = "--iters", defaultValue = "5", description = "timed iterations (default 5), after the warm-up ones")
    int iters;

    /** Ten: the JIT compiler is still compiling the kernels during the first few passes of a JVM (steady state). */
    @Option(names = "--warmup", defaultValue = "10", description = "untimed warm-up iterations (default 10)")
    int warmup;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        boolean resnet = preset.equalsIgnoreCase("RESNET50");
        String name;
        ComputationGraph net;
        long macs;
        int classes;
        if (resnet) {
            name = "RESNET50";
            classes = 1000;
            net = ResNet50.builder().numClasses(classes).inputShape(new int[] {3, height, width})
                    .updater(new Adam(1e-3)).build().init();
            macs = Macs.convAndDense(net.getConfiguration(), InputType.convolutional(height, width, 3));
        } else {
            Preset p = Preset.parse(preset);
            name = p.name();
            TransCNN model = TransCNN.builder(p).inputSize(height, width).activation(activation).build();
            net = model.init();
            macs = ModelSummary.of(model).macs();
            classes = model.config().numClasses();
        }
        Benchmark.Result r = Benchmark.run(net, batch, 3, height, width, classes, train, warmup, iters);
        double gemm = roofline ? Benchmark.gemmGflops(2048, 5) : Double.NaN;
        // flops: 2 per multiply-add; a training step costs about 3 forward passes (forward, input and weight grads)
        double fwdGflops = 2.0 * macs * r.inferenceImagesPerSecond() / 1e9;
        double trainGflops = 6.0 * macs * r.trainImagesPerSecond() / 1e9;
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode o = mapper.createObjectNode();
            o.put("preset", name);
            o.put("activation", resnet ? "RELU" : activation.name());
            o.put("batch", batch);
            o.put("height", height);
            o.put("width", width);
            o.put("iters", iters);
            o.put("fwd_img_s", r.inferenceImagesPerSecond());
            if (train) {
                o.put("train_img_s", r.trainImagesPerSecond());
                o.put("train_gflop_s", trainGflops);
            } else {
                o.putNull("train_img_s");
            }
            o.put("peak_rss_mb", r.peakRssMb());
            o.put("macs_per_image", macs);
            o.put("fwd_gmac_s", r.inferenceImagesPerSecond() * macs / 1e9);
            o.put("fwd_gflop_s", fwdGflops);
            if (roofline) {
                o.put("gemm_gflop_s", gemm);
            }
            out.println(mapper.writeValueAsString(o));
        } else {
            out.printf("%s batch %d, %dx%d: inference %.2f images/s (%.1f GFLOP/s)%s, peak RSS %d MB%s%n", name,
                    batch, height, width, r.inferenceImagesPerSecond(), fwdGflops,
                    train ? String.format(", training %.2f images/s (%.1f GFLOP/s)", r.trainImagesPerSecond(),
                            trainGflops) : "",
                    r.peakRssMb(), roofline ? String.format("; matrix multiply %.1f GFLOP/s", gemm) : "");
        }
        return 0;
    }
}
