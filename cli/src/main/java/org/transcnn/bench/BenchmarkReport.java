package org.transcnn.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns the JSON lines of one {@code benchmarks/run.sh} run into the README's Markdown table (stdout) and a PNG bar
 * chart of inference and training images/s per row. Usage: {@code BenchmarkReport RESULTS.jsonl CHART.png}.
 */
public final class BenchmarkReport {

    private BenchmarkReport() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: BenchmarkReport RESULTS.jsonl CHART.png");
            System.exit(2);
        }
        List<JsonNode> rows = read(Path.of(args[0]));
        System.out.print(table(rows));
        chart(rows, Path.of(args[1]));
    }

    static List<JsonNode> read(Path file) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith("{")) {
                rows.add(mapper.readTree(line));
            }
        }
        if (rows.isEmpty()) {
            throw new IOException(file + ": no benchmark rows (JSON lines) found");
        }
        return rows;
    }

    /**
     * Row name: preset, activation if GELU, input size, and the framework for rows from another one (the PyTorch
     * reference's rows carry {@code "framework": "pytorch <version>"}; rows without the field are this library's).
     */
    static String label(JsonNode r) {
        String act = r.path("activation").asText("");
        String framework = r.path("framework").asText("DL4J");
        return r.get("preset").asText() + (act.equals("GELU") ? " (GELU)" : "") + " " + r.get("height").asInt() + "x"
                + r.get("width").asInt() + (framework.equalsIgnoreCase("DL4J") ? "" : " (" + framework + ")");
    }

    /** Markdown table: one row per JSON line, GFLOP/s also as a share of the matrix-multiply roofline. */
    static String table(List<JsonNode> rows) {
        double roof = rows.stream().mapToDouble(r -> r.path("gemm_gflop_s").asDouble(Double.NaN))
                .filter(v -> !Double.isNaN(v)).max().orElse(Double.NaN);
        StringBuilder s = new StringBuilder();
        s.append("| model | batch | GMAC/image | inference img/s | training img/s | inference GFLOP/s | "
                + "training GFLOP/s | peak RSS MB |\n|---|---|---|---|---|---|---|---|\n");
        for (JsonNode r : rows) {
            double fwd = r.get("fwd_gflop_s").asDouble();
            double trn = r.path("train_gflop_s").asDouble(Double.NaN);
            s.append(String.format(Locale.ROOT, "| %s | %d | %.3f | %.2f | %s | %s | %s | %d |%n", label(r),
                    r.get("batch").asInt(), r.get("macs_per_image").asLong() / 1e9, r.get("fwd_img_s").asDouble(),
                    r.get("train_img_s").isNull() ? "-" : String.format(Locale.ROOT, "%.2f",
                            r.get("train_img_s").asDouble()),
                    share(fwd, roof), Double.isNaN(trn) ? "-" : share(trn, roof), r.get("peak_rss_mb").asLong()));
        }
        if (!Double.isNaN(roof)) {
            s.append(String.format(Locale.ROOT, "%nRoofline: ND4J float matrix multiply 2048^3 at %.1f GFLOP/s.%n",
                    roof));
        }
        return s.toString();
    }

    private static String share(double gflops, double roof) {
        return Double.isNaN(roof) ? String.format(Locale.ROOT, "%.1f", gflops)
                : String.format(Locale.ROOT, "%.1f (%.0f%%)", gflops, 100 * gflops / roof);
    }

    static void chart(List<JsonNode> rows, Path png) throws IOException {
        CategoryChart chart = new CategoryChartBuilder().width(900).height(500)
                .title("Images/s on this machine (one run)").xAxisTitle("model").yAxisTitle("images/s").build();
        List<String> names = rows.stream().map(BenchmarkReport::label).toList();
        chart.addSeries("inference", names, rows.stream().map(r -> (Number) r.get("fwd_img_s").asDouble()).toList());
        chart.addSeries("training", names, rows.stream()
                .map(r -> (Number) (r.get("train_img_s").isNull() ? 0.0 : r.get("train_img_s").asDouble())).toList());
        String base = png.toString().replaceFirst("(?i)\\.png$", "");
        BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
    }
}
