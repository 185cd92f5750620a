package org.transcnn.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.transcnn.SpecialFiles;
import org.transcnn.models.Preset;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Data configuration per preset and the image preprocessor on small images written by ImageIO. */
class ImagePreprocessorTest {

    @TempDir
    Path dir;

    static final DataConfig SMALL = DataConfig.imagenet(32, 32);

    Path write(BufferedImage image, String format) throws IOException {
        Path file = dir.resolve("image." + format);
        assertTrue(ImageIO.write(image, format, file.toFile()), "no writer for " + format);
        return file;
    }

    static BufferedImage filled(int type, int h, int w, int argb) {
        BufferedImage image = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, argb);
            }
        }
        return image;
    }

    /** Every pixel of channel c is (rgb[c] / 255 - mean[c]) / std[c], within {@code tolerance} (in 0..255 units). */
    static void assertConstant(INDArray x, double[] rgb, double tolerance) {
        double[] mean = DataConfig.IMAGENET_MEAN;
        double[] std = DataConfig.IMAGENET_STD;
        for (int c = 0; c < 3; c++) {
            double expected = (rgb[c] / 255 - mean[c]) / std[c];
            INDArray plane = x.slice(0).slice(c);
            double err = Math.max(Math.abs(plane.maxNumber().doubleValue() - expected),
                    Math.abs(plane.minNumber().doubleValue() - expected));
            assertTrue(err <= tolerance / 255 / std[c] + 1e-5, "channel " + c + ": error " + err);
        }
    }

    @Test
    void presetsUseTheDeitEvaluationTransformAt256() {
        for (Preset p : Preset.values()) {
            DataConfig d = p.weights().dataConfig();
            assertEquals(DataConfig.imagenet(256, 256), d);
            assertEquals(DataConfig.Interpolation.BICUBIC, d.interpolation());
            assertEquals(0.875, d.cropFraction());
            assertArrayEquals(new double[] {0.485, 0.456, 0.406}, d.mean());
            assertArrayEquals(new double[] {0.229, 0.224, 0.225}, d.std());
            assertEquals(292, d.resizeHeight(), "DeiT: int(256 / 224 * 256)");
        }
        assertEquals(256, DataConfig.imagenet(224, 224).resizeWidth());
        assertThrows(IllegalArgumentException.class, () -> SMALL.withCropFraction(0));
        assertThrows(IllegalArgumentException.class, () -> SMALL.withInputSize(0, 32));
        assertThrows(IllegalArgumentException.class, () -> new DataConfig(32, 32, DataConfig.Interpolation.BICUBIC,
                1, new double[] {0.5}, new double[] {0.5}));
    }

    @ParameterizedTest
    @CsvSource({"png, 0", "jpg, 2", "bmp, 0"})
    void constantColourImageNormalisesToTheFormula(String format, double tolerance) throws IOException {
        Path file = write(filled(BufferedImage.TYPE_INT_RGB, 50, 70, 0xC86432), format);
        INDArray x = new ImagePreprocessor(SMALL).load(file);
        assertArrayEquals(new long[] {1, 3, 32, 32}, x.shape());
        assertConstant(x, new double[] {200, 100, 50}, tolerance);
    }

    @ParameterizedTest
    @ValueSource(ints = {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_USHORT_GRAY})
    void grayIsRepeatedToThreeChannelsFromItsRawValues(int type) throws IOException {
        BufferedImage image = new BufferedImage(40, 40, type);
        int max = type == BufferedImage.TYPE_BYTE_GRAY ? 255 : 65535;
        for (int y = 0; y < 40; y++) {
            for (int x = 0; x < 40; x++) {
                image.getRaster().setSample(x, y, 0, max * 96 / 255);
            }
        }
        INDArray x = new ImagePreprocessor(SMALL).load(write(image, "png"));
        assertConstant(x, new double[] {96, 96, 96}, 0);
    }

    @Test
    void alphaIsDroppedNotComposited() throws IOException {
        Path file = write(filled(BufferedImage.TYPE_INT_ARGB, 33, 33, 0x000A141E), "png");
        assertConstant(new ImagePreprocessor(SMALL).load(file), new double[] {10, 20, 30}, 0);
    }

    /**
     * Crop geometry, checked with nearest-neighbour resampling on an image whose red channel is x and green
     * channel is y: a 90x180 (HxW) image resized to 30x60 samples source pixel 3i+1, and the centre crop starts at
     * column 15 (row 15 for the portrait image).
     */
    @ParameterizedTest
    @CsvSource({"90, 180", "180, 90"})
    void centreCropOfANonSquareImage(int h, int w) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, x << 16 | y << 8);
            }
        }
        DataConfig nearest = new DataConfig(30, 30, DataConfig.Interpolation.NEAREST, 1.0, new double[] {0, 0, 0},
                new double[] {1, 1, 1});
        INDArray t = new ImagePreprocessor(nearest).load(write(image, "png")).mul(255);
        int top = h > w ? 15 : 0;
        int left = w > h ? 15 : 0;
        for (int i = 0; i < 30; i++) {
            for (int j = 0; j < 30; j++) {
                assertEquals(3 * (left + j) + 1, t.getDouble(0, 0, i, j), 1e-3, "x at " + i + "," + j);
                assertEquals(3 * (top + i) + 1, t.getDouble(0, 1, i, j), 1e-3, "y at " + i + "," + j);
            }
        }
    }

    @Test
    void resizedSizeKeepsTheAspectRatioLikeTorchvision() {
        assertArrayEquals(new int[] {292, 389}, ImagePreprocessor.resizedSize(480, 640, 292, 292));
        assertArrayEquals(new int[] {389, 292}, ImagePreprocessor.resizedSize(640, 480, 292, 292));
        assertArrayEquals(new int[] {292, 292}, ImagePreprocessor.resizedSize(100, 100, 146, 292));
        assertArrayEquals(new int[] {146, 584}, ImagePreprocessor.resizedSize(100, 400, 146, 292));
    }

    @Test
    void bicubicShrinkingIsAntialiased() {
        float[] checker = new float[64 * 64];
        for (int i = 0; i < checker.length; i++) {
            checker[i] = ((i / 64 + i % 64) % 2) * 255f;
        }
        float[] small = ImagePreprocessor.resize(checker, 64, 64, 16, 16, DataConfig.Interpolation.BICUBIC);
        for (int i = 0; i < small.length; i++) {
            assertEquals(127.5, small[i], 8.0, "pixel " + i);
        }
        float[] ramp = new float[8];
        for (int i = 0; i < 8; i++) {
            ramp[i] = 10 * i;
        }
        float[] up = ImagePreprocessor.resize(ramp, 1, 8, 1, 16, DataConfig.Interpolation.BILINEAR);
        assertEquals(2.5, up[1], 1e-5, "bilinear x2: output 1 sits at input 0.25");
        assertEquals(37.5, up[8], 1e-5);
    }

    @Test
    void aFileThatIsNotAnImageIsRefusedByName() throws IOException {
        Path text = dir.resolve("notes.jpg");
        Files.writeString(text, "not an image", StandardCharsets.UTF_8);
        IOException e = assertThrows(IOException.class, () -> new ImagePreprocessor(SMALL).load(text));
        assertTrue(e.getMessage().contains("notes.jpg") && e.getMessage().contains("not an image"), e.getMessage());
        Path missing = dir.resolve("missing.png");
        IOException m = assertThrows(IOException.class, () -> new ImagePreprocessor(SMALL).load(missing));
        assertTrue(m.getMessage().contains("missing.png: no such file"), m.getMessage());
    }

    /** The 16384 x 16384 PNG, built once: about 260 KB of file, 268 megapixels decoded. */
    static byte[] bomb;

    static synchronized byte[] bomb() {
        if (bomb == null) {
            bomb = HostileImages.pixelBomb(16384);
        }
        return bomb;
    }

    /** Reading {@code file} fails fast, allocating under 32 MB, with a message naming it and saying {@code what}. */
    static IOException assertRefusedCheaply(ImagePreprocessor pre, Path file, String what) {
        return assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            long before = SpecialFiles.allocatedBytes();
            IOException e = assertThrows(IOException.class, () -> pre.load(file));
            long used = SpecialFiles.allocatedBytes() - before;
            assertTrue(e.getMessage().startsWith(file.toString()), "names the file first: " + e.getMessage());
            assertTrue(e.getMessage().contains(what), "says '" + what + "': " + e.getMessage());
            assertTrue(before < 0 || used < 32 << 20, "allocated " + used + " bytes before refusing");
            return e;
        });
    }

    @Test
    void aPixelBombIsRefusedFromItsHeaderBeforeDecoding() throws IOException {
        Path file = Files.write(dir.resolve("bomb.png"), bomb());
        assertTrue(Files.size(file) < 400_000, "a few hundred KB: " + Files.size(file));
        assertRefusedCheaply(new ImagePreprocessor(SMALL), file,
                "16384 x 16384 = 268435456 pixels, expected 1 to 67108864 (the pixel limit; refused before decoding)");
    }

    @Test
    void aHeaderClaimingHugeDimensionsIsRefusedBeforeDecoding() throws IOException {
        Path file = Files.write(dir.resolve("claim.png"), HostileImages.headerOnlyPng(23000, 23000));
        assertEquals(74, Files.size(file));
        assertRefusedCheaply(new ImagePreprocessor(SMALL), file, "23000 x 23000 = 529000000 pixels");
    }

    @Test
    void thePixelLimitIsConfigurable() throws IOException {
        Path file = write(filled(BufferedImage.TYPE_INT_RGB, 100, 150, 0x102030), "png");
        assertEquals(ImagePreprocessor.DEFAULT_MAX_PIXELS, new ImagePreprocessor(SMALL).maxPixels());
        assertArrayEquals(new long[] {1, 3, 32, 32}, new ImagePreprocessor(SMALL, 15_000).load(file).shape());
        assertRefusedCheaply(new ImagePreprocessor(SMALL, 14_999), file,
                "150 x 100 = 15000 pixels, expected 1 to 14999");
        assertThrows(IllegalArgumentException.class, () -> new ImagePreprocessor(SMALL, 0));
        assertThrows(IllegalArgumentException.class, () -> new ImagePreprocessor(SMALL, 1L << 31));
    }

    /**
     * Four-component JPEGs: without an Adobe marker or with transform 0 or 2, ImageIO decodes them as CMYK whose
     * RGB conversion is wrong (the pixel written as C=10 M=200 Y=30 K=0 comes out black); with transform 1 it fails
     * with "Unsupported Image Type". All are refused by what they are.
     */
    @ParameterizedTest
    @CsvSource({"-1, CMYK JPEG", "0, CMYK JPEG", "1, CMYK JPEG", "2, YCCK JPEG"})
    void cmykAndYcckJpegsAreRefused(int transform, String kind) throws IOException {
        Path file = Files.write(dir.resolve("cmyk.jpg"), HostileImages.fourComponentJpeg(transform));
        assertRefusedCheaply(new ImagePreprocessor(SMALL), file, kind
                + " (4 colour components), expected RGB or gray");
    }

    /**
     * ImageIO only warns on a truncated JPEG and fills the rest with gray; a truncated PNG fails to decode. Cut in
     * the middle, and at the end: a JPEG without its EOI marker (2 bytes), a PNG without its IEND chunk (12 bytes).
     */
    @ParameterizedTest
    @ValueSource(strings = {"jpg", "png"})
    void truncatedFilesAreRefused(String format) throws IOException {
        byte[] whole = HostileImages.noise(format);
        Path ok = Files.write(dir.resolve("whole." + format), whole);
        assertArrayEquals(new long[] {1, 3, 32, 32}, new ImagePreprocessor(SMALL).load(ok).shape());
        Path cut = Files.write(dir.resolve("cut." + format), Arrays.copyOf(whole, whole.length / 2));
        assertRefusedCheaply(new ImagePreprocessor(SMALL), cut,
                format.equals("jpg") ? "damaged image, the decoder warned" : "cannot decode the image");
        Path noEnd = Files.write(dir.resolve("noend." + format), Arrays.copyOf(whole,
                whole.length - (format.equals("jpg") ? 2 : 12)));
        assertRefusedCheaply(new ImagePreprocessor(SMALL), noEnd,
                format.equals("jpg") ? "damaged image, the decoder warned" : "cannot decode the image");
    }

    @Test
    void specialFilesAreRefusedByKindWithoutBlocking() throws Exception {
        Path fifo = SpecialFiles.fifo(dir.resolve("pipe.png"));
        assertRefusedCheaply(new ImagePreprocessor(SMALL), fifo, "(image): not a regular file but a FIFO");
        assertRefusedCheaply(new ImagePreprocessor(SMALL), Files.createDirectory(dir.resolve("d.png")),
                "(image): not a regular file but a directory");
        Path zero = Path.of("/dev/zero");
        if (Files.exists(zero)) {
            assertRefusedCheaply(new ImagePreprocessor(SMALL), zero, "not a regular file but a character device");
        }
    }

    @Test
    void imagenetClassNamesAreShippedInIndexOrder() {
        assertEquals(ImageNetClasses.COUNT, ImageNetClasses.names().size());
        assertEquals("tench", ImageNetClasses.names().get(0));
        assertEquals("tabby", ImageNetClasses.names().get(281));
        assertEquals("toilet tissue", ImageNetClasses.names().get(999));
    }
}
