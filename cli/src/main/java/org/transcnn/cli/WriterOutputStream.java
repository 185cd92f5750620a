package org.transcnn.cli;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * The bytes of a {@link java.io.PrintStream} (UTF-8) passed on to a {@link PrintWriter}, so that code that logs to a
 * stream (the trainer and its progress bar) writes to the command line's own error writer, which tests capture.
 * Bytes are buffered until a flush, so that a character split across writes is decoded whole.
 */
final class WriterOutputStream extends OutputStream {

    private final PrintWriter writer;
    private final java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();

    WriterOutputStream(PrintWriter writer) {
        this.writer = java.util.Objects.requireNonNull(writer, "writer");
    }

    @Override
    public synchronized void write(int b) {
        pending.write(b);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        pending.write(b, off, len);
    }

    @Override
    public synchronized void flush() {
        writer.write(pending.toString(StandardCharsets.UTF_8));
        pending.reset();
        writer.flush();
    }

    @Override
    public void close() {
        flush();
    }
}
