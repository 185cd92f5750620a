package org.transcnn.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;
import org.transcnn.data.Npy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link OutputFiles} in a folder others can write to: a planted link is neither followed nor replaced, the
 * temporary file is not at a name anyone could plant beforehand, and a failed write changes nothing.
 */
class OutputFilesTest {

    @TempDir
    Path dir;

    private Path shared() throws IOException {
        return Files.createDirectory(dir.resolve("shared"));
    }

    private Path victim() throws IOException {
        return Files.writeString(Files.createDirectories(dir.resolve("elsewhere")).resolve("victim.txt"), "precious");
    }

    private static void write(Path target, String text) throws IOException {
        OutputFiles.replace(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void writesAndReplacesLeavingNoTemporaryFile() throws IOException {
        Path out = shared();
        Path target = out.resolve("metrics.json");
        write(target, "one");
        write(target, "two");
        assertEquals("two", Files.readString(target));
        assertEquals(List.of(target), Files.list(out).toList());
    }

    @Test
    void aFailedWriteLeavesThePreviousFileIntact() throws IOException {
        Path out = shared();
        Path target = Files.writeString(out.resolve("model.zip"), "previous checkpoint");
        IOException e = assertThrows(IOException.class, () -> OutputFiles.replace(target, o -> {
            o.write("half of a new chec".getBytes(StandardCharsets.UTF_8));
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertEquals("previous checkpoint", Files.readString(target));
        assertEquals(List.of(target), Files.list(out).toList(), "no temporary file left behind");
    }

    @Test
    void aSymlinkPlantedAtTheTargetIsNeitherFollowedNorReplaced() throws IOException {
        Path out = shared();
        Path victim = victim();
        Path link = Files.createSymbolicLink(out.resolve("logits.npy"), victim);
        IOException e = assertThrows(IOException.class, () -> write(link, "attacker-chosen target"));
        assertTrue(e.getMessage().contains("is a symbolic link"), e.getMessage());
        assertEquals("precious", Files.readString(victim));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(victim, Files.readSymbolicLink(link));
        assertEquals(List.of(link), Files.list(out).toList(), "no temporary file left behind");
        // Npy.write (what infer writes with) goes through the same check
        assertThrows(IOException.class, () -> Npy.write(Nd4j.ones(2, 2), link));
        assertEquals("precious", Files.readString(victim));
    }

    @Test
    void linksPlantedAtThePredictableTemporaryNamesAreNotFollowed() throws IOException {
        Path out = shared();
        Path victim = victim();
        Path target = out.resolve("model.zip");
        for (String name : List.of("model.zip.tmp", ".model.zip.tmp", "model.zip.part", "model.zip.part.png")) {
            Files.createSymbolicLink(out.resolve(name), victim);
        }
        write(target, "new checkpoint");
        assertEquals("new checkpoint", Files.readString(target));
        assertFalse(Files.isSymbolicLink(target));
        assertEquals("precious", Files.readString(victim));
    }

    @Test
    void aDirectoryAtTheTargetIsRefused() throws IOException {
        Path target = Files.createDirectory(shared().resolve("stage1.npy"));
        IOException e = assertThrows(IOException.class, () -> write(target, "x"));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        assertTrue(Files.isDirectory(target));
    }

    @Test
    void newFilesAreNotWritableByOthersAndReplacedFilesKeepTheirPermissions() throws IOException {
        Path out = shared();
        Path fresh = out.resolve("fresh.json");
        write(fresh, "x");
        Set<PosixFilePermission> p = Files.getPosixFilePermissions(fresh);
        assertTrue(p.contains(PosixFilePermission.OWNER_READ) && p.contains(PosixFilePermission.OWNER_WRITE), "" + p);
        assertFalse(p.contains(PosixFilePermission.OTHERS_WRITE) || p.contains(PosixFilePermission.GROUP_WRITE),
                "" + p);
        Path kept = Files.writeString(out.resolve("kept.json"), "old");
        Set<PosixFilePermission> own = Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.GROUP_READ);
        Files.setPosixFilePermissions(kept, own);
        write(kept, "new");
        assertEquals(own, Files.getPosixFilePermissions(kept, LinkOption.NOFOLLOW_LINKS));
    }
}
