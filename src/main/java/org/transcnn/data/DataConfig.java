package org.transcnn.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * Immutable evaluation-time image configuration of a model, as timm's {@code pretrained_cfg} / {@code data_config}:
 * the network input size (height x width), the interpolation used for resizing, the crop fraction, and the
 * per-channel (RGB) mean and standard deviation of the normalisation, for pixel values scaled to [0, 1].
 *
 * <p>Preprocessing (see {@link ImagePreprocessor}): resize so that the image covers
 * {@link #resizeHeight()} x {@link #resizeWidth()} = floor(height / cropFraction) x floor(width / cropFraction)
 * keeping its aspect ratio (for a square input: shorter side to that size), centre-crop height x width, scale to
 * [0, 1], subtract the mean and divide by the std, giving [1, 3, height, width] NCHW RGB.
 */
public final class DataConfig {

    /** Resampling filter, as PIL/torchvision name them. */
    public enum Interpolation {
        NEAREST, BILINEAR, BICUBIC
    }

    /** ImageNet RGB mean (timm's IMAGENET_DEFAULT_MEAN). */
    public static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406};
    /** ImageNet RGB standard deviation (timm's IMAGENET_DEFAULT_STD). */
    public static final double[] IMAGENET_STD = {0.229, 0.224, 0.225};
    /**
     * Crop fraction of the DeiT/PVT evaluation transform the official TransCNN code follows: resize to
     * int(256/224 * size), centre-crop size, i.e. 224/256.
     */
    public static final double DEIT_CROP_FRACTION = 0.875;

    private final int height;
    private final int width;
    private final Interpolation interpolation;
    private final double cropFraction;
    private final double[] mean;
    private final double[] std;

    /**
     * @param height        network input height (&gt;= 1)
     * @param width         network input width (&gt;= 1)
     * @param interpolation resampling filter for the resize
     * @param cropFraction  fraction of the resized image kept by the centre crop, in (0, 1]
     * @param mean          3 RGB means, for values in [0, 1]
     * @param std           3 RGB standard deviations (&gt; 0)
     */
    public DataConfig(int height, int width, Interpolation interpolation, double cropFraction, double[] mean,
            double[] std) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("input size must be positive, got " + height + "x" + width + " (HxW)");
        }
        if (!(cropFraction > 0 && cropFraction <= 1)) {
            throw new IllegalArgumentException("cropFraction must be in (0, 1], got " + cropFraction);
        }
        if (mean == null || mean.length != 3 || std == null || std.length != 3) {
            throw new IllegalArgumentException("mean and std must have 3 (RGB) entries, got " + Arrays.toString(mean)
                    + " and " + Arrays.toString(std));
        }
        for (double s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("std entries must be > 0, got " + Arrays.toString(std));
            }
        }
        this.height = height;
        this.width = width;
        this.interpolation = Objects.requireNonNull(interpolation, "interpolation");
        this.cropFraction = cropFraction;
        this.mean = mean.clone();
        this.std = std.clone();
    }

    /**
     * The configuration the official TransCNN weights were evaluated with (DeiT/PVT evaluation transform, which the
     * official code follows) at input size {@code height} x {@code width}: bicubic, crop fraction 0.875, ImageNet
     * mean and std.
     */
    public static DataConfig imagenet(int height, int width) {
        return new DataConfig(height, width, Interpolation.BICUBIC, DEIT_CROP_FRACTION, IMAGENET_MEAN, IMAGENET_STD);
    }

    /** This configuration for another input size. */
    public DataConfig withInputSize(int height, int width) {
        return new DataConfig(height, width, interpolation, cropFraction, mean, std);
    }

    /** This configuration with another crop fraction (1 = resize straight to the input size's short side). */
    public DataConfig withCropFraction(double cropFraction) {
        return new DataConfig(height, width, interpolation, cropFraction, mean, std);
    }

    /** This configuration with another interpolation. */
    public DataConfig withInterpolation(Interpolation interpolation) {
        return new DataConfig(height, width, interpolation, cropFraction, mean, std);
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public Interpolation interpolation() {
        return interpolation;
    }

    public double cropFraction() {
        return cropFraction;
    }

    /** RGB means (a copy). */
    public double[] mean() {
        return mean.clone();
    }

    /** RGB standard deviations (a copy). */
    public double[] std() {
        return std.clone();
    }

    /** Height the image is resized to cover before the crop: floor(height / cropFraction). */
    public int resizeHeight() {
        return (int) Math.floor(height / cropFraction);
    }

    /** Width the image is resized to cover before the crop: floor(width / cropFraction). */
    public int resizeWidth() {
        return (int) Math.floor(width / cropFraction);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DataConfig d && height == d.height && width == d.width
                && interpolation == d.interpolation && cropFraction == d.cropFraction
                && Arrays.equals(mean, d.mean) && Arrays.equals(std, d.std);
    }

    @Override
    public int hashCode() {
        return Objects.hash(height, width, interpolation, cropFraction, Arrays.hashCode(mean), Arrays.hashCode(std));
    }

    @Override
    public String toString() {
        return "DataConfig{input " + height + "x" + width + " (HxW), " + interpolation.name().toLowerCase()
                + ", crop " + cropFraction + ", mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std) + "}";
    }
}
