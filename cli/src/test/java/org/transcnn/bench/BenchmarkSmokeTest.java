package org.transcnn.bench;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.junit.jupiter.api.Test;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.transcnn.cli.TransCnnCliAccess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark harness runs end to end on a tiny setting (one iteration), so it cannot rot. */
class BenchmarkSmokeTest {

    /** Runs {@code benchmark ARGS --json}, which must succeed, and returns its JSON object. */
    static JsonNode benchmarkJson(String... args) throws Exception {
        String[] command = new String[args.length + 2];
        command[0] = "benchmark";
        System.arraycopy(args, 0, command, 1, args.length);
        command[command.length - 1] = "--json";
        TransCnnCliAccess.Result r = TransCnnCliAccess.run(command);
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void benchmarkCommandReportsThroughputAndMemory() throws Exception {
        JsonNode json = benchmarkJson("--preset", "SMALL", "--batch", "1", "--height", "128", "--width", "128",
                "--train", "--iters", "1", "--warmup", "0");
        assertEquals("SMALL", json.get("preset").asText());
        assertTrue(json.get("fwd_img_s").asDouble() > 0);
        assertTrue(json.get("train_img_s").asDouble() > 0);
        assertTrue(json.get("peak_rss_mb").asLong() > 0);
    }

    @Test
    void resnet50RowAndRooflineRun() throws Exception {
        JsonNode json = benchmarkJson("--preset", "resnet50", "--batch", "1", "--height", "224", "--width", "224",
                "--iters", "1", "--warmup", "0", "--roofline");
        assertEquals("RESNET50", json.get("preset").asText());
        assertTrue(json.get("fwd_gflop_s").asDouble() > 0);
        assertTrue(json.get("gemm_gflop_s").asDouble() > 0);
        // torchvision's ResNet-50: 4.09 GMAC per 224x224 image, 0.118 of them in the 7x7 stem convolution. DL4J's zoo
        // version strides by 2 already in stage 2 (res2a), so stages 2-5 run at a quarter of the area:
        // (4.09 - 0.118) / 4 + 0.118 = 1.11 GMAC
        long macs = json.get("macs_per_image").asLong();
        assertTrue(macs > 1.05e9 && macs < 1.17e9, json.toString());
    }

    @Test
    void macsOfConvolutionsAndDenseLayersAreCounted() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in").setInputTypes(InputType.convolutional(8, 6, 3))
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).stride(2, 2).padding(1, 1).nOut(4).build(), "in")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "conv")
                .addLayer("out", new OutputLayer.Builder().nOut(5).build(), "pool")
                .setOutputs("out").build();
        // conv: 3*3 kernel * 3 in * 4 out * (4 x 3 output map) = 1296; dense 4 * 5 = 20
        assertEquals(1296 + 20, Macs.convAndDense(conf, InputType.convolutional(8, 6, 3)));
    }

    @Test
    void reportLabelsRowsOfAnotherFramework() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        String common = "\"batch\":8,\"height\":256,\"width\":256,\"fwd_img_s\":2.0,\"train_img_s\":1.0,"
                + "\"train_gflop_s\":17.1,\"peak_rss_mb\":3000,\"macs_per_image\":2850541568,\"fwd_gflop_s\":11.4";
        JsonNode dl4j = mapper.readTree("{\"preset\":\"SMALL\",\"activation\":\"SILU\"," + common + "}");
        JsonNode torch = mapper.readTree("{\"framework\":\"pytorch 1.13.0a0\",\"preset\":\"BASE\","
                + "\"activation\":\"GELU\"," + common + "}");
        assertEquals("SMALL 256x256", BenchmarkReport.label(dl4j));
        assertEquals("BASE (GELU) 256x256 (pytorch 1.13.0a0)", BenchmarkReport.label(torch));
        String table = BenchmarkReport.table(java.util.List.of(dl4j, torch));
        assertTrue(table.contains("| SMALL 256x256 | 8 | 2.851 | 2.00 | 1.00 |"), table);
        assertTrue(table.contains("| BASE (GELU) 256x256 (pytorch 1.13.0a0) | 8 |"), table);
    }

    @Test
    void badIterationsAreRefused() {
        TransCnnCliAccess.Result r = TransCnnCliAccess.run("benchmark", "--preset", "SMALL", "--iters", "0");
        assertTrue(r.code() != 0 && r.err().contains("iterations >= 1"), r.err());
    }
}
