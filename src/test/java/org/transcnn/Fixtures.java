package org.transcnn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.transcnn.models.TransCNN;
import org.transcnn.models.TransCnnConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/** The reference data produced by the official PyTorch TransCNN (copied from shared/fixtures). */
public final class Fixtures {

    public static final List<String> ALL = List.of("transcnn-mini-64", "transcnn-mini-128", "transcnn-mini-rect");
    public static final String WITH_GRADS = "transcnn-mini-64";

    private Fixtures() {
    }

    private static final Map<String, Path> EXTRACTED = new ConcurrentHashMap<>();

    /**
     * The fixture's folder: in the test classes, or, when they come from the library's test jar (the command line's
     * tests), a copy extracted to a temporary folder once per run.
     */
    public static Path dir(String fixture) {
        try {
            URI uri = Fixtures.class.getResource("/fixtures/" + fixture + "/config.json").toURI();
            if (!"jar".equals(uri.getScheme())) {
                return Paths.get(uri).getParent();
            }
            return EXTRACTED.computeIfAbsent(fixture, f -> extract(uri, f));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path extract(URI configInJar, String fixture) {
        try (FileSystem jar = FileSystems.newFileSystem(configInJar, Map.of())) {
            Path source = jar.getPath("/fixtures", fixture);
            Path target = Files.createTempDirectory("transcnn-fixture-").resolve(fixture);
            Files.createDirectories(target);
            try (Stream<Path> files = Files.list(source)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.copy(p, target.resolve(p.getFileName().toString()));
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract fixture " + fixture + " from " + configInJar, e);
        }
    }

    public static Path file(String fixture, String name) {
        return dir(fixture).resolve(name);
    }

    public static INDArray npy(String fixture, String name) {
        return Nd4j.createFromNpyFile(file(fixture, name).toFile());
    }

    public static JsonNode config(String fixture) {
        try {
            return new ObjectMapper().readTree(file(fixture, "config.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(JsonNode n) {
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asInt();
        }
        return out;
    }

    /** The constructor arguments of the fixture as a configuration for its input size. */
    public static TransCnnConfig modelConfig(String fixture) {
        JsonNode c = config(fixture);
        JsonNode k = c.get("kwargs");
        JsonNode in = c.get("input");
        return TransCnnConfig.builder()
                .dims(ints(k.get("dims")))
                .depths(ints(k.get("depths")))
                .expansions(ints(k.get("expansions")))
                .gridSizes(ints(k.get("grid_sizes")))
                .dsRatios(ints(k.get("ds_ratios")))
                .headDim(k.get("head_dim").asInt())
                .numClasses(k.get("num_classes").asInt())
                .inChannels(in.get(1).asInt())
                .inputSize(in.get(2).asInt(), in.get(3).asInt())
                .build();
    }

    /** A builder carrying the fixture's non-inferable settings (head dim, grids, ratios, input size). */
    public static TransCNN.Builder builder(String fixture) {
        return TransCNN.builder(modelConfig(fixture));
    }

    /** max |a - b| / max(1, max |b|). */
    public static double scaledError(INDArray actual, INDArray reference) {
        double scale = Math.max(1.0, Math.abs(reference.amaxNumber().doubleValue()));
        return Math.abs(actual.castTo(reference.dataType()).sub(reference).amaxNumber().doubleValue()) / scale;
    }
}
