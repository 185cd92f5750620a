package org.transcnn.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;

/**
 * Writes output files so that a crash, a failing writer or another user of a shared folder cannot damage anything.
 *
 * <p>{@link #replace} writes the content to a new temporary file in the target's folder, created exclusively under
 * an unpredictable name ({@link Files#createTempFile}) and opened without following links, flushes it to disk, and
 * renames it over the target in one atomic step. The target is either its old self or the complete new content,
 * never a part. A symbolic link at the target is refused, neither followed nor replaced: in a folder others can
 * write to, a planted link would otherwise redirect the output to a file elsewhere.
 */
public final class OutputFiles {

    /** Writes the content of a file to a stream; the stream is closed by {@link #replace}. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private static final Set<PosixFilePermission> NEW_FILE = PosixFilePermissions.fromString("rw-r--r--");

    private OutputFiles() {
    }

    /**
     * Writes {@code content} to {@code target}, replacing the file there atomically.
     *
     * @throws IOException naming the target if it is a symbolic link or not a regular file, or if writing fails; the
     *                     target is then left as it was and no temporary file remains
     */
    public static void replace(Path target, Content content) throws IOException {
        Objects.requireNonNull(content, "content");
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        checkReplaceable(target);
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] attrs = posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                Files.exists(target, LinkOption.NOFOLLOW_LINKS) ? Files.getPosixFilePermissions(target,
                        LinkOption.NOFOLLOW_LINKS) : NEW_FILE)} : new FileAttribute<?>[0];
        Path tmp = Files.createTempFile(dir, "." + absolute.getFileName() + ".", ".tmp", attrs);
        try {
            Object key;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                key = fileKey(tmp);
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                content.writeTo(new OutputStream() {
                    @Override
                    public void write(int b) throws IOException {
                        out.write(b);
                    }

                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                    }

                    @Override
                    public void flush() throws IOException {
                        out.flush();
                    }

                    @Override
                    public void close() throws IOException {
                        out.flush();
                    }
                });
                out.flush();
                ch.force(true);
            }
            if (key != null && !key.equals(fileKey(tmp))) {
                throw new IOException(tmp + ": the temporary file was replaced while it was written; " + target
                        + " left unchanged");
            }
            checkReplaceable(target);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Checks, before any computation whose results would go there, that {@code dir} is a directory this process can
     * create files in, or can be created as one; creates nothing that remains. An existing directory is probed by
     * creating and deleting an exclusive temporary file (permission bits alone do not tell: root ignores them, a
     * read-only mount does not); for a missing one, its nearest existing ancestor must be a writable directory.
     *
     * @param role the option or purpose that named {@code dir}, for the message (e.g. {@code "--out"})
     * @throws IOException "ROLE DIR: WHY", e.g. "--out /a/b: /a is a file, not a directory"
     */
    public static void checkDirectory(Path dir, String role) throws IOException {
        Path absolute = dir.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            try {
                Files.delete(Files.createTempFile(absolute, ".transcnn-write-check.", ".tmp"));
            } catch (IOException | SecurityException e) {
                throw new IOException(role + " " + dir + ": the directory is not writable (" + reason(e) + ")", e);
            }
            return;
        }
        if (Files.exists(absolute)) {
            throw new IOException(role + " " + dir + ": exists and is not a directory, expected an output directory");
        }
        Path ancestor = absolute.getParent();
        while (ancestor != null && !Files.exists(ancestor)) {
            ancestor = ancestor.getParent();
        }
        if (ancestor == null) {
            throw new IOException(role + " " + dir + ": cannot be created (no existing parent directory)");
        }
        if (!Files.isDirectory(ancestor)) {
            throw new IOException(role + " " + dir + ": cannot be created: " + ancestor + " is a file, not a "
                    + "directory");
        }
        if (!Files.isWritable(ancestor)) {
            throw new IOException(role + " " + dir + ": cannot be created: " + ancestor + " is not writable");
        }
    }

    /** What went wrong, without the exception's class name: the reason a file-system error gives, or its message. */
    static String reason(Exception e) {
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() == null ? "permission denied" : e.getMessage();
    }

    private static void checkReplaceable(Path target) throws IOException {
        if (Files.isSymbolicLink(target)) {
            throw new IOException(target + ": is a symbolic link; refusing to write through it or replace it "
                    + "(remove the link or choose another output)");
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(target,
                LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(target + ": exists and is not a regular file; refusing to replace it");
        }
    }

    private static Object fileKey(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile()) {
            throw new IOException(file + ": the temporary file is no longer a regular file");
        }
        return a.fileKey();
    }
}
