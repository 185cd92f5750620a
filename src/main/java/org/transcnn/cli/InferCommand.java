package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.data.Npy;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import org.transcnn.weights.TransCnnWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code transcnn infer}: builds the model a PyTorch checkpoint describes, runs it in inference mode on an NCHW
 * float32 {@code .npy} batch and writes {@code logits.npy} and {@code stage1.npy..stage4.npy}.
 */
@Command(name = "infer", mixinStandardHelpOptions = true,
        description = "Run an official checkpoint on a .npy batch; write logits and the four stage outputs.")
final class InferCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--weights", required = true, description = "PyTorch state_dict checkpoint (.pth)")
    Path weights;

    @Option(names = "--input", required = true, description = "input batch, NCHW float32 .npy")
    Path input;

    @Option(names = "--out", required = true, description = "output directory (created if absent)")
    Path out;

    @Mixin
    ArchitectureOptions architecture;

    @Option(names = "--overwrite", description = "replace output files that already exist in --out")
    boolean overwrite;

    @Option(names = "--allow-non-finite", description = "load a checkpoint holding NaN or infinite weights (refused "
            + "by default, naming the tensor), to inspect what a diverged model computes")
    boolean allowNonFinite;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("input file " + input + " does not exist");
        }
        INDArray x = Npy.read(input);
        if (x.rank() != 4) {
            throw new IllegalArgumentException(input + ": input must be NCHW (rank 4), got shape "
                    + Arrays.toString(x.shape()));
        }
        Map<String, Path> outputs = new LinkedHashMap<>();
        outputs.put("logits", out.resolve("logits.npy"));
        for (int s = 1; s <= 4; s++) {
            outputs.put("stage" + s, out.resolve("stage" + s + ".npy"));
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " exists and is not a directory");
        }
        for (Path p : outputs.values()) {
            if (Files.exists(p) && !overwrite) {
                throw new IllegalArgumentException(p + " already exists; choose another --out or pass --overwrite");
            }
        }
        TransCnnConfig defaults = architecture.defaults().inChannels((int) x.size(1)).inputSize((int) x.size(2), (int) x.size(3)).build();
        TransCnnWeights.Checked checked = TransCnnWeights.readChecked(weights, TransCNN.builder(defaults),
                allowNonFinite);
        ComputationGraph net = TransCnnWeights.init(checked, TransCNN.builder(defaults));
        TransCnnConfig config = checked.config();
        Map<String, INDArray> acts = net.feedForward(x, false);
        Files.createDirectories(out);
        String logits = config.numClasses() > 0 ? TransCNN.LOGITS : TransCNN.POOL;
        Npy.write(acts.get(logits), outputs.get("logits"));
        for (int s = 1; s <= 4; s++) {
            Npy.write(acts.get(TransCNN.stageOutput(config, s)), outputs.get("stage" + s));
        }
        spec.commandLine().getOut().printf("wrote %s (logits %s) and stage1..stage4.npy%n", out,
                Arrays.toString(acts.get(logits).shape()));
        return 0;
    }
}
