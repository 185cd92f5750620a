package org.transcnn.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.transcnn.data.ImageDataset;
import org.transcnn.models.ModelSummary;
import org.transcnn.models.TransCNN;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training batches: each augmentation does what it says, and only that; old run states read as shift-flip. */
class BatchesTest {

    /** 40 asymmetric 28x28 images: pixel (r, c) = 1 + r + 3c (+ image index), label = index mod 10. */
    static ImageDataset images() {
        int n = 40;
        byte[] px = new byte[n * 28 * 28];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            labels[i] = (byte) (i % 10);
            for (int r = 0; r < 28; r++) {
                for (int c = 0; c < 28; c++) {
                    px[(i * 28 + r) * 28 + c] = (byte) (1 + r + 3 * c + i);
                }
            }
        }
        return new ImageDataset(px, labels, n, 28, 28, 10);
    }

    static int[] identity(int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        return idx;
    }

    /** [1, H, W] mirrored left-right (the centred 28-wide image sits symmetrically on the 32-wide canvas). */
    static INDArray mirrored(INDArray c) {
        INDArray m = c.dup();
        long w = c.size(2);
        for (int r = 0; r < c.size(1); r++) {
            for (int col = 0; col < w; col++) {
                m.putScalar(new long[] {0, r, col}, c.getDouble(0, r, w - 1 - col));
            }
        }
        return m;
    }

    @ParameterizedTest
    @EnumSource(Augment.class)
    void augmentationsPlaceEachImageAsDocumented(Augment augment) {
        Batches batches = new Batches(images(), 32);
        INDArray centred = batches.batch(identity(40), 0, 40, Augment.NONE, null, 0).getFeatures(0);
        INDArray x = batches.batch(identity(40), 0, 40, augment, new Random(3), 0).getFeatures(0);
        int same = 0;
        int mirrored = 0;
        int moved = 0;
        for (int i = 0; i < 40; i++) {
            INDArray a = x.get(NDArrayIndex.point(i));
            INDArray c = centred.get(NDArrayIndex.point(i));
            if (a.equals(c)) {
                same++;
            } else if (a.equals(mirrored(c))) {
                mirrored++;
            } else {
                moved++;
            }
        }
        switch (augment) {
            case NONE -> assertEquals(40, same);
            case FLIP -> assertTrue(same > 5 && mirrored > 5 && moved == 0, same + " same, " + mirrored + " mirrored");
            case SHIFT_FLIP -> assertTrue(moved > 20, moved + " of 40 moved");
        }
    }

    /**
     * An epoch's batches end early once the time budget is spent, after the batch in progress; the first batch is
     * always given.
     */
    @Test
    void theBatchesOfAnEpochStopWhenTheBudgetIsSpent() {
        Batches b = new Batches(images(), 32);
        int[] order = b.order(images().count(), 1, 0);
        int n = images().count();
        int[] calls = {0};
        EpochBatches spentAfterTwo = new EpochBatches(b, order, n, 1, Augment.NONE, null, 0, new EpochMeter(),
                () -> ++calls[0] > 2);
        int given = 0;
        while (spentAfterTwo.hasNext()) {
            spentAfterTwo.next();
            given++;
        }
        assertEquals(3, given, "the first batch, then two more before the budget ran out");
        EpochBatches spent = new EpochBatches(b, order, n, 1, Augment.NONE, null, 0, new EpochMeter(), () -> true);
        assertTrue(spent.hasNext());
        spent.next();
        assertFalse(spent.hasNext(), "only the first batch");
        EpochBatches none = new EpochBatches(b, order, n, 1, Augment.NONE, null, 0, new EpochMeter(), () -> false);
        int all = 0;
        while (none.hasNext()) {
            none.next();
            all++;
        }
        assertEquals(n, all);
    }

    @Test
    void augmentNamesParseAndUnknownOnesAreRefused() {
        for (Augment a : Augment.values()) {
            assertEquals(a, Augment.of(a.cliName()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Augment.of("rotate"));
        assertTrue(e.getMessage().contains("none, flip, shift-flip") && e.getMessage().contains("rotate"),
                e.getMessage());
    }

    @Test
    void runStateWithoutAugmentReadsAsShiftFlip() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        Trainer.Options d = Trainer.Options.defaults();
        String json = mapper.writeValueAsString(new Trainer.Options(d.data(), d.out(), 3, 64, 1e-3, 0.05, 1, 0.1, 5,
                false, false, 16, 0, Augment.NONE, 512, 0, 4, null, null)).replaceAll(",?\"augment\":\"NONE\"", "");
        assertEquals(Augment.SHIFT_FLIP, mapper.readValue(json, Trainer.Options.class).augment());
    }

    /** Run states written before --attention-stages existed: all stages, or none for an ablation. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void runStateWithoutAttentionStagesReadsAsAllOrNone(boolean ablation) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        Trainer.Options d = Trainer.Options.defaults();
        String json = mapper.writeValueAsString(new Trainer.Options(d.data(), d.out(), 3, 64, 1e-3, 0.05, 1, 0.1, 5,
                ablation, false, 16, 0, Augment.NONE, 512, 0, 2, null, null));
        String old = json.replaceAll(",?\"attentionStages\":\\[[0-9,]*\\]", "");
        assertFalse(old.contains("attentionStages"), old);
        Trainer.Options read = mapper.readValue(old, Trainer.Options.class);
        assertEquals(ablation ? List.of() : List.of(0, 1, 2, 3), read.attentionStages());
        assertEquals(ablation, read.ablation());
        assertEquals(ablation ? "none" : "all", read.settings().get("--attention-stages"));
        assertEquals(ablation ? "--seed 5 --ablation --augment none --tta none"
                        : "--seed 5 --augment none --attention-stages all --tta none",
                read.arguments().replaceAll("--(epochs|batch-size|lr) [^ ]+ ", ""));
        Trainer.Options stage1 = mapper.readValue(mapper.writeValueAsString(new Trainer.Options(d.data(), d.out(), 3,
                64, 1e-3, 0.05, 1, 0.1, 5, false, false, 16, 0, Augment.NONE, 512, 0, 2, List.of(0), null)),
                Trainer.Options.class);
        assertEquals(List.of(0), stage1.attentionStages(), "round trip");
        assertEquals(List.of("--attention-stages " + (ablation ? "none" : "all") + " in the run, 0 now"),
                stage1.differences(read));
        // what the command line passes when neither option is given (null) or --ablation alone
        Trainer.Options fromCli = new Trainer.Options(d.data(), d.out(), 3, 64, 1e-3, 0.05, 1, 0.1, 5, ablation, false,
                16, 0, Augment.NONE, 512, 0, 2, null, null);
        assertEquals(List.of(), fromCli.differences(read));
        Trainer.Options none = new Trainer.Options(d.data(), d.out(), 3, 64, 1e-3, 0.05, 1, 0.1, 5, false, false,
                16, 0, Augment.NONE, 512, 0, 2, List.of(), null);
        assertTrue(none.ablation(), "--attention-stages none is the ablation");
        assertEquals(ablation ? List.of() : List.of("--attention-stages all in the run, none now"),
                none.differences(read));
    }

    /** What {@code --attention-stages} accepts, in the form the recipe records. */
    @Test
    void attentionStagesAreParsedSortedAndSpelledBack() {
        assertEquals(List.of(0, 1, 2, 3), Trainer.Options.parseAttentionStages("all"));
        assertEquals(List.of(), Trainer.Options.parseAttentionStages("none"));
        assertEquals(List.of(0, 2), Trainer.Options.parseAttentionStages("2,0"));
        assertEquals(List.of(0, 1), Trainer.Options.parseAttentionStages(" 0 , 1 "));
        assertEquals("all", Trainer.Options.stageList(Trainer.Options.parseAttentionStages("3,2,1,0")));
        assertEquals("none", Trainer.Options.stageList(List.of()));
        assertEquals("0,2", Trainer.Options.stageList(List.of(0, 2)));
    }

    /** The stage-1-only network of docs/training.md: 347,146 parameters, 6.07 M multiply-adds per image. */
    @Test
    void theStage1OnlyFashionNetworkHasTheMeasuredSize() {
        ModelSummary size = ModelSummary.of(TransCNN.builder(Trainer.fashionConfig(16, 2, List.of(0))).build());
        assertEquals(347_146, size.params());
        assertEquals(6.07e6, size.macs(), 0.005e6);
    }

    @Test
    void runStateWithoutStemStrideReadsAsTheOfficialStride4() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        Trainer.Options d = Trainer.Options.defaults();
        String json = mapper.writeValueAsString(new Trainer.Options(d.data(), d.out(), 3, 64, 1e-3, 0.05, 1, 0.1, 5,
                false, false, 16, 0, Augment.NONE, 512, 0, 2, null, null));
        assertEquals(2, mapper.readValue(json, Trainer.Options.class).stemStride(), "round trip");
        String old = json.replaceAll(",?\"stemStride\":2", "");
        assertFalse(old.contains("stemStride"), old);
        assertEquals(4, mapper.readValue(old, Trainer.Options.class).stemStride());
    }

    /** Batches.mirror reverses every row of every image: the same pixels as mirrored() of the centred batch. */
    @Test
    void mirrorReversesEveryRow() {
        Batches batches = new Batches(images(), 32);
        INDArray centred = batches.batch(identity(5), 0, 5, Augment.NONE, null, 0).getFeatures(0);
        INDArray m = Batches.mirror(centred);
        assertEquals(List.of(5L, 1L, 32L, 32L), java.util.Arrays.stream(m.shape()).boxed().toList());
        for (int i = 0; i < 5; i++) {
            INDArray image = centred.get(NDArrayIndex.point(i));
            assertEquals(mirrored(image), m.get(NDArrayIndex.point(i)), "image " + i);
        }
        assertFalse(centred.equals(m), "the images are not symmetric");
        assertThrows(IllegalArgumentException.class, () -> Batches.mirror(centred.castTo(
                org.nd4j.linalg.api.buffer.DataType.DOUBLE)));
    }

    /**
     * Runs mirror at test time by default exactly when they train on mirrored images; run states written before
     * --tta existed evaluated without it.
     */
    @Test
    void testTimeAugmentationDefaultsAndOldRunStates() throws Exception {
        assertEquals(TestTimeAugment.NONE, TestTimeAugment.defaultFor(Augment.NONE));
        assertEquals(TestTimeAugment.FLIP, TestTimeAugment.defaultFor(Augment.FLIP));
        assertEquals(TestTimeAugment.FLIP, TestTimeAugment.defaultFor(Augment.SHIFT_FLIP));
        assertEquals(TestTimeAugment.FLIP, TestTimeAugment.of("flip", "--tta"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TestTimeAugment.of("FLIP", "--tta"));
        assertEquals("--tta must be one of none, flip, got 'FLIP'", e.getMessage());
        ObjectMapper mapper = new ObjectMapper();
        Trainer.Options d = Trainer.Options.defaults();
        assertEquals(TestTimeAugment.FLIP, d.tta());
        String json = mapper.writeValueAsString(d);
        assertEquals(TestTimeAugment.FLIP, mapper.readValue(json, Trainer.Options.class).tta(), "round trip");
        String old = json.replaceAll(",?\"tta\":\"FLIP\"", "");
        assertFalse(old.contains("tta"), old);
        Trainer.Options read = mapper.readValue(old, Trainer.Options.class);
        assertEquals(TestTimeAugment.NONE, read.tta());
        assertEquals(List.of("--tta none in the run, flip now"), d.differences(read));
    }
}
