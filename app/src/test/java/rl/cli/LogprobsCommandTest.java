package rl.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.cli.CliTest.Result;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Nd4jOps;
import rl.core.tokenizer.HfTokenizer;

/** {@code rl logprobs} end to end, against the float64 reference logprobs of the fixtures. */
class LogprobsCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path FIXTURES =
      Path.of(System.getProperty("rl.repo", "..")).resolve("core/src/test/resources/fixtures");
  private static final Path LLAMA = FIXTURES.resolve("models/llama-tiny");
  private static final Path MODEL = LLAMA.resolve("model");
  private static final Path ADAPTER = LLAMA.resolve("adapter");
  private static final Path QWEN3_TOKENIZER = FIXTURES.resolve("tokenizers/qwen3");
  private static final double TOLERANCE = 1e-4;

  private static JsonNode fixture;

  @BeforeAll
  static void readFixture() throws IOException {
    fixture = JSON.readTree(LLAMA.resolve("fixture.json").toFile());
  }

  private static Path jsonl(Path dir, String... lines) throws IOException {
    return Files.writeString(dir.resolve("in.jsonl"), String.join("\n", lines) + "\n");
  }

  private static String tokensRow(int sequence, String extra) {
    return "{" + extra + "\"tokens\":" + fixture.get("sequences").get(sequence) + "}";
  }

  private static List<JsonNode> rows(String jsonl) throws IOException {
    List<JsonNode> rows = new ArrayList<>();
    for (String line : jsonl.split("\n")) {
      if (!line.isBlank()) {
        rows.add(JSON.readTree(line));
      }
    }
    return rows;
  }

  private static void assertLogprobs(JsonNode expected, JsonNode actual, String what) {
    assertEquals(expected.size(), actual.size(), what + ": number of logprobs");
    for (int t = 0; t < expected.size(); t++) {
      double want = expected.get(t).asDouble();
      double got = actual.get(t).asDouble();
      assertTrue(
          Math.abs(want - got) <= TOLERANCE,
          what + " logprobs[" + t + "]: expected " + want + ", got " + got);
    }
  }

  /** One line on standard error, {@code rl: MESSAGE}, and exit code 2. */
  private static String inputError(Result result) {
    assertEquals(2, result.exitCode(), result.err());
    assertEquals("", result.out());
    assertEquals(1, result.err().lines().count(), result.err());
    assertTrue(result.err().startsWith("rl: "), result.err());
    return result.err().strip().substring("rl: ".length());
  }

  @Test
  void baseLogprobsMatchTheReferenceAndKeepTheRowsFields(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, tokensRow(0, "\"id\":\"first\","), tokensRow(1, "\"id\":2,"));
    Result result =
        CliTest.rl("logprobs", "--model", MODEL.toString(), "--input", input.toString());
    assertEquals(0, result.exitCode(), result.err());
    List<JsonNode> rows = rows(result.out());
    assertEquals(2, rows.size(), result.out());
    assertEquals("first", rows.get(0).get("id").asText());
    assertEquals(2, rows.get(1).get("id").asInt());
    for (int s = 0; s < 2; s++) {
      assertEquals(fixture.get("sequences").get(s), rows.get(s).get("tokens"));
      assertLogprobs(
          fixture.get("base_logprobs").get(s), rows.get(s).get("logprobs"), "sequence " + s);
    }
  }

  @Test
  void adaptedLogprobsMatchTheReferenceAcrossPackedBatches(@TempDir Path dir) throws Exception {
    int count = fixture.get("sequences").size();
    String[] lines = new String[count];
    for (int s = 0; s < count; s++) {
      lines[s] = tokensRow(s, "\"n\":" + s + ",");
    }
    Path input = jsonl(dir, lines);
    Path output = dir.resolve("out/scored.jsonl");
    // A budget of 16 tokens: short rows share a pass, rows longer than 16 get one of their own.
    Result result =
        CliTest.rl(
            "logprobs",
            "--model",
            MODEL.toString(),
            "--adapter",
            ADAPTER.toString(),
            "--input",
            input.toString(),
            "--output",
            output.toString(),
            "--batch-tokens",
            "16");
    assertEquals(0, result.exitCode(), result.err());
    assertEquals("", result.out());
    List<JsonNode> rows = rows(Files.readString(output));
    assertEquals(count, rows.size());
    for (int s = 0; s < count; s++) {
      assertEquals(s, rows.get(s).get("n").asInt());
      assertLogprobs(
          fixture.get("adapted_logprobs").get(s), rows.get(s).get("logprobs"), "sequence " + s);
    }
  }

  @Test
  void rowsArePackedInOrderWithinTheBudget() {
    List<LogprobsCommand.Row> rows = new ArrayList<>();
    for (int length : new int[] {3, 4, 9, 2, 2, 5}) {
      rows.add(new LogprobsCommand.Row(rows.size() + 1, null, new int[length]));
    }
    List<List<LogprobsCommand.Row>> batches = LogprobsCommand.pack(rows, 8);
    List<List<Integer>> lines =
        batches.stream().map(b -> b.stream().map(LogprobsCommand.Row::line).toList()).toList();
    assertEquals(List.of(List.of(1, 2), List.of(3), List.of(4, 5), List.of(6)), lines);
  }

  @Test
  void textRowsAreTokenizedWithTheModelsTokenizer(@TempDir Path dir) throws Exception {
    Path model = dir.resolve("model");
    try (HfTokenizer tokenizer = HfTokenizer.load(QWEN3_TOKENIZER)) {
      HfModelConfig config = HfModelConfig.llama(32, 64, 1, 2, 1, tokenizer.vocabSize());
      Decoder.random(config, new Nd4jOps(), 7).saveHuggingFace(model);
      Files.copy(tokenizer.source(), model.resolve("tokenizer.json"));
      String text = "What is 7*6? Answer: \\boxed{42}";
      Path input = jsonl(dir, JSON.writeValueAsString(JSON.createObjectNode().put("text", text)));
      Result result =
          CliTest.rl("logprobs", "--model", model.toString(), "--input", input.toString());
      assertEquals(0, result.exitCode(), result.err());
      List<JsonNode> rows = rows(result.out());
      assertEquals(1, rows.size());
      assertEquals(text, rows.getFirst().get("text").asText());
      int[] tokens = JSON.treeToValue(rows.getFirst().get("tokens"), int[].class);
      assertArrayEquals(tokenizer.encode(text), tokens);
      JsonNode logprobs = rows.getFirst().get("logprobs");
      assertEquals(tokens.length - 1, logprobs.size());
      for (JsonNode value : logprobs) {
        assertTrue(Double.isFinite(value.asDouble()) && value.asDouble() <= 0, logprobs.toString());
      }
    }
  }

  // ---- bad input: one line, exit code 2 ----

  @Test
  void textRowWithoutTokenizerNamesRowFileAndTokenizerPath(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, tokensRow(0, ""), "{\"text\":\"hello\"}");
    String message =
        inputError(
            CliTest.rl("logprobs", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(
        input
            + ":2: row has \"text\" but "
            + MODEL.resolve("tokenizer.json")
            + " does not exist; give \"tokens\" instead or add the model's tokenizer",
        message);
  }

  @Test
  void missingModelDirectory(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, tokensRow(0, ""));
    Path missing = dir.resolve("no-model");
    String message =
        inputError(
            CliTest.rl("logprobs", "--model", missing.toString(), "--input", input.toString()));
    assertEquals("--model " + missing + ": no such directory", message);
  }

  @Test
  void malformedJsonNamesFileAndLine(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, tokensRow(0, ""), "{\"tokens\": [1, 2,}");
    String message =
        inputError(
            CliTest.rl("logprobs", "--model", MODEL.toString(), "--input", input.toString()));
    assertTrue(message.startsWith(input + ":2: malformed JSON: "), message);
  }

  @Test
  void rowWithNeitherTokensNorText(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"prompt\":\"hi\",\"id\":3}");
    String message =
        inputError(
            CliTest.rl("logprobs", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(
        input + ":1: a row needs \"tokens\" (token ids) or \"text\"; found keys prompt, id",
        message);
  }

  @Test
  void tokenIdOutsideTheVocabulary(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, tokensRow(0, ""), "", "{\"tokens\":[5, 6, 97]}");
    String message =
        inputError(
            CliTest.rl("logprobs", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(input + ":3: tokens[2] = 97 is outside the model's vocabulary [0, 97)", message);
  }

  @Test
  void negativeTokenId(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"tokens\":[-1]}");
    String message =
        inputError(
            CliTest.rl("logprobs", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(input + ":1: tokens[0] = -1 is outside the model's vocabulary [0, 97)", message);
  }

  @Test
  void rowWithoutTokens(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"tokens\":[]}");
    String message =
        inputError(
            CliTest.rl("logprobs", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(input + ":1: a row needs at least 1 token, found 0", message);
  }

  @Test
  void temperatureMustBePositive(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, tokensRow(0, ""));
    for (String temperature : List.of("0", "-0.5")) {
      String message =
          inputError(
              CliTest.rl(
                  "logprobs",
                  "--model",
                  MODEL.toString(),
                  "--input",
                  input.toString(),
                  "--temperature",
                  temperature));
      assertEquals(
          "--temperature must be a positive number, found " + Float.parseFloat(temperature),
          message);
    }
  }

  @Test
  void missingInputFile(@TempDir Path dir) {
    Path missing = dir.resolve("none.jsonl");
    String message =
        inputError(
            CliTest.rl("logprobs", "--model", MODEL.toString(), "--input", missing.toString()));
    assertEquals("--input " + missing + ": no such file", message);
  }

  @Test
  void brokenAdapterIsOneLine(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, tokensRow(0, ""));
    Path adapter = Files.createDirectories(dir.resolve("adapter"));
    String message =
        inputError(
            CliTest.rl(
                "logprobs",
                "--model",
                MODEL.toString(),
                "--adapter",
                adapter.toString(),
                "--input",
                input.toString()));
    assertTrue(message.startsWith(adapter.resolve("adapter_config.json") + ": "), message);
  }
}
