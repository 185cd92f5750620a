package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.data.DataConfig;
import org.transcnn.data.Finite;
import org.transcnn.data.ImageNetClasses;
import org.transcnn.data.FashionMnist;
import org.transcnn.data.ImageDataset;
import org.transcnn.data.ImagePreprocessor;
import org.transcnn.io.ModelFile;
import org.transcnn.models.ReleasedWeights;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;
import org.transcnn.train.Augment;
import org.transcnn.train.Batches;
import org.transcnn.train.Evaluation;
import org.transcnn.train.TestTimeAugment;
import org.transcnn.train.Trainer;
import org.transcnn.weights.TransCnnWeights;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

/**
 * {@code transcnn predict}: classifies image files with an official checkpoint ({@code --weights}) or a model
 * trained by {@code transcnn train} ({@code --model}, see {@link #fashionInput}) and prints, per image, the top
 * classes with their probabilities (softmax of the logits). Images are preprocessed by the release's
 * {@link DataConfig} (bicubic, crop fraction 0.875, ImageNet mean and std) at the chosen input size. A 1000-class
 * model is labelled with the ImageNet class names shipped in the jar, any other with class indices or
 * {@code --labels}. A file that cannot be read as an image (missing, not a regular file, more than
 * {@code --max-pixels} pixels, CMYK, truncated or corrupt, or too large for the heap) gets one error line on stderr
 * and the others are still scored; so does an image whose model output is not finite (NaN or infinite
 * probabilities, from overflowing weights). The exit code is then 1.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Classify JPEG/PNG images with an official checkpoint or a model trained by 'train': top "
                + "classes with probabilities.")
final class PredictCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--weights", description = "PyTorch state_dict checkpoint (.pth), e.g. a released one")
    Path weights;

    @Option(names = "--model", description = "or a model.zip written by 'transcnn train': Fashion-MNIST classes, "
            + "each image scaled to 28x28 gray and centred on the 32x32 canvas as in training, with the run's "
            + "test-time augmentation (its mirror too for runs that trained on mirrored images)")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image files (JPEG, PNG, BMP, GIF, TIFF)")
    List<Path> images;

    @Option(names = "--height", defaultValue = "" + ReleasedWeights.NATIVE_SIZE, description = "input height (default 256)")
    int height;

    @Option(names = "--width", defaultValue = "" + ReleasedWeights.NATIVE_SIZE, description = "input width (default 256)")
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

    @Option(names = "--max-pixels", defaultValue = "" + ImagePreprocessor.DEFAULT_MAX_PIXELS,
            description = "refuse images of more than this many pixels (width x height, read from the header "
                    + "before decoding; default 8192 x 8192 = ${DEFAULT-VALUE}, about 1 GB of heap)")
    long maxPixels;

    @Mixin
    ArchitectureOptions architecture;

    @Override
    public Integer call() throws Exception {
        if (top < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--top " + top + ": expected at least 1");
        }
        if (batch < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch " + batch + ": expected at least 1");
        }
        if (maxPixels < 1 || maxPixels > ImagePreprocessor.MAX_PIXELS_CEILING) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--max-pixels " + maxPixels
                    + ": expected 1 to " + ImagePreprocessor.MAX_PIXELS_CEILING);
        }
        if ((weights == null) == (model == null)) {
            throw new IllegalArgumentException("give either --weights F.pth (a PyTorch checkpoint) or --model "
                    + "OUT/model.zip (a model written by 'transcnn train')");
        }
        if (model != null) {
            ComputationGraph net = ModelFile.load(model);
            TestTimeAugment views = Trainer.readState(model).options.tta();
            List<String> names = labels == null ? FashionMnist.CLASSES
                    : ImageNetClasses.read(labels, "--labels", FashionMnist.CLASSES.size());
            return score(x -> Evaluation.probabilities(net, x, views), names,
                    image -> fashionInput(ImagePreprocessor.read(image, maxPixels)));
        }
        ImagePreprocessor preprocessor = new ImagePreprocessor(
                DataConfig.imagenet(height, width).withCropFraction(cropFraction), maxPixels);
        TransCNN.Builder defaults = architecture.defaults(3, height, width);
        TransCnnWeights.Checked checked = TransCnnWeights.readChecked(weights, defaults);
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
        ComputationGraph net = TransCnnWeights.init(checked, defaults);
        return score(net::outputSingle, names, preprocessor::load);
    }

    /**
     * The input a model trained by {@code transcnn train} expects for {@code image}: its luminance scaled to 28x28
     * (bilinear), then exactly the evaluation path of training ({@link Batches}: centred on the 32x32 canvas,
     * normalised with the Fashion-MNIST mean and standard deviation). Fashion-MNIST's images are light garments on
     * black; a photo of a dark garment on white would need inverting first.
     */
    static INDArray fashionInput(BufferedImage image) {
        int side = 28;
        BufferedImage gray = new BufferedImage(side, side, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = gray.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image, 0, 0, side, side, null);
        g.dispose();
        byte[] pixels = new byte[side * side];
        gray.getRaster().getDataElements(0, 0, side, side, pixels);
        ImageDataset one = new ImageDataset(pixels, new byte[1], 1, side, side, FashionMnist.CLASSES.size());
        return new Batches(one, Trainer.INPUT_SIZE).batch(new int[] {0}, 0, 1, Augment.NONE, new Random(0), 0)
                .getFeatures(0);
    }

    /** Scores the images {@code batch} at a time, printing each one's top classes or its error line. */
    private int score(UnaryOperator<INDArray> classify, List<String> names, ImageLoader loader) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int failed = 0;
        for (int from = 0; from < images.size(); from += batch) {
            List<Path> read = new ArrayList<>();
            List<INDArray> inputs = new ArrayList<>();
            for (Path image : images.subList(from, Math.min(images.size(), from + batch))) {
                INDArray input = loadOrReport(image, loader, err);
                if (input == null) {
                    failed++;
                } else {
                    inputs.add(input);
                    read.add(image);
                }
            }
            if (read.isEmpty()) {
                continue;
            }
            INDArray probabilities = classify.apply(Nd4j.concat(0, inputs.toArray(new INDArray[0])));
            for (int i = 0; i < read.size(); i++) {
                float[] p = probabilities.getRow(i).toFloatVector();
                int bad = Finite.firstNonFinite(p);
                if (bad >= 0) {
                    err.println("transcnn: " + read.get(i) + ": the model's output is not finite (" + p[bad]
                            + " at class " + bad + "), expected probabilities; not scored");
                    failed++;
                } else {
                    print(out, read.get(i), p, names);
                }
            }
        }
        out.flush();
        err.flush();
        return failed == 0 ? 0 : 1;
    }

    /** Reads one image; the way {@link #loadOrReport} is given it. */
    @FunctionalInterface
    interface ImageLoader {
        INDArray load(Path image) throws IOException;
    }

    /**
     * Loads {@code image}, or prints one line on {@code err} saying why not and returns null. Every failure is this
     * image's own, out of memory included (the decoded image was the allocation that failed, and it is garbage once
     * the error is caught), so that the other images of the batch are still scored.
     */
    static INDArray loadOrReport(Path image, ImageLoader loader, PrintWriter err) {
        String message;
        try {
            return loader.load(image);
        } catch (IOException e) {
            message = e.getMessage();
        } catch (RuntimeException e) {
            message = image + ": cannot preprocess the image (" + e + ")";
        } catch (OutOfMemoryError e) {
            message = image + ": out of memory reading the image (" + e.getMessage() + "); lower --max-pixels or "
                    + "give Java more heap (TRANSCNN_JAVA_OPTS=-Xmx4g)";
        }
        err.println("transcnn: " + message.replaceAll("\\s+", " ").trim());
        return null;
    }

    private void print(PrintWriter out, Path image, float[] p, List<String> names) {
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
        return ImageNetClasses.read(labels, "--labels", classes);
    }
}
