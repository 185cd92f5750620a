package org.transcnn.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transcnn.SpecialFiles;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ImageNetClasses#read}, the reader of {@code --labels}: good lists, and files that must not be read. */
class ImageNetClassesTest {

    @TempDir
    Path dir;

    static void assertRefused(Path file, int classes, String expected) {
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(IOException.class, () -> ImageNetClasses.read(file, "--labels", classes)));
        assertTrue(e.getMessage().contains(expected), "says '" + expected + "': " + e.getMessage());
    }

    @Test
    void readsOneNamePerLineIgnoringTrailingBlankLines() throws IOException {
        Path f = Files.writeString(dir.resolve("names.txt"), "cat\ndog\n\n  \n");
        assertEquals(List.of("cat", "dog"), ImageNetClasses.read(f, "--labels", 2));
        assertRefused(f, 3, "--labels " + f + " has 2 names, the model has 3 classes");
    }

    @Test
    void specialHugeAndBinaryFilesAreRefused() throws Exception {
        Path fifo = SpecialFiles.fifo(dir.resolve("names.fifo"));
        assertRefused(fifo, 2, fifo + " (--labels): not a regular file but a FIFO");
        assertRefused(dir.resolve("none.txt"), 2, "none.txt: no such file (--labels)");
        Path huge = dir.resolve("huge.txt");
        try (RandomAccessFile f = new RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(ImageNetClasses.MAX_LABELS_BYTES + 1);
        }
        assertRefused(huge, 2, huge + ": 16777217 bytes, expected at most 16777216");
        Path binary = Files.write(dir.resolve("bin.txt"), new byte[] {'a', '\n', (byte) 0xff, (byte) 0xfe, '\n'});
        assertRefused(binary, 2, binary + ": not UTF-8 text");
    }
}
