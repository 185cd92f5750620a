package org.transcnn.data;

import org.transcnn.io.RegularFiles;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The data readers' check of a file a user named, before it is opened: {@link RegularFiles#require} (a FIFO would
 * block the reader, a device never ends), with a missing file reported as a plain {@link IOException} whose message
 * starts with the file, as the readers' other errors do.
 */
final class InputFiles {

    private InputFiles() {
    }

    /**
     * Returns {@code file} if it is a regular file.
     *
     * @param role what the file is for, e.g. {@code "image"}, named in the message
     * @throws IOException "FILE: no such file (ROLE)" or RegularFiles' "FILE (ROLE): not a regular file but ..."
     */
    static Path require(Path file, String role) throws IOException {
        try {
            return RegularFiles.require(file, role);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file (" + role + ")", e);
        }
    }
}
