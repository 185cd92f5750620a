package org.transcnn.weights;

import java.io.IOException;
import java.nio.file.Path;

/** A checkpoint that cannot be read or does not fit the model; the message names the file and, where known, the key. */
public class CheckpointException extends IOException {

    public CheckpointException(Path file, String message) {
        super(file + ": " + message);
    }

    public CheckpointException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
    }

    /** For a cause whose message already starts with the file's name (e.g. from {@code RegularFiles.require}). */
    CheckpointException(String messageNamingTheFile, Throwable cause) {
        super(messageNamingTheFile, cause);
    }
}
