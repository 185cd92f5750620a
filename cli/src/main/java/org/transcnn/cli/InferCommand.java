package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.data.Finite;
import org.transcnn.data.Npy;
import org.transcnn.io.OutputFiles;
import org.transcnn.io.RegularFiles;
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
 *
 * <p>The input must be a regular file (a FIFO or device is refused by name) holding only finite values: a NaN or
 * infinity would turn every output into NaN without an error, so the first one is reported with its index. The
 * outputs are checked the same way before any is written; a non-finite output (the weights or an extreme input
 * overflow float32) fails the command with exit code 1, naming the output, and writes nothing. {@code --out} is
 * checked before any computation: a path that is not a directory, or one that cannot be created or written, fails at
 * once.
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

    @Option(names = "--allow-non-finite", description = "load a checkpoint holding NaN or infinite weights and write "
            + "non-finite outputs (both refused by default, naming the tensor or output), to inspect what a diverged "
            + "model computes")
    boolean allowNonFinite;

    @Override
    public Integer call() throws Exception {
        RegularFiles.require(input, "--input");
        // before any computation: a run that cannot write its outputs should not first spend minutes computing them
        OutputFiles.checkDirectory(out, "--out");
        INDArray x = Npy.readFinite(input);
        if (x.rank() != 4) {
            throw new IllegalArgumentException(input + ": input must be NCHW (rank 4), got shape "
                    + Arrays.toString(x.shape()));
        }
        Map<String, Path> outputs = new LinkedHashMap<>();
        outputs.put("logits", out.resolve("logits.npy"));
        for (int s = 1; s <= 4; s++) {
            outputs.put("stage" + s, out.resolve("stage" + s + ".npy"));
        }
        for (Path p : outputs.values()) {
            if (Files.exists(p) && !overwrite) {
                throw new IllegalArgumentException(p + " already exists; choose another --out or pass --overwrite");
            }
        }
        TransCNN.Builder defaults = architecture.defaults((int) x.size(1), (int) x.size(2), (int) x.size(3));
        TransCnnWeights.Checked checked = TransCnnWeights.readChecked(weights, defaults, allowNonFinite);
        ComputationGraph net = TransCnnWeights.init(checked, defaults);
        TransCnnConfig config = checked.config();
        Map<String, INDArray> acts = net.feedForward(x, false);
        String logits = config.numClasses() > 0 ? TransCNN.LOGITS : TransCNN.POOL;
        Map<String, INDArray> results = new LinkedHashMap<>();
        for (int s = 1; s <= 4; s++) {
            results.put("stage" + s, acts.get(TransCNN.stageVertex(config, s - 1)));
        }
        results.put("logits", acts.get(logits));
        // network order: the first to overflow is named; with --allow-non-finite they are the expected result
        for (Map.Entry<String, INDArray> r : allowNonFinite ? Map.<String, INDArray>of().entrySet()
                : results.entrySet()) {
            try {
                Finite.require(r.getValue(), "output " + r.getKey() + " (" + outputs.get(r.getKey()) + ")");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + "; nothing written (the weights or the input "
                        + "overflow float32)", e);
            }
        }
        Files.createDirectories(out);
        for (Map.Entry<String, INDArray> r : results.entrySet()) {
            Npy.write(r.getValue(), outputs.get(r.getKey()));
        }
        spec.commandLine().getOut().printf("wrote %s (logits %s) and stage1..stage4.npy%n", out,
                Arrays.toString(acts.get(logits).shape()));
        return 0;
    }
}
