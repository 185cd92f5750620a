package org.transcnn.bench;

import org.junit.jupiter.api.Test;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.transcnn.cli.TransCnnCliAccess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark harness runs end to end on a tiny setting (one iteration), so it cannot rot. */
class BenchmarkSmokeTest {

    @Test
    void benchmarkCommandReportsThroughputAndMemory() throws Exception {
        TransCnnCliAccess.Result r = TransCnnCliAccess.run("benchmark", "--preset", "SMALL", "--batch", "1",
                "--height", "128", "--width", "128", "--train", "--iters", "1", "--warmup", "0", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals("SMALL", json.get("preset").asText());
        assertTrue(json.get("fwd_img_s").asDouble() > 0);
        assertTrue(json.get("train_img_s").asDouble() > 0);
        assertTrue(json.get("peak_rss_mb").asLong() > 0);
    }

    @Test
    void badIterationsAreRefused() {
        TransCnnCliAccess.Result r = TransCnnCliAccess.run("benchmark", "--preset", "SMALL", "--iters", "0");
        assertTrue(r.code() != 0 && r.err().contains("iterations >= 1"), r.err());
    }
}
