package org.transcnn.weights;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.transcnn.Fixtures;
import org.transcnn.models.TransCNN;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TransCnnWeights#loadForFineTuning}: the head is loaded only when the class counts agree (with a warning
 * otherwise), a headless or features-only builder ignores it, and the stem is adapted to other channel counts as
 * timm's adapt_input_conv does; the strict loader still refuses mismatches.
 */
class FineTuningTest {

    static final String F = Fixtures.WITH_GRADS;
    static final double TOL = 1e-4;

    @TempDir
    Path dir;

    static Path pth() {
        return Fixtures.file(F, "model.pth");
    }

    static INDArray input() {
        return Fixtures.npy(F, "input.npy");
    }

    static INDArray stage4(ComputationGraph net, INDArray x) {
        return net.feedForward(x, false).get(TransCNN.stageVertex(Fixtures.modelConfig(F), 3));
    }

    /** Runs {@code body} and returns it with what it wrote to System.err (where slf4j-simple logs). */
    static <T> Map.Entry<T, String> capturingStderr(Callable<T> body) throws Exception {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            T result = body.call();
            return Map.entry(result, buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(old);
        }
    }

    @Test
    void sameClassCountLoadsEverythingSilently() throws Exception {
        Map.Entry<ComputationGraph, String> r = capturingStderr(
                () -> TransCnnWeights.loadForFineTuning(pth(), Fixtures.builder(F)));
        INDArray logits = r.getKey().feedForward(input(), false).get(TransCNN.LOGITS);
        assertTrue(Fixtures.scaledError(logits, Fixtures.npy(F, "eval_logits.npy")) <= TOL);
        assertFalse(r.getValue().contains("WARN"), r.getValue());
    }

    @Test
    void otherClassCountGetsAFreshHeadAndAWarning() throws Exception {
        Map.Entry<ComputationGraph, String> r = capturingStderr(
                () -> TransCnnWeights.loadForFineTuning(pth(), Fixtures.builder(F).numClasses(3).seed(5)));
        ComputationGraph net = r.getKey();
        assertTrue(r.getValue().contains("WARN") && r.getValue().contains("10 classes")
                && r.getValue().contains("3 classes") && r.getValue().contains(TransCNN.LOGITS), r.getValue());
        assertArrayEquals(new long[] {2, 3}, net.outputSingle(input()).shape());
        assertTrue(Fixtures.scaledError(stage4(net, input()), Fixtures.npy(F, "eval_stage4.npy")) <= TOL);
        ComputationGraph fresh = Fixtures.builder(F).numClasses(3).seed(5).build().init();
        assertEquals(fresh.getParam(TransCNN.LOGITS + "_W"), net.getParam(TransCNN.LOGITS + "_W"));
        assertEquals(fresh.getParam(TransCNN.LOGITS + "_b"), net.getParam(TransCNN.LOGITS + "_b"));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void headlessAndFeaturesOnlyBuildersIgnoreTheHead(boolean featuresOnly) throws Exception {
        TransCNN.Builder b = featuresOnly ? Fixtures.builder(F).featuresOnly(1, 3) : Fixtures.builder(F).numClasses(0);
        Map.Entry<ComputationGraph, String> r = capturingStderr(() -> TransCnnWeights.loadForFineTuning(pth(), b));
        assertFalse(r.getValue().contains("WARN"), r.getValue());
        assertTrue(Fixtures.scaledError(stage4(r.getKey(), input()), Fixtures.npy(F, "eval_stage4.npy")) <= TOL);
        assertEquals(featuresOnly ? 2 : 1, r.getKey().getNumOutputArrays());
    }

    @Test
    void strictLoadStillRefusesAnotherClassCount() {
        ComputationGraph net = Fixtures.builder(F).numClasses(3).build().init();
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> TransCnnWeights.load(pth(), net, TorchCheckpoint.read(pth())));
        CheckpointTest.assertMentions(e, TransCNN.LOGITS + ".weight", "[10, 128]", "[3, 128]");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 6, 7})
    void adaptInputConvFollowsTimm(int channels) {
        INDArray w = Nd4j.rand(5, 3, 3, 3);
        INDArray a = TransCnnWeights.adaptInputConv(w, channels);
        assertArrayEquals(new long[] {5, channels, 3, 3}, a.shape());
        for (int c = 0; c < channels; c++) {
            INDArray expected = channels == 1 ? w.sum(true, 1)
                    : w.get(NDArrayIndex.all(), NDArrayIndex.point(c % 3), NDArrayIndex.all(), NDArrayIndex.all())
                            .mul(channels == 3 ? 1.0 : 3.0 / channels);
            INDArray actual = a.get(NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.all(), NDArrayIndex.all());
            assertTrue(expected.reshape(actual.shape()).equalsWithEps(actual, 1e-6), "channel " + c);
        }
    }

    @Test
    void grayModelOnAGrayImageMatchesTheRgbModelOnThatImageRepeated() throws Exception {
        INDArray gray = input().get(NDArrayIndex.all(), NDArrayIndex.interval(0, 1), NDArrayIndex.all(),
                NDArrayIndex.all()).dup();
        ComputationGraph rgbNet = TransCnnWeights.loadModel(pth(), Fixtures.builder(F));
        ComputationGraph grayNet = TransCnnWeights.loadForFineTuning(pth(), Fixtures.builder(F).inChannels(1));
        INDArray expected = rgbNet.feedForward(Nd4j.concat(1, gray, gray, gray), false).get(TransCNN.LOGITS);
        INDArray actual = grayNet.feedForward(gray, false).get(TransCNN.LOGITS);
        assertTrue(Fixtures.scaledError(actual, expected) <= TOL, () -> "error " + Fixtures.scaledError(actual,
                expected));
    }

    @Test
    void fourChannelModelKeepsTheRgbResponse() throws Exception {
        INDArray x = input();
        INDArray four = Nd4j.concat(1, x.mul(4.0 / 3.0), Nd4j.zeros(x.dataType(), 2, 1, 64, 64));
        ComputationGraph rgbNet = TransCnnWeights.loadModel(pth(), Fixtures.builder(F));
        ComputationGraph fourNet = TransCnnWeights.loadForFineTuning(pth(), Fixtures.builder(F).inChannels(4));
        INDArray expected = rgbNet.feedForward(x, false).get(TransCNN.LOGITS);
        INDArray actual = fourNet.feedForward(four, false).get(TransCNN.LOGITS);
        assertTrue(Fixtures.scaledError(actual, expected) <= TOL);
    }

    @Test
    void onlyRgbStemsAreAdapted() throws Exception {
        ComputationGraph grayNet = TransCnnWeights.loadForFineTuning(pth(), Fixtures.builder(F).inChannels(1));
        Path grayPth = dir.resolve("gray.pth");
        TorchWriter.write(grayPth, TransCnnWeights.toTorch(grayNet.getConfiguration(), grayNet.paramTable()), Map.of());
        ComputationGraph again = TransCnnWeights.loadForFineTuning(grayPth, Fixtures.builder(F).inChannels(1));
        assertEquals(grayNet.params(), again.params());
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> TransCnnWeights.loadForFineTuning(grayPth, Fixtures.builder(F).inChannels(2)));
        CheckpointTest.assertMentions(e, "patch_embed.0.weight", "1 input channel", "2 channels");
    }
}
