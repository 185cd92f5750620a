package org.transcnn.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Checks that a path a user named as an input is a regular file before anything opens it: a FIFO would block the
 * reader forever, a device such as {@code /dev/zero} never ends, and a directory has no bytes to read. Each gets its
 * own message instead of a generic "no such file".
 */
public final class RegularFiles {

    private RegularFiles() {
    }

    /**
     * Returns {@code file} if it is a regular file (following symbolic links, as opening it would), else throws.
     *
     * @param role what the file is for, written into the message, e.g. {@code "--labels"} or {@code "checkpoint"}
     * @throws NoSuchFileException if nothing is there, with the message "FILE: no such file (ROLE)"
     * @throws IOException         if it is a directory, FIFO, socket or device
     */
    public static Path require(Path file, String role) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no such file (" + role + ")");
        }
        if (a.isRegularFile()) {
            return file;
        }
        String kind = a.isDirectory() ? "a directory" : a.isSymbolicLink() ? "a dangling link" : kindOf(file);
        throw new IOException(file + " (" + role + "): not a regular file but " + kind);
    }

    /** What a non-regular, non-directory file is, as far as the platform tells. */
    private static String kindOf(Path file) {
        try {
            Object mode = Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if (mode instanceof Integer) {
                switch ((Integer) mode & 0170000) {
                    case 0010000:
                        return "a FIFO (named pipe)";
                    case 0020000:
                        return "a character device";
                    case 0060000:
                        return "a block device";
                    case 0140000:
                        return "a socket";
                    default:
                        break;
                }
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // the platform has no unix view: the generic description below is all we can say
        }
        return "a special file (FIFO, socket or device)";
    }
}
