package org.transcnn;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Test helpers for hostile inputs: named pipes, and the heap a piece of code allocates. */
public final class SpecialFiles {

    private SpecialFiles() {
    }

    /** Creates a FIFO at {@code path} with {@code mkfifo}; skips the test where the platform has none. */
    public static Path fifo(Path path) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("no mkfifo on this platform: " + e.getMessage());
            throw e;
        }
        boolean done = p.waitFor(10, TimeUnit.SECONDS);
        Assumptions.assumeTrue(done && p.exitValue() == 0 && Files.exists(path), "mkfifo failed");
        return path;
    }

    /** Bytes the current thread has allocated on the heap so far (HotSpot's counter), or -1 where unsupported. */
    public static long allocatedBytes() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                && t.isThreadAllocatedMemorySupported() && t.isThreadAllocatedMemoryEnabled()) {
            return t.getThreadAllocatedBytes(Thread.currentThread().getId());
        }
        return -1;
    }
}
