package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.data.DataConfig;
import org.transcnn.data.ImageNetClasses;
import org.transcnn.data.ImagePreprocessor;
import org.transcnn.models.Preset;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import org.transcnn.weights.TransCnnWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

/**
 * {@code transcnn predict}: classifies image files with an official checkpoint and prints, per image, the top
 * classes with their probabilities (softmax of the logits). Images are preprocessed by the release's
 * {@link DataConfig} (bicubic, crop fraction 0.875, ImageNet mean and std) at the chosen input size. A 1000-class
 * model is labelled with the ImageNet class names shipped in the jar, any other with class indices or
 * {@code --labels}. A file that cannot be read as an image gets one error line on stderr and the others are still
 * scored; the exit code is then 1.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Classify JPEG/PNG images with an official checkpoint: top classes with probabilities.")
final class PredictCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--weights", required = true, description = "PyTorch state_dict checkpoint (.pth)")
    Path weights;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image files (JPEG, PNG, BMP, GIF, TIFF)")
    List<Path> images;

    @Option(names = "--height", defaultValue = "" + Preset.NATIVE_SIZE, description = "input height (default 256)")
    int height;

    @Option(names = "--width", defaultValue = "" + Preset.NATIVE_SIZE, description = "input width (default 256)")
    int width;

    @Option(names = "--crop-fraction", defaultValue = "" + DataConfig.DEIT_CROP_FRACTION,
            description = "centre-crop fraction (default 0.875: resize to size/0.875, crop size)")
    double cropFraction;

    @Option(names = "--top", defaultValue = "5", description = "classes printed per image (default 5)")
    int top;

    @Option(names = "--labels", description = "class names, one per line in class order (default: the ImageNet "
            + "names for a 1000-class model, class indices otherwise)")
    Path labels;

    @Option(names = "--batch", defaultValue = "8", description = "images per forward pass (default 8)")
    int batch;

    @Mixin
    ArchitectureOptions architecture;

    @Override
    public Integer call() throws Exception {
        if (top < 1 || batch < 1) {
            throw new IllegalArgumentException("--top and --batch must be >= 1, got " + top + " and " + batch);
        }
        ImagePreprocessor preprocessor = new ImagePreprocessor(
                DataConfig.imagenet(height, width).withCropFraction(cropFraction));
        TransCnnConfig defaults = architecture.defaults().inputSize(height, width).build();
        TransCnnWeights.Checked checked = TransCnnWeights.readChecked(weights, TransCNN.builder(defaults));
        TransCnnConfig config = checked.config();
        if (config.numClasses() == 0) {
            throw new IllegalArgumentException(weights + ": the checkpoint has no classifier ("
                    + TransCNN.LOGITS + "), so there are no classes to predict");
        }
        if (config.inChannels() != 3) {
            throw new IllegalArgumentException(weights + ": the checkpoint takes " + config.inChannels()
                    + " input channel(s); predict feeds RGB images (3)");
        }
        List<String> names = names(config.numClasses());
        ComputationGraph net = TransCnnWeights.init(checked, TransCNN.builder(defaults));
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int failed = 0;
        for (int from = 0; from < images.size(); from += batch) {
            List<Path> read = new ArrayList<>();
            List<INDArray> inputs = new ArrayList<>();
            for (Path image : images.subList(from, Math.min(images.size(), from + batch))) {
                try {
                    inputs.add(preprocessor.load(image));
                    read.add(image);
                } catch (IOException e) {
                    err.println("transcnn: " + e.getMessage().replaceAll("\\s+", " ").trim());
                    failed++;
                }
            }
            if (read.isEmpty()) {
                continue;
            }
            INDArray probabilities = net.outputSingle(Nd4j.concat(0, inputs.toArray(new INDArray[0])));
            for (int i = 0; i < read.size(); i++) {
                print(out, read.get(i), probabilities.getRow(i), names);
            }
        }
        out.flush();
        err.flush();
        return failed == 0 ? 0 : 1;
    }

    private void print(PrintWriter out, Path image, INDArray probabilities, List<String> names) {
        float[] p = probabilities.toFloatVector();
        out.println(image);
        IntStream.range(0, p.length).boxed()
                .sorted(Comparator.comparingDouble((Integer c) -> -p[c]).thenComparingInt(c -> c))
                .limit(top)
                .forEach(c -> out.printf("  %.4f  %4d%s%n", p[c], c, names == null ? "" : "  " + names.get(c)));
    }

    /** Class names for {@code classes} outputs, or null to print indices only. */
    private List<String> names(int classes) throws IOException {
        if (labels == null) {
            return classes == ImageNetClasses.COUNT ? ImageNetClasses.names() : null;
        }
        List<String> lines = Files.readAllLines(labels, StandardCharsets.UTF_8);
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) {
            lines.remove(lines.size() - 1);
        }
        if (lines.size() != classes) {
            throw new IllegalArgumentException("--labels " + labels + " has " + lines.size() + " names, the model has "
                    + classes + " classes");
        }
        return lines;
    }
}
