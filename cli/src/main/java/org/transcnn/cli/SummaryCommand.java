package org.transcnn.cli;

import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;
import org.transcnn.models.ModelSummary;
import org.transcnn.models.Preset;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code transcnn summary}: parameters and multiply-adds per stage and in total, without allocating the model. */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "Per-stage parameters and multiply-adds of a preset.")
final class SummaryCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--preset", required = true, description = "SMALL, BASE, MEDIUM or LARGE")
    String preset;

    @Option(names = "--classes", defaultValue = "1000", description = "classes of the head, 0 for none (default 1000)")
    int classes;

    @Option(names = "--height", defaultValue = "256", description = "input height (default 256)")
    int height;

    @Option(names = "--width", defaultValue = "256", description = "input width (default 256)")
    int width;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Preset p = Preset.parse(preset);
        TransCNN model = TransCNN.builder(p).numClasses(classes).inputSize(height, width).build();
        ModelSummary summary = ModelSummary.of(model);
        TransCnnConfig c = model.config();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode root = mapper.createObjectNode();
            root.put("preset", p.name());
            root.put("paper_name", p.weights().paperName());
            root.put("release_name", p.weights().releaseName());
            root.put("params", summary.params());
            root.put("macs", summary.macs());
            root.put("classes", c.numClasses());
            root.put("height", c.height());
            root.put("width", c.width());
            ArrayNode parts = root.putArray("parts");
            for (ModelSummary.Part part : summary.parts()) {
                parts.addObject().put("name", part.name()).put("params", part.params()).put("macs", part.macs());
            }
            out.println(mapper.writeValueAsString(root));
        } else {
            out.printf("%s (paper %s, release %s), %d classes, input %dx%d (HxW)%n", p.name(),
                    p.weights().paperName() == null ? "-" : p.weights().paperName(), p.weights().releaseName(),
                    c.numClasses(), c.height(), c.width());
            out.printf("%-8s %14s %16s%n", "part", "params", "multiply-adds");
            for (ModelSummary.Part part : summary.parts()) {
                out.printf("%-8s %,14d %,16d%n", part.name(), part.params(), part.macs());
            }
            out.printf("%-8s %,14d %,16d  (%.3f GMAC)%n", "total", summary.params(), summary.macs(),
                    summary.macs() / 1e9);
        }
        return 0;
    }
}
