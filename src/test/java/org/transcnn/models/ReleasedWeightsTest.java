package org.transcnn.models;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Architectures and released weights apart; a name means one thing, an ambiguous one is refused with its readings. */
class ReleasedWeightsTest {

    @ParameterizedTest
    @EnumSource(Preset.class)
    void everyPresetHasItsReleaseAndBack(Preset p) {
        assertEquals(p, p.weights().preset());
        assertEquals(p, Preset.parse(p.name().toLowerCase()));
        assertEquals(p.weights(), ReleasedWeights.parse(p.weights().fileName()));
        assertEquals(p.weights(), ReleasedWeights.parse(p.weights().releaseName().toUpperCase()));
    }

    @Test
    void releaseAndPaperNamesAsTheAuthorsUseThem() {
        assertEquals(Preset.SMALL, ReleasedWeights.TRANSCNN_TINY.preset());
        assertEquals("TransCNN-Small", ReleasedWeights.TRANSCNN_TINY.paperName());
        assertEquals(Preset.BASE, ReleasedWeights.parse("TransCNN-Small").preset());
        assertEquals("TransCNN-Base", ReleasedWeights.TRANSCNN_SMALL.paperName());
        assertNull(ReleasedWeights.TRANSCNN_LARGE.paperName());
        assertEquals("TransCNN-Medium.pth", ReleasedWeights.TRANSCNN_MEDIUM.fileName());
        assertEquals(256, ReleasedWeights.TRANSCNN_TINY.dataConfig().height());
    }

    @Test
    void aTransCnnNameIsNoPresetAndTheMessageGivesBothReadings() {
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> Preset.parse("TransCNN-Small"));
        assertEquals("unknown preset 'TransCNN-Small' (paper TransCNN-Small is SMALL; release TransCNN-Small "
                + "(TransCNN-Small.pth) is BASE): expected one of SMALL, BASE, MEDIUM, LARGE", small.getMessage());
        IllegalArgumentException tiny = assertThrows(IllegalArgumentException.class,
                () -> Preset.parse("transcnn-tiny"));
        assertTrue(tiny.getMessage().contains("release TransCNN-Tiny (TransCNN-Tiny.pth) is SMALL"),
                tiny.getMessage());
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class,
                () -> Preset.parse("TransCNN-Huge"));
        assertTrue(huge.getMessage().contains("no paper or release architecture is called 'Huge'"),
                huge.getMessage());
        IllegalArgumentException preset = assertThrows(IllegalArgumentException.class,
                () -> ReleasedWeights.parse("SMALL"));
        assertTrue(preset.getMessage().contains("TransCNN-Tiny, TransCNN-Small, TransCNN-Medium, TransCNN-Large"),
                preset.getMessage());
    }
}
