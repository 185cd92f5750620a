package org.transcnn.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/** Test helper: reads a zip into memory, writes entries as a zip, and renames entries in raw zip bytes. */
final class Zips {

    private Zips() {
    }

    static Map<String, byte[]> read(Path file) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(file.toFile())) {
            var it = z.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                m.put(e.getName(), z.getInputStream(e).readAllBytes());
            }
        }
        return m;
    }

    static byte[] bytes(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(b)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return b.toByteArray();
    }

    static Path write(Path file, Map<String, byte[]> entries) throws IOException {
        return Files.write(file, bytes(entries));
    }

    /**
     * Replaces every occurrence of the entry name {@code from} by {@code to} (same length) in raw zip bytes: in the
     * local headers and the central directory alike, so that the zip names what no ZipOutputStream would write
     * (duplicates, {@code ../} paths).
     */
    static byte[] rename(byte[] zip, String from, String to) {
        byte[] f = from.getBytes(StandardCharsets.UTF_8);
        byte[] t = to.getBytes(StandardCharsets.UTF_8);
        if (f.length != t.length) {
            throw new IllegalArgumentException("names of different lengths");
        }
        byte[] out = zip.clone();
        int hits = 0;
        for (int i = 0; i + f.length <= out.length; i++) {
            boolean match = true;
            for (int j = 0; j < f.length && match; j++) {
                match = out[i + j] == f[j];
            }
            if (match) {
                System.arraycopy(t, 0, out, i, t.length);
                hits++;
            }
        }
        if (hits != 2) {
            throw new IllegalStateException(from + " found " + hits + " times, expected 2 (local and central)");
        }
        return out;
    }
}
