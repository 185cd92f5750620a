package org.transcnn;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.transcnn.models.Preset;
import org.transcnn.models.TransCNN;
import org.transcnn.weights.TorchWriter;
import org.transcnn.weights.TransCnnWeights;

import javax.imageio.ImageIO;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every Java snippet in README.md compiles as it stands there (its imports shown, every variable defined) and runs:
 * each becomes the body of a {@code main} method, compiled against the test classpath and run in a JVM of its own
 * whose working directory holds the files the snippets name ({@code TransCNN-Tiny.pth}: a SMALL checkpoint with
 * fresh weights, written here; {@code cat.jpg}: a generated image).
 */
class ReadmeExamplesTest {

    /** A README code block: its number, first line in the README, imports and statements. */
    record Snippet(int index, int line, List<String> imports, String body) {
    }

    @TempDir
    static Path work;

    private static Path classes;
    private static List<Snippet> snippets;

    static List<Snippet> snippets(Path readme) throws IOException {
        List<String> lines = Files.readAllLines(readme, StandardCharsets.UTF_8);
        List<Snippet> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).equals("```java")) {
                continue;
            }
            int start = i + 1;
            List<String> imports = new ArrayList<>();
            StringBuilder body = new StringBuilder();
            for (i = start; !lines.get(i).equals("```"); i++) {
                String l = lines.get(i);
                if (l.startsWith("import ")) {
                    imports.add(l);
                } else {
                    body.append(l).append('\n');
                }
            }
            out.add(new Snippet(out.size() + 1, start, imports, body.toString()));
        }
        return out;
    }

    @BeforeAll
    static void compileSnippetsAndWriteTheirFiles() throws Exception {
        snippets = snippets(Path.of("README.md"));
        assertTrue(snippets.size() >= 8, "README snippets found: " + snippets.size());
        Path sources = Files.createDirectories(work.resolve("src"));
        classes = Files.createDirectories(work.resolve("classes"));
        List<File> files = new ArrayList<>();
        for (Snippet s : snippets) {
            String src = String.join("\n", s.imports()) + "\n\npublic class Snippet" + s.index() + " {\n"
                    + "    public static void main(String[] args) throws Exception {\n" + s.body() + "    }\n}\n";
            files.add(Files.writeString(sources.resolve("Snippet" + s.index() + ".java"), src).toFile());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            boolean ok = javac.getTask(null, fm, diagnostics, List.of("-classpath",
                    System.getProperty("java.class.path"), "-d", classes.toString(), "-proc:none", "-Xlint:none"),
                    null, fm.getJavaFileObjectsFromFiles(files)).call();
            if (!ok) {
                StringBuilder b = new StringBuilder("README snippets do not compile:");
                for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
                    if (d.getKind() == Diagnostic.Kind.ERROR) {
                        b.append("\n  ").append(d.getSource().getName().replaceAll(".*/", "")).append(" line ")
                                .append(d.getLineNumber()).append(": ").append(d.getMessage(null));
                    }
                }
                fail(b.toString());
            }
        }
        ComputationGraph small = TransCNN.builder(Preset.SMALL).seed(1).build().init();
        TorchWriter.write(work.resolve("TransCNN-Tiny.pth"),
                TransCnnWeights.toTorch(small.getConfiguration(), small.paramTable()), Map.of());
        BufferedImage cat = new BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 240; y++) {
            for (int x = 0; x < 320; x++) {
                cat.setRGB(x, y, (x * 255 / 320) << 16 | (y * 255 / 240) << 8 | 128);
            }
        }
        ImageIO.write(cat, "jpg", work.resolve("cat.jpg").toFile());
    }

    @TestFactory
    Stream<DynamicTest> everySnippetRuns() {
        return snippets.stream().map(s -> DynamicTest.dynamicTest("README snippet " + s.index() + " (line "
                + s.line() + ")", () -> run(s)));
    }

    private static void run(Snippet s) throws Exception {
        Path log = work.resolve("snippet" + s.index() + ".log");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Xmx3g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", classes + File.pathSeparator + System.getProperty("java.class.path"), "Snippet" + s.index())
                .directory(work.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!p.waitFor(240, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("README snippet " + s.index() + " (line " + s.line() + ") did not finish in 240 s");
        }
        String output = Files.readString(log);
        assertEquals(0, p.exitValue(), "README snippet " + s.index() + " (line " + s.line() + ") failed:\n" + output);
    }
}
