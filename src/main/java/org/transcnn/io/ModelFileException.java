package org.transcnn.io;

import java.io.IOException;
import java.nio.file.Path;

/** A model file that was refused: the message names the file and, where one is at fault, the zip entry. */
public final class ModelFileException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String entry;

    ModelFileException(Path file, String entry, String message) {
        this(file, entry, message, null);
    }

    ModelFileException(Path file, String entry, String message, Throwable cause) {
        super(file + (entry != null ? " [" + entry + "]" : "") + ": " + message, cause);
        this.file = file;
        this.entry = entry;
    }

    /** The model file. */
    public Path file() {
        return file;
    }

    /** The zip entry at fault, or null when the file as a whole is. */
    public String entry() {
        return entry;
    }
}
