package org.transcnn.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random corruption of a real model.zip: every corrupted copy is either loaded or refused with an IOException, never
 * a hang, another exception, a crash or an out-of-memory error.
 */
class ModelFileFuzzTest {

    private static final int COPIES = 160;

    @Test
    void corruptedModelFilesAreLoadedOrCleanlyRefused(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("good.zip");
        ModelFile.save(ModelFileTest.trainedTiny(), good, true, Map.of("note.txt", "run state"));
        byte[] raw = Files.readAllBytes(good);
        Map<String, byte[]> entries = Zips.read(good);
        List<String> names = new ArrayList<>(entries.keySet());
        Random r = new Random(20261201);
        int loaded = 0;
        int refused = 0;
        for (int i = 0; i < COPIES; i++) {
            byte[] bytes;
            String what;
            switch (i % 4) {
                case 0: {
                    bytes = raw.clone();
                    int flips = 1 + r.nextInt(8);
                    for (int k = 0; k < flips; k++) {
                        bytes[r.nextInt(bytes.length)] = (byte) r.nextInt(256);
                    }
                    what = flips + " raw byte flips";
                    break;
                }
                case 1:
                    bytes = java.util.Arrays.copyOf(raw, r.nextInt(raw.length));
                    what = "truncated to " + bytes.length + " bytes";
                    break;
                default: {
                    String name = names.get(r.nextInt(names.size()));
                    byte[] content = entries.get(name).clone();
                    if (name.equals(ModelFile.CONFIGURATION) && i % 4 == 2) {
                        content = mutateDigits(new String(content, StandardCharsets.UTF_8), r)
                                .getBytes(StandardCharsets.UTF_8);
                        what = "digits changed in " + name;
                    } else {
                        int at = content.length == 0 ? 0 : r.nextInt(Math.min(content.length, 256));
                        for (int k = 0; k < 4 && at + k < content.length; k++) {
                            content[at + k] = (byte) r.nextInt(256);
                        }
                        what = "header bytes at " + at + " of " + name;
                    }
                    Map<String, byte[]> copy = new java.util.LinkedHashMap<>(entries);
                    copy.put(name, content);
                    bytes = Zips.bytes(copy);
                }
            }
            Path f = Files.write(dir.resolve("fuzz" + i + ".zip"), bytes);
            String label = "copy " + i + " (" + what + ")";
            boolean ok = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                try {
                    ModelFile.load(f, true);
                    return true;
                } catch (IOException e) {
                    assertTrue(e.getMessage() != null && e.getMessage().contains(f.toString()),
                            label + ": the message names the file: " + e.getMessage());
                    return false;
                } catch (Throwable t) {
                    fail(label + ": neither loaded nor refused with an IOException", t);
                    return false;
                }
            }, label);
            if (ok) {
                loaded++;
            } else {
                refused++;
            }
            Files.delete(f);
        }
        assertTrue(refused > COPIES / 2, "most corruptions are caught: " + refused + " refused, " + loaded
                + " loaded");
    }

    /** Replaces a few digits of the configuration: layer sizes, rates, counts. */
    private static String mutateDigits(String json, Random r) {
        char[] c = json.toCharArray();
        List<Integer> digits = new ArrayList<>();
        for (int i = 0; i < c.length; i++) {
            if (Character.isDigit(c[i])) {
                digits.add(i);
            }
        }
        for (int k = 0; k < 3; k++) {
            c[digits.get(r.nextInt(digits.size()))] = (char) ('0' + r.nextInt(10));
        }
        return new String(c);
    }
}
