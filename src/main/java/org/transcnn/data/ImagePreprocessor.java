package org.transcnn.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import javax.imageio.ImageIO;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Turns an image file into a normalised network input by a {@link DataConfig}, as torchvision's evaluation transform
 * ({@code Resize}, {@code CenterCrop}, {@code ToTensor}, {@code Normalize}) does: [1, 3, height, width], float32,
 * NCHW, RGB.
 *
 * <p>Reading uses {@code javax.imageio} (JPEG, PNG, BMP, GIF, TIFF, WBMP). Gray images (8 or 16 bit) are repeated to
 * three channels from their raw sample values; colour images are read as sRGB; alpha is dropped, not composited (as
 * PIL's {@code convert("RGB")}). CMYK JPEGs are refused by ImageIO with a clear error.
 *
 * <p>Resizing is a separable convolution in the manner of PIL's {@code resize} (which torchvision uses on PIL
 * images): the filter (Keys cubic with a = -0.5, triangle, or nearest) is stretched by the scale factor when
 * shrinking, so downscaling is antialiased. Unlike PIL, the intermediate result is kept in floating point rather
 * than rounded to 8 bits between the two passes; values are clamped to [0, 255] at the end as PIL does.
 */
public final class ImagePreprocessor {

    private final DataConfig config;

    public ImagePreprocessor(DataConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    public DataConfig config() {
        return config;
    }

    /**
     * Reads and preprocesses {@code file}.
     *
     * @return [1, 3, height, width] float32
     * @throws IOException naming the file when it is missing, unreadable or not an image ImageIO can decode
     */
    public INDArray load(Path file) throws IOException {
        return preprocess(read(file));
    }

    /** Reads {@code file} as an image, with an error that names the file when it is not one. */
    public static BufferedImage read(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new IOException(file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": not a regular file");
        }
        BufferedImage image;
        try (InputStream in = Files.newInputStream(file)) {
            image = ImageIO.read(in);
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": cannot decode the image (" + e.getMessage() + ")", e);
        }
        if (image == null) {
            throw new IOException(file + ": not an image (no JPEG, PNG, BMP, GIF or TIFF reader recognises it)");
        }
        return image;
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
