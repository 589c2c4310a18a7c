package rl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code rl bench model} end to end on a tiny workload: behaviour only, never timings. */
class BenchCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void modelBenchPrintsATableAndOneJsonLinePerResultWithPositiveRates() throws Exception {
    CliTest.Result result =
        CliTest.rl(
            "bench",
            "model",
            "--shape",
            "small",
            "--prompt-tokens",
            "8",
            "--new-tokens",
            "4",
            "--batches",
            "1,2",
            "--train-seqs",
            "2",
            "--train-len",
            "16",
            "--warmup",
            "0",
            "--json");
    assertEquals(0, result.exitCode(), result.err());
    assertTrue(result.out().contains("tokens/s"), result.out());

    List<JsonNode> lines = new ArrayList<>();
    for (String line : result.out().split("\n")) {
      if (line.startsWith("{")) {
        lines.add(JSON.readTree(line));
      }
    }
    // prefill, decode and generate at B = 1 and 2, then one learner result.
    assertEquals(7, lines.size(), result.out());
    Set<String> phases = new HashSet<>();
    for (JsonNode line : lines) {
      assertEquals("small", line.get("shape").asText(), line.toString());
      phases.add(line.get("phase").asText());
      double rate = line.get("tokens_per_s").asDouble();
      assertTrue(Double.isFinite(rate) && rate > 0, line.toString());
      assertTrue(line.get("seconds").asDouble() > 0, line.toString());
      assertTrue(line.get("peak_rss_bytes").asLong() > 0, line.toString());
    }
    assertEquals(Set.of("prefill", "decode", "generate", "train"), phases);

    JsonNode decode2 = find(lines, "decode", 2);
    assertEquals(8, decode2.get("tokens").asLong());
    assertEquals(1.0, decode2.get("occupancy").asDouble());
    assertTrue(decode2.get("gain_vs_b1").asDouble() > 0, decode2.toString());
    JsonNode train = find(lines, "train", 2);
    assertEquals(2 * 16 * train.get("steps").asLong(), train.get("tokens").asLong());
    double gradNorm = train.get("lora_grad_norm").asDouble();
    assertTrue(Double.isFinite(gradNorm) && gradNorm > 0, train.toString());
  }

  @Test
  void microBatchesCoverTheWholeStep() throws Exception {
    CliTest.Result result =
        CliTest.rl(
            "bench",
            "model",
            "--phases",
            "train",
            "--train-seqs",
            "3",
            "--train-len",
            "8",
            "--train-micro-tokens",
            "16",
            "--train-steps",
            "1",
            "--warmup",
            "0",
            "--json");
    assertEquals(0, result.exitCode(), result.err());
    JsonNode train = null;
    for (String line : result.out().split("\n")) {
      if (line.startsWith("{")) {
        train = JSON.readTree(line);
      }
    }
    assertEquals("train", train.get("phase").asText());
    assertEquals(2, train.get("micro_batch_seqs").asInt());
    assertEquals(2, train.get("micro_batches").asInt());
    assertEquals(24, train.get("tokens").asLong());
  }

  @Test
  void unknownShapeIsAUsageError() {
    CliTest.Result result = CliTest.rl("bench", "model", "--shape", "gpt5");
    assertEquals(2, result.exitCode());
    assertTrue(result.err().contains("unknown shape 'gpt5'"), result.err());
  }

  private static JsonNode find(List<JsonNode> lines, String phase, int batch) {
    for (JsonNode line : lines) {
      if (line.get("phase").asText().equals(phase) && line.get("batch").asInt() == batch) {
        return line;
      }
    }
    throw new AssertionError("no " + phase + " result at batch " + batch + " in " + lines);
  }
}
