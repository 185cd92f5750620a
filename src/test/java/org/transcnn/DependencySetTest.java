package org.transcnn;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library's runtime dependency set is the committed list (src/test/resources/runtime-dependencies.txt): the
 * build writes the resolved set to target/runtime-dependencies.txt (maven-dependency-plugin's {@code list} goal,
 * runtime scope) before the tests, and a dependency that appears or disappears fails here, naming it.
 */
class DependencySetTest {

    /** groupId:artifactId:version of each line of a dependency:list output, colours and module names removed. */
    static Set<String> resolved(String listing) {
        Set<String> out = new TreeSet<>();
        for (String raw : listing.split("\n")) {
            String line = raw.replaceAll("\u001B\\[[0-9;]*m", "").trim();
            if (line.isEmpty() || line.startsWith("The following") || line.equals("none")) {
                continue;
            }
            String[] c = line.split("\\s+")[0].split(":");
            out.add(c[0] + ":" + c[1] + ":" + c[c.length - 1]);
        }
        return out;
    }

    @Test
    void runtimeDependenciesAreTheCommittedList() throws IOException {
        Path listing = Path.of("target", "runtime-dependencies.txt");
        assertTrue(Files.isRegularFile(listing), listing + " is missing: run the tests through Maven (mvn test), "
                + "whose generate-test-resources phase writes it");
        Set<String> actual = resolved(Files.readString(listing, StandardCharsets.UTF_8));
        Set<String> expected;
        try (InputStream in = DependencySetTest.class.getResourceAsStream("/runtime-dependencies.txt")) {
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#")).collect(Collectors.toCollection(TreeSet::new));
        }
        Set<String> added = new TreeSet<>(actual);
        added.removeAll(expected);
        Set<String> removed = new TreeSet<>(expected);
        removed.removeAll(actual);
        assertEquals("", (added.isEmpty() ? "" : "new runtime dependencies " + added + "; ")
                + (removed.isEmpty() ? "" : "no longer resolved " + removed), "the library's runtime dependencies "
                + "changed: a library user inherits every one; update src/test/resources/runtime-dependencies.txt "
                + "only if that is intended");
    }
}
