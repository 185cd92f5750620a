package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.Fixtures;
import org.transcnn.SpecialFiles;
import org.transcnn.data.DataConfig;
import org.transcnn.data.HostileImages;
import org.transcnn.data.ImageNetClasses;
import org.transcnn.data.ImagePreprocessor;
import org.transcnn.models.TransCNN;
import org.transcnn.weights.TorchWriter;
import org.transcnn.weights.TransCnnWeights;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code transcnn predict} on fixture checkpoints and generated images, with a bogus file among them. */
class PredictCommandTest {

    static final String F = "transcnn-mini-128";

    @TempDir
    Path dir;

    Path image(String name, String format, int h, int w, long seed) throws IOException {
        Random random = new Random(seed);
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, random.nextInt(1 << 24));
            }
        }
        Path file = dir.resolve(name);
        assertTrue(ImageIO.write(image, format, file.toFile()));
        return file;
    }

    /** Lines "  P  INDEX[  NAME]" following the line naming {@code image}. */
    static List<String[]> block(String out, Path image, int k) {
        List<String> lines = out.lines().toList();
        int at = lines.indexOf(image.toString());
        assertTrue(at >= 0, "no block for " + image + " in:\n" + out);
        return lines.subList(at + 1, at + 1 + k).stream().map(l -> l.trim().split("\\s{2,}")).toList();
    }

    @Test
    void scoresEveryImageAndReportsTheBogusFileOnItsOwnLine() throws Exception {
        Path png = image("a.png", "png", 100, 150, 1);
        Path jpg = image("b.jpg", "jpg", 128, 128, 2);
        Path bogus = dir.resolve("c.png");
        Files.writeString(bogus, "this is not a PNG");
        Path weights = Fixtures.file(F, "model.pth");
        TransCnnCliAccess.Result r = TransCnnCliAccess.run("predict", "--weights", weights.toString(),
                "--head-dim", "32", "--height", "128", "--width", "128", png.toString(), bogus.toString(),
                jpg.toString());
        assertEquals(1, r.code(), "a file failed: exit code 1");
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("c.png") && r.err().contains("not an image"), r.err());

        ComputationGraph net = TransCnnWeights.loadModel(weights, Fixtures.builder(F));
        ImagePreprocessor pre = new ImagePreprocessor(DataConfig.imagenet(128, 128));
        for (Path image : List.of(png, jpg)) {
            List<String[]> rows = block(r.out(), image, 5);
            INDArray p = net.outputSingle(pre.load(image));
            double previous = 1;
            for (String[] row : rows) {
                assertEquals(2, row.length, "7 classes: indices, no names");
                int c = Integer.parseInt(row[1]);
                double printed = Double.parseDouble(row[0]);
                assertEquals(String.format(Locale.ROOT, "%.4f", p.getDouble(0, c)), row[0]);
                assertTrue(printed <= previous, "sorted by probability");
                previous = printed;
            }
            assertEquals(p.argMax(1).getInt(0), Integer.parseInt(rows.get(0)[1]));
        }
    }

    @Test
    void labelsFileNamesTheClassesAndMustMatchTheirCount() throws Exception {
        Path png = image("a.png", "png", 64, 64, 3);
        Path labels = dir.resolve("labels.txt");
        Files.write(labels, List.of("zero", "one", "two", "three", "four", "five", "six"));
        String[] args = {"predict", "--weights", Fixtures.file(F, "model.pth").toString(), "--head-dim", "32",
                "--height", "128", "--width", "128", "--top", "3", "--labels", labels.toString(), png.toString()};
        TransCnnCliAccess.Result r = TransCnnCliAccess.run(args);
        assertEquals(0, r.code(), r.err());
        List<String> names = Files.readAllLines(labels);
        for (String[] row : block(r.out(), png, 3)) {
            assertEquals(names.get(Integer.parseInt(row[1])), row[2]);
        }
        Files.write(labels, List.of("zero", "one"));
        TransCnnCliTest.assertError(TransCnnCliAccess.run(args), "has 2 names, the model has 7 classes");
    }

    @Test
    void aThousandClassModelIsLabelledWithImageNetNames() throws Exception {
        String f = Fixtures.WITH_GRADS;
        ComputationGraph net = TransCnnWeights.loadForFineTuning(Fixtures.file(f, "model.pth"),
                Fixtures.builder(f).numClasses(ImageNetClasses.COUNT));
        Path weights = dir.resolve("imagenet.pth");
        TorchWriter.write(weights, TransCnnWeights.toTorch(net.getConfiguration(), net.paramTable()), Map.of());
        Path png = image("a.png", "png", 80, 80, 4);
        TransCnnCliAccess.Result r = TransCnnCliAccess.run("predict", "--weights", weights.toString(),
                "--head-dim", "16", "--grid-sizes", "4,4,2,1", "--ds-ratios", "4,2,2,1", "--height", "64",
                "--width", "64", png.toString());
        assertEquals(0, r.code(), r.err());
        for (String[] row : block(r.out(), png, 5)) {
            assertEquals(ImageNetClasses.names().get(Integer.parseInt(row[1])), row[2]);
        }
    }

    @Test
    void aHeadlessCheckpointIsRefused() throws Exception {
        String f = Fixtures.WITH_GRADS;
        ComputationGraph net = TransCnnWeights.loadForFineTuning(Fixtures.file(f, "model.pth"),
                Fixtures.builder(f).numClasses(0));
        Path weights = dir.resolve("headless.pth");
        TorchWriter.write(weights, TransCnnWeights.toTorch(net.getConfiguration(), net.paramTable()), Map.of());
        TransCnnCliTest.assertError(TransCnnCliAccess.run("predict", "--weights", weights.toString(), "--head-dim",
                "16", "--grid-sizes", "4,4,2,1", "--ds-ratios", "4,2,2,1", "--height", "64", "--width", "64",
                image("a.png", "png", 64, 64, 5).toString()), "no classifier");
    }

    /**
     * One batch with every kind of hostile image among two good ones: each bad one gets its own stderr line naming
     * it and why, the good ones are still scored, quickly (the old reader decoded the bomb to 268 megapixels, 4 GB
     * of heap, and blocked forever on the FIFO).
     */
    @Test
    void hostileImagesInABatchAreReportedEachAndTheOthersScored() throws Exception {
        Path good1 = image("a.png", "png", 100, 150, 1);
        Path bomb = Files.write(dir.resolve("bomb.png"), HostileImages.pixelBomb(16384));
        Path claim = Files.write(dir.resolve("claim.png"), HostileImages.headerOnlyPng(23000, 23000));
        Path cmyk = Files.write(dir.resolve("cmyk.jpg"), HostileImages.fourComponentJpeg(-1));
        byte[] jpeg = HostileImages.noise("jpg");
        Path cut = Files.write(dir.resolve("cut.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));
        Path fifo = SpecialFiles.fifo(dir.resolve("pipe.jpg"));
        Path good2 = image("b.jpg", "jpg", 128, 128, 2);
        TransCnnCliAccess.Result r = assertTimeoutPreemptively(Duration.ofSeconds(120),
                () -> TransCnnCliAccess.run("predict", "--weights", Fixtures.file(F, "model.pth").toString(),
                        "--head-dim", "32", "--height", "128", "--width", "128", good1.toString(), bomb.toString(),
                        claim.toString(), cmyk.toString(), cut.toString(), fifo.toString(), good2.toString()));
        assertEquals(1, r.code(), "some files failed: exit code 1");
        List<String> errors = r.err().strip().lines().toList();
        assertEquals(5, errors.size(), r.err());
        assertTrue(errors.get(0).contains("bomb.png: 16384 x 16384 = 268435456 pixels, expected 1 to 67108864"),
                errors.get(0));
        assertTrue(errors.get(1).contains("claim.png: 23000 x 23000 = 529000000 pixels"), errors.get(1));
        assertTrue(errors.get(2).contains("cmyk.jpg: CMYK JPEG"), errors.get(2));
        assertTrue(errors.get(3).contains("cut.jpg: damaged image"), errors.get(3));
        assertTrue(errors.get(4).contains("pipe.jpg (image): not a regular file but a FIFO"), errors.get(4));
        assertEquals(5, block(r.out(), good1, 5).size());
        assertEquals(5, block(r.out(), good2, 5).size());
        assertEquals(2 * 6, r.out().strip().lines().count(), "two images scored:\n" + r.out());
    }

    @Test
    void maxPixelsSetsTheLimit() throws Exception {
        Path png = image("a.png", "png", 100, 150, 1);
        String[] args = {"predict", "--weights", Fixtures.file(F, "model.pth").toString(), "--head-dim", "32",
                "--height", "128", "--width", "128", "--max-pixels", "14999", png.toString()};
        TransCnnCliTest.assertError(TransCnnCliAccess.run(args),
                "a.png: 150 x 100 = 15000 pixels, expected 1 to 14999");
        args[args.length - 2] = "15000";
        assertEquals(0, TransCnnCliAccess.run(args).code());
        args[args.length - 2] = "0";
        TransCnnCliAccess.Result zero = TransCnnCliAccess.run(args);
        TransCnnCliTest.assertError(zero, "transcnn: --max-pixels 0: expected 1 to 2147483639 (see 'transcnn "
                + "predict --help')");
        assertEquals(2, zero.code(), "a bad option value is a usage error");
        String[] top = {"predict", "--weights", Fixtures.file(F, "model.pth").toString(), "--top", "0",
                png.toString()};
        TransCnnCliTest.assertError(TransCnnCliAccess.run(top), "transcnn: --top 0: expected at least 1");
        String[] batch = {"predict", "--weights", Fixtures.file(F, "model.pth").toString(), "--batch", "-1",
                png.toString()};
        TransCnnCliTest.assertError(TransCnnCliAccess.run(batch), "transcnn: --batch -1: expected at least 1");
    }

    /** Out of memory while reading one image is that image's error, like any other, not the batch's end. */
    @Test
    void outOfMemoryReadingAnImageIsThatImagesError() {
        StringWriter err = new StringWriter();
        Path image = dir.resolve("huge.tif");
        INDArray none = PredictCommand.loadOrReport(image, p -> {
            throw new OutOfMemoryError("Java heap space");
        }, new PrintWriter(err, true));
        assertNull(none);
        assertTrue(err.toString().startsWith("transcnn: " + image + ": out of memory reading the image (Java heap "
                + "space); lower --max-pixels"), err.toString());
        StringWriter err2 = new StringWriter();
        assertNull(PredictCommand.loadOrReport(image, p -> {
            throw new NegativeArraySizeException("-3");
        }, new PrintWriter(err2, true)));
        assertTrue(err2.toString().contains(image + ": cannot preprocess the image "
                + "(java.lang.NegativeArraySizeException: -3)"), err2.toString());
    }

    @Test
    void labelsThatAreNotARegularFileAreRefusedWithoutBlocking() throws Exception {
        Path png = image("a.png", "png", 64, 64, 3);
        Path fifo = SpecialFiles.fifo(dir.resolve("labels.fifo"));
        for (Path labels : List.of(fifo, Files.createDirectory(dir.resolve("labels.d")), dir.resolve("none.txt"))) {
            TransCnnCliAccess.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> TransCnnCliAccess.run("predict", "--weights", Fixtures.file(F, "model.pth").toString(),
                            "--head-dim", "32", "--height", "128", "--width", "128", "--labels", labels.toString(),
                            png.toString()));
            String expected = labels == fifo ? labels + " (--labels): not a regular file but a FIFO"
                    : labels.toString().endsWith(".d") ? labels + " (--labels): not a regular file but a directory"
                    : labels + ": no such file (--labels)";
            TransCnnCliTest.assertError(r, expected);
        }
    }

    /** A head whose weights overflow float32 gives NaN probabilities: reported per image, exit code 1. */
    @Test
    void nonFiniteProbabilitiesAreReportedNotPrinted() throws Exception {
        String f = Fixtures.WITH_GRADS;
        ComputationGraph net = TransCnnWeights.loadForFineTuning(Fixtures.file(f, "model.pth"), Fixtures.builder(f));
        net.getParam(TransCNN.LOGITS + "_W").assign(3e38f);
        Path weights = dir.resolve("overflow.pth");
        TorchWriter.write(weights, TransCnnWeights.toTorch(net.getConfiguration(), net.paramTable()), Map.of());
        Path png = image("a.png", "png", 64, 64, 6);
        TransCnnCliAccess.Result r = TransCnnCliAccess.run("predict", "--weights", weights.toString(),
                "--head-dim", "16", "--grid-sizes", "4,4,2,1", "--ds-ratios", "4,2,2,1", "--height", "64",
                "--width", "64", png.toString());
        TransCnnCliTest.assertError(r, png + ": the model's output is not finite (NaN at class 0), expected "
                + "probabilities; not scored");
        assertEquals("", r.out().strip(), "nothing printed for it");
    }

    /**
     * A model.zip written by {@code train} predicts with that run's class names, on each image as training saw the
     * dataset's (28x28 gray on the 32x32 canvas): the probabilities are those of the evaluation path on the same
     * Fashion-MNIST test image, with the run's test-time augmentation (the default recipe's: the mean of the image's
     * and its mirror's); eval scores with the same by default.
     */
    @Test
    void aModelTrainedByTrainPredictsWithTheFashionClasses() throws Exception {
        Path out = dir.resolve("run");
        TransCnnCliAccess.Result t = TransCnnCliAccess.run("train", "--out", out.toString(), "--data",
                org.transcnn.train.SampleData.dir().toString(), "--epochs", "1", "--limit", "64", "--channels", "4",
                "--batch-size", "32");
        assertEquals(0, t.code(), t.err());
        org.transcnn.data.ImageDataset test = org.transcnn.data.FashionMnist.load(org.transcnn.train.SampleData.dir())
                .test();
        BufferedImage garment = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int r = 0; r < 28; r++) {
            for (int c = 0; c < 28; c++) {
                int v = test.pixel(3, r, c);
                garment.getRaster().setSample(c, r, 0, v);
            }
        }
        Path png = dir.resolve("garment.png");
        assertTrue(ImageIO.write(garment, "png", png.toFile()));
        Path model = out.resolve("model.zip");
        TransCnnCliAccess.Result r = TransCnnCliAccess.run("predict", "--model", model.toString(), "--top", "3",
                png.toString());
        assertEquals(0, r.code(), r.err());
        ComputationGraph net = org.transcnn.io.ModelFile.load(model);
        INDArray x = new org.transcnn.train.Batches(test, org.transcnn.train.Trainer.INPUT_SIZE)
                .batch(new int[] {3}, 0, 1, org.transcnn.train.Augment.NONE, new Random(0), 0).getFeatures(0);
        INDArray mirror = x.dup();
        for (int row = 0; row < 32; row++) {
            for (int col = 0; col < 32; col++) {
                mirror.putScalar(new long[] {0, 0, row, col}, x.getDouble(0, 0, row, 31 - col));
            }
        }
        INDArray p = net.outputSingle(x).dup().add(net.outputSingle(mirror)).div(2);
        List<String[]> rows = block(r.out(), png, 3);
        int best = p.argMax(1).getInt(0);
        assertEquals(best, Integer.parseInt(rows.get(0)[1]));
        assertEquals(org.transcnn.data.FashionMnist.CLASSES.get(best), rows.get(0)[2]);
        assertEquals(p.getDouble(0, best), Double.parseDouble(rows.get(0)[0]), 1e-4);

        TransCnnCliAccess.Result eval = TransCnnCliAccess.run("eval", "--model", model.toString(), "--data",
                org.transcnn.train.SampleData.dir().toString());
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("test-time augmentation flip)"), eval.out());
        TransCnnCliAccess.Result plainEval = TransCnnCliAccess.run("eval", "--model", model.toString(), "--data",
                org.transcnn.train.SampleData.dir().toString(), "--tta", "none");
        assertTrue(plainEval.out().contains("test-time augmentation none)"), plainEval.out());
        TransCnnCliAccess.Result badTta = TransCnnCliAccess.run("eval", "--model", model.toString(), "--tta",
                "mirror");
        assertEquals(2, badTta.code(), badTta.err());
        assertTrue(badTta.err().contains("--tta must be one of none, flip, got 'mirror'"), badTta.err());

        TransCnnCliAccess.Result both = TransCnnCliAccess.run("predict", "--model", model.toString(), "--weights",
                model.toString(), png.toString());
        assertTrue(both.code() != 0 && both.err().contains("give either --weights F.pth"), both.err());
        Path notARun = dir.resolve("plain.zip");
        org.transcnn.io.ModelFile.save(net, notARun, false);
        TransCnnCliAccess.Result plain = TransCnnCliAccess.run("predict", "--model", notARun.toString(),
                png.toString());
        assertTrue(plain.code() != 0 && plain.err().contains("not written by 'transcnn train'"), plain.err());
    }
}
