package org.transcnn.train;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Crash-safe file replacement: write a temporary file next to the target, flush it to disk, then atomically rename it
 * over the target.
 */
public final class Checkpoints {

    /** Writes the content of a file. */
    @FunctionalInterface
    public interface Writer {
        void write(Path file) throws IOException;
    }

    private Checkpoints() {
    }

    /**
     * Runs {@code writer} on {@code target + ".tmp"} and renames the result over {@code target}. If the writer fails,
     * the temporary file is removed and {@code target} is left exactly as it was.
     */
    public static void atomicWrite(Path target, Writer writer) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            writer.write(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
