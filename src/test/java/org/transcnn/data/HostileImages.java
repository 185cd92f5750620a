package org.transcnn.data;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/** Hostile image files, built byte by byte in the tests: pixel bombs, CMYK JPEGs, truncated files. */
public final class HostileImages {

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private HostileImages() {
    }

    /** One PNG chunk: length, type, data, CRC-32 of type and data. */
    static byte[] chunk(String type, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(12 + data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        b.putInt(data.length).put(t).put(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /** IHDR of an 8-bit gray, non-interlaced w x h image. */
    static byte[] ihdr(int w, int h) {
        return chunk("IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0)
                .put((byte) 0).put((byte) 0).array());
    }

    /**
     * A valid PNG of {@code size} x {@code size} black 8-bit gray pixels: every row is filter byte 0 and zeros, so
     * the zlib stream (written here with {@link Deflater}) is about a thousandth of the pixel count.
     */
    public static byte[] pixelBomb(int size) {
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
        byte[] row = new byte[size + 1];
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        for (int y = 0; y < size; y++) {
            deflater.setInput(row);
            while (!deflater.needsInput()) {
                z.write(buf, 0, deflater.deflate(buf));
            }
        }
        deflater.finish();
        while (!deflater.finished()) {
            z.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        return concat(PNG_SIGNATURE, ihdr(size, size), chunk("IDAT", z.toByteArray()), chunk("IEND", new byte[0]));
    }

    /** A 74-byte PNG whose header claims {@code w} x {@code h} with a few bytes of image data. */
    public static byte[] headerOnlyPng(int w, int h) {
        return concat(PNG_SIGNATURE, ihdr(w, h), chunk("IDAT", new byte[] {0x78, (byte) 0xda, 0x63, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0}), chunk("IEND", new byte[0]));
    }

    /**
     * A 40 x 30 JPEG with four colour components, as a CMYK or YCCK file has: a 4-band raster written by ImageIO's
     * JPEG writer, with an Adobe APP14 marker of the given colour transform (0 CMYK, 2 YCCK, 1 mislabelled) inserted
     * after SOI, or none where {@code transform} is negative.
     */
    public static byte[] fourComponentJpeg(int transform) throws IOException {
        WritableRaster r = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 40, 30, 4, null);
        for (int y = 0; y < 30; y++) {
            for (int x = 0; x < 40; x++) {
                r.setPixel(x, y, new int[] {10, 200, 30, 0});
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(r, null, null), null);
        } finally {
            writer.dispose();
        }
        byte[] jpeg = bytes.toByteArray();
        if (transform < 0) {
            return jpeg;
        }
        byte[] app14 = {(byte) 0xff, (byte) 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
        return concat(Arrays.copyOf(jpeg, 2), app14, Arrays.copyOfRange(jpeg, 2, jpeg.length));
    }

    /** A 64 x 64 random-colour image written by ImageIO as {@code format}. */
    public static byte[] noise(String format) throws IOException {
        BufferedImage image = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(7);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                image.setRGB(x, y, random.nextInt(1 << 24));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(image, format, out)) {
            throw new IllegalStateException("no ImageIO writer for " + format);
        }
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
