package org.transcnn.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transcnn.Fixtures;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * 1,200 randomly corrupted copies of a fixture checkpoint (flipped bytes anywhere, in the pickle and in the zip
 * directory; cut lengths; edited zip entries) are each either loaded or refused with a CheckpointException that
 * names the file: never another exception, a crash, a hang or an out-of-memory.
 */
class CheckpointFuzzTest {

    static final int COPIES = 1200;

    @TempDir
    Path dir;

    @Test
    void corruptedCheckpointsAreLoadedOrCleanlyRefused() throws Exception {
        Path source = Fixtures.file(Fixtures.WITH_GRADS, "model.pth");
        byte[] original = Files.readAllBytes(source);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(source.toFile())) {
            for (var e : zip.stream().toList()) {
                entries.put(e.getName(), zip.getInputStream(e).readAllBytes());
            }
        }
        String pklName = entries.keySet().stream().filter(n -> n.endsWith("data.pkl")).findFirst().orElseThrow();
        int pklStart = indexOf(original, entries.get(pklName));
        int pklLength = entries.get(pklName).length;
        assertTrue(pklStart > 0);

        Random random = new Random(20261128);
        int[] outcomes = new int[2];
        List<String> kinds = new ArrayList<>();
        assertTimeoutPreemptively(Duration.ofMinutes(4), () -> {
            for (int i = 0; i < COPIES; i++) {
                Path file = dir.resolve("fuzz-" + i + ".pth");
                String kind = corrupt(i % 6, random, original, entries, pklName, pklStart, pklLength, file);
                try {
                    TransCnnWeights.readChecked(file, Fixtures.builder(Fixtures.WITH_GRADS));
                    outcomes[0]++;
                } catch (CheckpointException e) {
                    assertTrue(e.getMessage().startsWith(file.toString()), "message must name the file: "
                            + e.getMessage());
                    outcomes[1]++;
                } catch (Throwable t) {
                    fail("copy " + i + " (" + kind + ") failed with " + t, t);
                }
                Files.delete(file);
                kinds.add(kind);
            }
        });
        assertEquals(COPIES, outcomes[0] + outcomes[1]);
        assertTrue(outcomes[1] > COPIES / 3, "most corruptions outside tensor data must be refused: " + outcomes[1]);
        assertTrue(outcomes[0] > 0, "flips inside tensor data still load");
    }

    private static String corrupt(int kind, Random r, byte[] original, Map<String, byte[]> entries, String pklName,
            int pklStart, int pklLength, Path file) throws IOException {
        byte[] b = original.clone();
        switch (kind) {
            case 0 -> {
                for (int k = 1 + r.nextInt(8); k > 0; k--) {
                    b[r.nextInt(b.length)] ^= (byte) (1 + r.nextInt(255));
                }
                Files.write(file, b);
                return "flip anywhere";
            }
            case 1 -> {
                for (int k = 1 + r.nextInt(4); k > 0; k--) {
                    b[pklStart + r.nextInt(pklLength)] ^= (byte) (1 + r.nextInt(255));
                }
                Files.write(file, b);
                return "flip in pickle";
            }
            case 2 -> {
                int tail = Math.min(4096, b.length);
                for (int k = 1 + r.nextInt(4); k > 0; k--) {
                    b[b.length - 1 - r.nextInt(tail)] ^= (byte) (1 + r.nextInt(255));
                }
                Files.write(file, b);
                return "flip in zip directory";
            }
            case 3 -> {
                Files.write(file, Arrays.copyOf(b, r.nextInt(b.length)));
                return "cut";
            }
            case 4 -> {
                Map<String, byte[]> e = new LinkedHashMap<>(entries);
                List<String> names = new ArrayList<>(e.keySet());
                String victim = names.get(r.nextInt(names.size()));
                byte[] content = e.remove(victim);
                switch (r.nextInt(4)) {
                    case 0 -> { }
                    case 1 -> e.put(victim + "x", content);
                    case 2 -> e.put(victim, Arrays.copyOf(content, r.nextInt(content.length + 1)));
                    default -> e.put(victim, Arrays.copyOf(content, content.length + 1 + r.nextInt(64)));
                }
                TorchWriter.zip(file, e);
                return "edited entry " + victim;
            }
            default -> {
                Map<String, byte[]> e = new LinkedHashMap<>(entries);
                byte[] pkl = e.get(pklName).clone();
                int at = r.nextInt(pkl.length);
                int len = 1 + r.nextInt(Math.min(32, pkl.length - at));
                byte[] edited = new byte[pkl.length - len];
                System.arraycopy(pkl, 0, edited, 0, at);
                System.arraycopy(pkl, at + len, edited, at, pkl.length - at - len);
                e.put(pklName, r.nextBoolean() ? edited
                        : (new String(pkl, StandardCharsets.ISO_8859_1).replace("FloatStorage", "HalfStorage"))
                                .getBytes(StandardCharsets.ISO_8859_1));
                TorchWriter.zip(file, e);
                return "edited pickle";
            }
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
