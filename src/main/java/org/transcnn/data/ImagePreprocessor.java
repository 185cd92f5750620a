package org.transcnn.data;

import org.transcnn.io.RegularFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.w3c.dom.Node;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * Turns an image file into a normalised network input by a {@link DataConfig}, as torchvision's evaluation transform
 * ({@code Resize}, {@code CenterCrop}, {@code ToTensor}, {@code Normalize}) does: [1, 3, height, width], float32,
 * NCHW, RGB.
 *
 * <p>Reading uses {@code javax.imageio} (JPEG, PNG, BMP, GIF, TIFF, WBMP). Gray images (8 or 16 bit) are repeated to
 * three channels from their raw sample values; colour images are read as sRGB; alpha is dropped, not composited (as
 * PIL's {@code convert("RGB")}).
 *
 * <p>Hostile files are refused before they cost memory: the path must be a regular file (a FIFO would block, a
 * device never ends); the width and height are read from the header and their product must not exceed
 * {@link #maxPixels()} (default {@value #DEFAULT_MAX_PIXELS}, 8192 x 8192, which a 61-megapixel camera photo fits),
 * because decoding and preprocessing take about 16 bytes per pixel of Java heap (the decoded image plus three float
 * planes), so a 300 KB PNG claiming 16384 x 16384 would need 4 GB; CMYK and YCCK JPEGs (four colour components),
 * which ImageIO either decodes with wrong colours or refuses obscurely, are refused by name; and any warning of the
 * decoder (a truncated JPEG is only a warning to ImageIO, which then fills the rest with gray) is an error.
 *
 * <p>Resizing is a separable convolution in the manner of PIL's {@code resize} (which torchvision uses on PIL
 * images): the filter (Keys cubic with a = -0.5, triangle, or nearest) is stretched by the scale factor when
 * shrinking, so downscaling is antialiased. Unlike PIL, the intermediate result is kept in floating point rather
 * than rounded to 8 bits between the two passes; values are clamped to [0, 255] at the end as PIL does.
 */
public final class ImagePreprocessor {

    /** Default limit on width x height: 8192 x 8192 (about 1 GB of heap while preprocessing). */
    public static final long DEFAULT_MAX_PIXELS = 8192L * 8192;
    /** Largest limit that can be set: the planes are Java float arrays of width x height values. */
    public static final long MAX_PIXELS_CEILING = Integer.MAX_VALUE - 8;

    private static final String JPEG_METADATA = "javax_imageio_jpeg_image_1.0";

    private final DataConfig config;
    private final long maxPixels;

    /** A preprocessor with the default pixel limit {@value #DEFAULT_MAX_PIXELS}. */
    public ImagePreprocessor(DataConfig config) {
        this(config, DEFAULT_MAX_PIXELS);
    }

    /**
     * A preprocessor that refuses images of more than {@code maxPixels} pixels (width x height, from the header).
     *
     * @throws IllegalArgumentException unless 1 <= maxPixels <= {@value #MAX_PIXELS_CEILING}
     */
    public ImagePreprocessor(DataConfig config, long maxPixels) {
        this.config = Objects.requireNonNull(config, "config");
        if (maxPixels < 1 || maxPixels > MAX_PIXELS_CEILING) {
            throw new IllegalArgumentException("maximum pixel count must be in [1, " + MAX_PIXELS_CEILING
                    + "], got " + maxPixels);
        }
        this.maxPixels = maxPixels;
    }

    public DataConfig config() {
        return config;
    }

    /** The largest width x height accepted. */
    public long maxPixels() {
        return maxPixels;
    }

    /**
     * Reads and preprocesses {@code file}.
     *
     * @return [1, 3, height, width] float32
     * @throws IOException naming the file when it is missing, not a regular file, larger than {@link #maxPixels()},
     *                     CMYK, damaged or not an image ImageIO can decode
     */
    public INDArray load(Path file) throws IOException {
        return preprocess(read(file, maxPixels));
    }

    /** Reads {@code file} as an image with the default pixel limit; see {@link #read(Path, long)}. */
    public static BufferedImage read(Path file) throws IOException {
        return read(file, DEFAULT_MAX_PIXELS);
    }

    /**
     * Reads {@code file} as an image, refusing it before decoding when the header's width x height exceeds
     * {@code maxPixels} or the file is a CMYK/YCCK JPEG, and after decoding when the decoder warned (truncated or
     * corrupt data).
     *
     * @throws IOException whose message starts with the file
     */
    public static BufferedImage read(Path file, long maxPixels) throws IOException {
        RegularFiles.require(file, "image");
        try (ImageInputStream in = decoding(file, () -> ImageIO.createImageInputStream(file.toFile()))) {
            if (in == null) {
                throw new IOException(file + ": cannot open the file for ImageIO");
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IOException(file + ": not an image (no JPEG, PNG, BMP, GIF or TIFF reader recognises it)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, false);
                int w = decoding(file, () -> reader.getWidth(0));
                int h = decoding(file, () -> reader.getHeight(0));
                long pixels = (long) w * h;
                if (w < 1 || h < 1 || pixels > maxPixels) {
                    throw new IOException(file + ": " + w + " x " + h + " = " + pixels + " pixels, expected 1 to "
                            + maxPixels + " (the pixel limit; refused before decoding)");
                }
                refuseFourComponentJpeg(file, reader);
                List<String> warnings = new ArrayList<>();
                reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                BufferedImage image = decoding(file, () -> reader.read(0));
                if (!warnings.isEmpty()) {
                    throw new IOException(file + ": damaged image, the decoder warned: " + String.join("; ", warnings)
                            + " (expected a complete, valid file)");
                }
                if (image == null) {
                    throw new IOException(file + ": the " + reader.getFormatName() + " reader returned no image");
                }
                if (image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_CMYK) {
                    throw new IOException(file + ": CMYK image, expected RGB or gray (convert it to RGB first)");
                }
                return image;
            } finally {
                reader.dispose();
            }
        }
    }

    /**
     * Refuses a JPEG whose frame has four colour components (CMYK, or YCCK with Adobe's transform 2), read from the
     * header without decoding: ImageIO decodes some of them as CMYK that converts to wrong RGB colours and refuses
     * others with "Unsupported Image Type".
     */
    private static void refuseFourComponentJpeg(Path file, ImageReader reader) throws IOException {
        if (!"jpeg".equalsIgnoreCase(reader.getFormatName())) {
            return;
        }
        IIOMetadata metadata = decoding(file, () -> reader.getImageMetadata(0));
        if (metadata == null || !Arrays.asList(metadata.getMetadataFormatNames()).contains(JPEG_METADATA)) {
            return;
        }
        Node tree = metadata.getAsTree(JPEG_METADATA);
        Node sof = find(tree, "sof");
        Node components = sof == null ? null : sof.getAttributes().getNamedItem("numFrameComponents");
        if (components != null && Integer.parseInt(components.getNodeValue()) == 4) {
            Node adobe = find(tree, "app14Adobe");
            Node transform = adobe == null ? null : adobe.getAttributes().getNamedItem("transform");
            String kind = transform != null && "2".equals(transform.getNodeValue()) ? "YCCK" : "CMYK";
            throw new IOException(file + ": " + kind + " JPEG (4 colour components), expected RGB or gray "
                    + "(convert it to RGB first)");
        }
    }

    /** The first node named {@code name} in {@code node}'s subtree, depth first, or null. */
    private static Node find(Node node, String name) {
        if (name.equals(node.getNodeName())) {
            return node;
        }
        for (Node child = node.getFirstChild(); child != null; child = child.getNextSibling()) {
            Node found = find(child, name);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    /** A step of ImageIO, which may throw anything on a bad file. */
    @FunctionalInterface
    private interface Decoding<T> {
        T run() throws IOException;
    }

    /** Runs an ImageIO step, turning its exceptions into one that names the file. */
    private static <T> T decoding(Path file, Decoding<T> step) throws IOException {
        try {
            return step.run();
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": cannot decode the image (" + e.getMessage() + ")", e);
        }
    }

    /** Resizes, centre-crops and normalises {@code image}: [1, 3, height, width] float32. */
    public INDArray preprocess(BufferedImage image) {
        int h = image.getHeight();
        int w = image.getWidth();
        float[][] rgb = rgb(image);
        int[] size = resizedSize(h, w, config.resizeHeight(), config.resizeWidth());
        int rh = size[0];
        int rw = size[1];
        int top = (int) Math.rint((rh - config.height()) / 2.0);
        int left = (int) Math.rint((rw - config.width()) / 2.0);
        double[] mean = config.mean();
        double[] std = config.std();
        int oh = config.height();
        int ow = config.width();
        float[] out = new float[3 * oh * ow];
        for (int c = 0; c < 3; c++) {
            float[] resized = resize(rgb[c], h, w, rh, rw, config.interpolation());
            for (int y = 0; y < oh; y++) {
                int sy = Math.min(Math.max(top + y, 0), rh - 1);
                for (int x = 0; x < ow; x++) {
                    int sx = Math.min(Math.max(left + x, 0), rw - 1);
                    double v = Math.min(255f, Math.max(0f, resized[sy * rw + sx])) / 255.0;
                    out[(c * oh + y) * ow + x] = (float) ((v - mean[c]) / std[c]);
                }
            }
        }
        return Nd4j.create(out, new long[] {1, 3, oh, ow}, DataType.FLOAT);
    }

    /**
     * Size an h x w image is resized to so that it covers {@code th} x {@code tw} with its aspect ratio kept: the
     * binding side becomes exactly its target, the other int(target * side / binding side), as torchvision's
     * {@code Resize(int)} computes the longer side.
     *
     * @return {resized height, resized width}
     */
    static int[] resizedSize(int h, int w, int th, int tw) {
        if ((double) th / h >= (double) tw / w) {
            return new int[] {th, Math.max(tw, (int) ((double) th * w / h))};
        }
        return new int[] {Math.max(th, (int) ((double) tw * h / w)), tw};
    }

    /** The image as three planes (R, G, B) of h*w values in [0, 255]. */
    static float[][] rgb(BufferedImage image) {
        int h = image.getHeight();
        int w = image.getWidth();
        float[][] out = new float[3][h * w];
        boolean gray = !(image.getColorModel() instanceof IndexColorModel)
                && image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
        if (gray) {
            Raster raster = image.getRaster();
            double scale = 255.0 / ((1L << raster.getSampleModel().getSampleSize(0)) - 1);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    out[0][y * w + x] = (float) (raster.getSample(x, y, 0) * scale);
                }
            }
            System.arraycopy(out[0], 0, out[1], 0, h * w);
            System.arraycopy(out[0], 0, out[2], 0, h * w);
            return out;
        }
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                out[0][y * w + x] = (p >> 16) & 0xff;
                out[1][y * w + x] = (p >> 8) & 0xff;
                out[2][y * w + x] = p & 0xff;
            }
        }
        return out;
    }

    /** Resamples one h x w plane to oh x ow: rows first, then columns. */
    static float[] resize(float[] plane, int h, int w, int oh, int ow, DataConfig.Interpolation interpolation) {
        float[] horizontal = new float[h * ow];
        Coefficients cx = Coefficients.of(w, ow, interpolation);
        for (int y = 0; y < h; y++) {
            cx.apply(plane, y * w, 1, horizontal, y * ow, 1);
        }
        float[] out = new float[oh * ow];
        Coefficients cy = Coefficients.of(h, oh, interpolation);
        for (int x = 0; x < ow; x++) {
            cy.apply(horizontal, x, ow, out, x, ow);
        }
        return out;
    }

    /** Per output index: the first input index and the normalised filter weights (PIL's precompute_coeffs). */
    private record Coefficients(int[] start, double[][] weights) {

        static Coefficients of(int in, int out, DataConfig.Interpolation interpolation) {
            double scale = (double) in / out;
            int[] start = new int[out];
            double[][] weights = new double[out][];
            if (interpolation == DataConfig.Interpolation.NEAREST) {
                for (int i = 0; i < out; i++) {
                    start[i] = Math.min(in - 1, (int) ((i + 0.5) * scale));
                    weights[i] = new double[] {1};
                }
                return new Coefficients(start, weights);
            }
            double filterScale = Math.max(scale, 1.0);
            double support = (interpolation == DataConfig.Interpolation.BICUBIC ? 2.0 : 1.0) * filterScale;
            for (int i = 0; i < out; i++) {
                double center = (i + 0.5) * scale;
                int lo = Math.max((int) (center - support + 0.5), 0);
                int hi = Math.min((int) (center + support + 0.5), in);
                double[] k = new double[Math.max(hi - lo, 1)];
                double sum = 0;
                for (int j = 0; j < hi - lo; j++) {
                    k[j] = filter(interpolation, (j + lo - center + 0.5) / filterScale);
                    sum += k[j];
                }
                for (int j = 0; j < k.length && sum != 0; j++) {
                    k[j] /= sum;
                }
                start[i] = Math.min(lo, in - 1);
                weights[i] = k;
            }
            return new Coefficients(start, weights);
        }

        static double filter(DataConfig.Interpolation interpolation, double x) {
            double a = Math.abs(x);
            if (interpolation == DataConfig.Interpolation.BILINEAR) {
                return a < 1 ? 1 - a : 0;
            }
            double c = -0.5;
            if (a < 1) {
                return ((c + 2) * a - (c + 3)) * a * a + 1;
            }
            return a < 2 ? (((a - 5) * a + 8) * a - 4) * c : 0;
        }

        /** dst[dOff + i*dStride] = sum_j weights[i][j] * src[sOff + (start[i]+j)*sStride]. */
        void apply(float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride) {
            for (int i = 0; i < start.length; i++) {
                double acc = 0;
                double[] k = weights[i];
                int base = sOff + start[i] * sStride;
                for (int j = 0; j < k.length; j++) {
                    acc += k[j] * src[base + j * sStride];
                }
                dst[dOff + i * dStride] = (float) acc;
            }
        }
    }
}
