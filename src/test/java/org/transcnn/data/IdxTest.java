package org.transcnn.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transcnn.SpecialFiles;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The IDX reader on small generated files, good and bad. */
class IdxTest {

    @TempDir
    Path dir;

    static byte[] idx(int magic, int[] dims, int dataBytes) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(b);
        out.writeInt(magic);
        for (int d : dims) {
            out.writeInt(d);
        }
        for (int i = 0; i < dataBytes; i++) {
            out.writeByte(i % 10);
        }
        return b.toByteArray();
    }

    Path gz(String name, byte[] content) throws IOException {
        Path f = dir.resolve(name);
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
            out.write(content);
        }
        return f;
    }

    @Test
    void readsImagesAndLabels() throws IOException {
        Path images = gz("img.gz", idx(0x803, new int[] {3, 2, 2}, 12));
        Path labels = gz("lab.gz", idx(0x801, new int[] {3}, 3));
        ImageDataset d = ImageDataset.loadIdx(images, labels, 10);
        assertEquals(3, d.count());
        assertEquals(2, d.rows());
        assertEquals(2, d.cols());
        assertEquals(2, d.label(2));
        assertEquals(5, d.pixel(1, 0, 1));
        Path plain = Files.write(dir.resolve("plain"), idx(0x803, new int[] {1, 2, 2}, 4));
        assertArrayEquals(new int[] {1, 2, 2}, Idx.read(plain, 3).dims());
    }

    @Test
    void wrongMagicNumber() throws IOException {
        Path f = gz("bad.gz", idx(0x801, new int[] {3, 2, 2}, 12));
        IOException e = assertThrows(IOException.class, () -> Idx.read(f, 3));
        assertTrue(e.getMessage().contains("bad IDX magic number 0x801, expected 0x803"), e.getMessage());
    }

    @Test
    void truncatedFile() throws IOException {
        byte[] full = idx(0x803, new int[] {3, 2, 2}, 12);
        Path f = gz("cut.gz", Arrays.copyOf(full, full.length - 5));
        IOException e = assertThrows(IOException.class, () -> Idx.read(f, 3));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("cut.gz"), e.getMessage());
        Path header = gz("head.gz", Arrays.copyOf(full, 6));
        assertTrue(assertThrows(IOException.class, () -> Idx.read(header, 3)).getMessage().contains("truncated"));
    }

    @Test
    void mismatchedImageAndLabelCounts() throws IOException {
        Path images = gz("img.gz", idx(0x803, new int[] {3, 2, 2}, 12));
        Path labels = gz("lab.gz", idx(0x801, new int[] {4}, 4));
        IOException e = assertThrows(IOException.class, () -> ImageDataset.loadIdx(images, labels, 10));
        assertTrue(e.getMessage().contains("holds 3 images but") && e.getMessage().contains("holds 4 labels"),
                e.getMessage());
    }

    @Test
    void labelOutOfRange() throws IOException {
        Path images = gz("img.gz", idx(0x803, new int[] {3, 2, 2}, 12));
        Path labels = gz("lab.gz", idx(0x801, new int[] {3}, 3));
        IOException e = assertThrows(IOException.class, () -> ImageDataset.loadIdx(images, labels, 2));
        assertTrue(e.getMessage().contains("label 2 at index 2 is not below 2"), e.getMessage());
    }

    @Test
    void notGzip() throws IOException {
        Path f = Files.writeString(dir.resolve("x.gz"), "hello");
        IOException e = assertThrows(IOException.class, () -> Idx.read(f, 3));
        assertTrue(e.getMessage().contains("x.gz"), e.getMessage());
    }

    @Test
    void specialFilesAreRefusedByKindWithoutBlocking() throws Exception {
        Path fifo = SpecialFiles.fifo(dir.resolve("pipe.gz"));
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(IOException.class, () -> Idx.read(fifo, 3)));
        assertTrue(e.getMessage().contains(fifo + " (IDX file): not a regular file but a FIFO"), e.getMessage());
        Path d = Files.createDirectory(dir.resolve("d.gz"));
        IOException de = assertThrows(IOException.class, () -> Idx.read(d, 3));
        assertTrue(de.getMessage().contains(d + " (IDX file): not a regular file but a directory"), de.getMessage());
        IOException m = assertThrows(IOException.class, () -> Idx.read(dir.resolve("none.gz"), 3));
        assertTrue(m.getMessage().contains("none.gz: no such file (IDX file)"), m.getMessage());
    }

    @Test
    void embeddedSampleIsComplete() {
        FashionMnist s = FashionMnist.sample();
        assertEquals(3000, s.train().count());
        assertEquals(1000, s.test().count());
        assertEquals(28, s.train().rows());
    }
}
