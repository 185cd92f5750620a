package org.transcnn.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Grayscale images with class labels: {@code count} images of {@code rows x cols} unsigned bytes and a label
 * (0 .. classes-1) each.
 */
public record ImageDataset(byte[] pixels, byte[] labels, int count, int rows, int cols, int classes) {

    /** Loads an IDX image file and its IDX label file, checking that they belong together. */
    public static ImageDataset loadIdx(Path images, Path labels, int classes) throws IOException {
        Idx.Tensor x = Idx.read(images, 3);
        Idx.Tensor y = Idx.read(labels, 1);
        if (x.count() != y.count()) {
            throw new IOException(images + " holds " + x.count() + " images but " + labels + " holds " + y.count()
                    + " labels");
        }
        for (int i = 0; i < y.count(); i++) {
            int label = y.data()[i] & 0xff;
            if (label >= classes) {
                throw new IOException(labels + ": label " + label + " at index " + i + " is not below " + classes);
            }
        }
        return new ImageDataset(x.data(), y.data(), x.count(), x.dims()[1], x.dims()[2], classes);
    }

    public int label(int i) {
        return labels[i] & 0xff;
    }

    /** Pixel (r, c) of image i, 0..255. */
    public int pixel(int i, int r, int c) {
        return pixels[(i * rows + r) * cols + c] & 0xff;
    }
}
