package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;
import org.transcnn.bench.Benchmark;
import org.transcnn.models.ModelSummary;
import org.transcnn.models.Preset;
import org.transcnn.models.TransCNN;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code transcnn benchmark}: inference and training images/s of a preset and the peak resident memory. */
@Command(name = "benchmark", mixinStandardHelpOptions = true,
        description = "Median images/s of inference (and training with --train) on random data, and peak RSS.")
final class BenchmarkCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--preset", required = true, description = "SMALL, BASE, MEDIUM or LARGE")
    String preset;

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

    @Option(names = "--warmup", defaultValue = "2", description = "untimed warm-up iterations (default 2)")
    int warmup;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Preset p = Preset.parse(preset);
        TransCNN model = TransCNN.builder(p).inputSize(height, width).build();
        ComputationGraph net = model.init();
        Benchmark.Result r = Benchmark.run(net, batch, 3, height, width, model.config().numClasses(), train, warmup,
                iters);
        long macs = ModelSummary.of(model).macs();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode o = mapper.createObjectNode();
            o.put("preset", p.name());
            o.put("batch", batch);
            o.put("height", height);
            o.put("width", width);
            o.put("iters", iters);
            o.put("fwd_img_s", r.inferenceImagesPerSecond());
            if (train) {
                o.put("train_img_s", r.trainImagesPerSecond());
            } else {
                o.putNull("train_img_s");
            }
            o.put("peak_rss_mb", r.peakRssMb());
            o.put("macs_per_image", macs);
            o.put("fwd_gmac_s", r.inferenceImagesPerSecond() * macs / 1e9);
            out.println(mapper.writeValueAsString(o));
        } else {
            out.printf("%s batch %d, %dx%d: inference %.2f images/s (%.1f GMAC/s)%s, peak RSS %d MB%n", p.name(),
                    batch, height, width, r.inferenceImagesPerSecond(), r.inferenceImagesPerSecond() * macs / 1e9,
                    train ? String.format(", training %.2f images/s", r.trainImagesPerSecond()) : "",
                    r.peakRssMb());
        }
        return 0;
    }
}
