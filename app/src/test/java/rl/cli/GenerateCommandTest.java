package rl.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.cli.CliTest.Result;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Nd4jOps;
import rl.core.tokenizer.ToyTokenizer;

/** {@code rl generate} end to end: greedy against the fixture, seeded sampling, text and chat. */
class GenerateCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path FIXTURES =
      Path.of(System.getProperty("rl.repo", "..")).resolve("core/src/test/resources/fixtures");
  private static final Path QWEN2 = FIXTURES.resolve("models/qwen2-tiny");
  private static final Path MODEL = QWEN2.resolve("model");
  private static final Path ADAPTER = QWEN2.resolve("adapter");

  private static JsonNode fixture;

  @BeforeAll
  static void readFixture() throws IOException {
    fixture = JSON.readTree(QWEN2.resolve("fixture.json").toFile());
  }

  private static Path jsonl(Path dir, String... lines) throws IOException {
    return Files.writeString(dir.resolve("in.jsonl"), String.join("\n", lines) + "\n");
  }

  /** The fixture's greedy prompts as {@code tokens} rows, each with an {@code id}. */
  private static Path greedyPrompts(Path dir) throws IOException {
    JsonNode prompts = fixture.get("greedy_prompts");
    String[] lines = new String[prompts.size()];
    for (int i = 0; i < lines.length; i++) {
      lines[i] = "{\"id\":\"p" + i + "\",\"tokens\":" + prompts.get(i) + "}";
    }
    return jsonl(dir, lines);
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

  private static List<JsonNode> run(String... args) throws IOException {
    Result result = CliTest.rl(args);
    assertEquals(0, result.exitCode(), result.err());
    return rows(result.out());
  }

  private static String[] args(String... args) {
    return args;
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** One line on standard error, {@code rl: MESSAGE}, and exit code 2. */
  private static String inputError(Result result) {
    assertEquals(2, result.exitCode(), result.err());
    assertEquals("", result.out());
    assertEquals(1, result.err().lines().count(), result.err());
    assertTrue(result.err().startsWith("rl: "), result.err());
    return result.err().strip().substring("rl: ".length());
  }

  private static int[] ints(JsonNode array) throws IOException {
    return JSON.treeToValue(array, int[].class);
  }

  // ---- greedy against the reference ----

  @Test
  void greedyReproducesTheReferenceWithAndWithoutTheAdapter(@TempDir Path dir) throws Exception {
    Path input = greedyPrompts(dir);
    String[] base =
        args(
            "generate",
            "--model",
            MODEL.toString(),
            "--input",
            input.toString(),
            "--temperature",
            "0",
            "--max-tokens",
            "12");
    for (boolean adapted : new boolean[] {false, true}) {
      List<JsonNode> rows =
          adapted ? run(concat(base, "--adapter", ADAPTER.toString())) : run(base);
      JsonNode prompts = fixture.get("greedy_prompts");
      JsonNode expected = fixture.get(adapted ? "greedy_adapted" : "greedy_base");
      assertEquals(prompts.size(), rows.size());
      for (int i = 0; i < rows.size(); i++) {
        JsonNode row = rows.get(i);
        String what = (adapted ? "adapted" : "base") + " prompt " + i;
        assertEquals(i, row.get("row").asInt(), what);
        assertEquals(0, row.get("sample").asInt(), what);
        assertEquals(prompts.get(i), row.get("prompt_tokens"), what);
        assertEquals(expected.get(i), row.get("tokens"), what);
        assertEquals("length", row.get("finish_reason").asText(), what);
        assertEquals(12, row.get("logprobs").size(), what);
        assertFalse(row.has("text"), "no tokenizer, no text: " + row);
        assertEquals("p" + i, row.get("input").get("id").asText(), what);
      }
    }
  }

  // ---- sampling ----

  @Test
  void seededSamplingIsReproducibleWithNSamplesPerPromptInOrder(@TempDir Path dir)
      throws Exception {
    Path input = greedyPrompts(dir);
    Path output = dir.resolve("out/samples.jsonl");
    String[] command =
        args(
            "generate",
            "--model",
            MODEL.toString(),
            "--input",
            input.toString(),
            "--n",
            "3",
            "--max-tokens",
            "8",
            "--top-k",
            "50",
            "--seed",
            "11");
    List<JsonNode> first = run(command);
    Result toFile = CliTest.rl(concat(command, "--output", output.toString()));
    assertEquals(0, toFile.exitCode(), toFile.err());
    assertEquals("", toFile.out());
    assertEquals(first, rows(Files.readString(output)));

    // Fewer slots batch differently: the same tokens, logprobs up to float rounding.
    List<JsonNode> fewerSlots = run(concat(command, "--slots", "3"));
    assertEquals(first.size(), fewerSlots.size());
    for (int k = 0; k < first.size(); k++) {
      assertEquals(first.get(k).get("tokens"), fewerSlots.get(k).get("tokens"));
      for (int t = 0; t < first.get(k).get("logprobs").size(); t++) {
        double a = first.get(k).get("logprobs").get(t).asDouble();
        double b = fewerSlots.get(k).get("logprobs").get(t).asDouble();
        assertTrue(Math.abs(a - b) <= 1e-4, "logprob " + a + " vs " + b);
      }
    }

    int prompts = fixture.get("greedy_prompts").size();
    assertEquals(3 * prompts, first.size());
    for (int k = 0; k < first.size(); k++) {
      JsonNode row = first.get(k);
      assertEquals(k / 3, row.get("row").asInt());
      assertEquals(k % 3, row.get("sample").asInt());
      assertEquals(fixture.get("greedy_prompts").get(k / 3), row.get("prompt_tokens"));
      assertEquals(8, row.get("tokens").size());
      assertEquals(8, row.get("logprobs").size());
      for (JsonNode value : row.get("logprobs")) {
        double logprob = value.asDouble();
        assertTrue(Double.isFinite(logprob) && logprob <= 0, row.toString());
      }
    }
    // Samples of one prompt draw from different streams.
    assertNotEquals(first.get(0).get("tokens"), first.get(1).get("tokens"));

    String[] reseed = command.clone();
    reseed[reseed.length - 1] = "12";
    List<JsonNode> reseeded = run(reseed);
    assertNotEquals(first.get(0).get("tokens"), reseeded.get(0).get("tokens"));
  }

  // ---- text, chat and stop strings with the toy tokenizer ----

  /** A small random llama with the toy byte-level tokenizer and its ChatML template. */
  private static Path toyModel(Path dir) throws IOException {
    Path model = dir.resolve("toy");
    ToyTokenizer.write(model);
    HfModelConfig config = HfModelConfig.llama(32, 48, 1, 2, 1, ToyTokenizer.VOCAB_SIZE);
    Decoder.random(config, new Nd4jOps(), 1, 0.3).saveHuggingFace(model);
    return model;
  }

  private static int[] bytes(String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[b.length];
    for (int i = 0; i < b.length; i++) {
      ids[i] = b[i] & 0xFF;
    }
    return ids;
  }

  @Test
  void chatPromptWithAStopStringProducesText(@TempDir Path dir) throws Exception {
    Path model = toyModel(dir);
    String[] command =
        args(
            "generate",
            "--model",
            model.toString(),
            "--chat",
            "--prompt",
            "hi",
            "--max-tokens",
            "40",
            "--seed",
            "3");
    JsonNode free = run(command).getFirst();
    int[] prompt = ints(free.get("prompt_tokens"));
    // <|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n
    int[] expected =
        concat(
            new int[] {257},
            bytes("user\nhi"),
            new int[] {258},
            bytes("\n"),
            new int[] {257},
            bytes("assistant\n"));
    assertArrayEquals(expected, prompt);
    assertEquals("hi", free.get("input").get("prompt").asText());
    int[] tokens = ints(free.get("tokens"));
    assertTrue(free.has("text"), free.toString());

    // Stop at the first printable ASCII character the free run drew after its first token.
    int at = -1;
    for (int t = 1; t < tokens.length && at < 0; t++) {
      if (tokens[t] > ' ' && tokens[t] < 127) {
        at = t;
      }
    }
    assertTrue(at > 0, "no printable token to stop at in " + free);
    String stop = String.valueOf((char) tokens[at]);
    int first = at;
    for (int t = 0; t < at; t++) {
      if (tokens[t] == tokens[at]) {
        first = t;
        break;
      }
    }
    JsonNode stopped = run(concat(command, "--stop", stop)).getFirst();
    assertEquals("stop", stopped.get("finish_reason").asText(), stopped.toString());
    assertArrayEquals(Arrays.copyOf(tokens, first + 1), ints(stopped.get("tokens")));
    assertTrue(stopped.get("text").asText().endsWith(stop), stopped.toString());
    assertEquals(first + 1, stopped.get("logprobs").size());
  }

  private static int[] concat(int[]... parts) {
    int[] out = new int[0];
    for (int[] part : parts) {
      int length = out.length;
      out = Arrays.copyOf(out, length + part.length);
      System.arraycopy(part, 0, out, length, part.length);
    }
    return out;
  }

  @Test
  void promptAndMessagesRowsAreEncodedAsTextAndThroughTheTemplate(@TempDir Path dir)
      throws Exception {
    Path model = toyModel(dir);
    ObjectNode message = JSON.createObjectNode().put("role", "user").put("content", "hi");
    ObjectNode messagesRow = JSON.createObjectNode();
    messagesRow.putArray("messages").add(message);
    Path input =
        jsonl(
            dir,
            "{\"prompt\":\"hi\",\"answer\":1}",
            JSON.writeValueAsString(messagesRow),
            "{\"tokens\":[104,105]}");
    List<JsonNode> rows =
        run(
            "generate",
            "--model",
            model.toString(),
            "--input",
            input.toString(),
            "--max-tokens",
            "3",
            "--temperature",
            "0");
    assertEquals(3, rows.size());
    // Without --chat, "prompt" is plain text: the toy tokenizer adds nothing around it.
    assertArrayEquals(bytes("hi"), ints(rows.get(0).get("prompt_tokens")));
    assertEquals(1, rows.get(0).get("input").get("answer").asInt());
    assertEquals(257, rows.get(1).get("prompt_tokens").get(0).asInt());
    assertArrayEquals(new int[] {104, 105}, ints(rows.get(2).get("prompt_tokens")));
    // Greedy depends only on the prompt.
    assertEquals(rows.get(0).get("tokens"), rows.get(2).get("tokens"));
    for (JsonNode row : rows) {
      int[] tokens = ints(row.get("tokens"));
      assertTrue(row.has("text"), row.toString());
      if (Arrays.stream(tokens).allMatch(t -> t < 128)) {
        assertEquals(new String(bytesOf(tokens), StandardCharsets.UTF_8), row.get("text").asText());
      }
    }
  }

  private static byte[] bytesOf(int[] ids) {
    byte[] out = new byte[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (byte) ids[i];
    }
    return out;
  }

  // ---- bad input: one line, exit code 2 ----

  @Test
  void textRowWithoutTokenizerNamesRowFileAndTokenizerPath(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"tokens\":[1,2]}", "", "{\"prompt\":\"hello\"}");
    String message =
        inputError(
            CliTest.rl("generate", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(
        input
            + ":3: row has \"prompt\" but "
            + MODEL.resolve("tokenizer.json")
            + " does not exist; give \"tokens\" instead or add the model's tokenizer",
        message);
  }

  @Test
  void stopStringsAndChatNeedATokenizer() {
    String message =
        inputError(
            CliTest.rl(
                "generate", "--model", MODEL.toString(), "--prompt", "hello", "--stop", "\n"));
    assertEquals(
        "--stop needs the model's tokenizer, but "
            + MODEL.resolve("tokenizer.json")
            + " does not exist",
        message);
    message =
        inputError(
            CliTest.rl("generate", "--model", MODEL.toString(), "--prompt", "hello", "--chat"));
    assertEquals(
        "--chat needs the model's tokenizer, but "
            + MODEL.resolve("tokenizer.json")
            + " does not exist",
        message);
  }

  @Test
  void chatWithoutAChatTemplateNamesTheTokenizerConfig(@TempDir Path dir) throws Exception {
    Path model = dir.resolve("model");
    ToyTokenizer.write(model);
    Path config = model.resolve("tokenizer_config.json");
    ObjectNode json = (ObjectNode) JSON.readTree(config.toFile());
    json.remove("chat_template");
    Files.writeString(config, JSON.writeValueAsString(json));
    HfModelConfig.llama(32, 48, 1, 2, 1, ToyTokenizer.VOCAB_SIZE).write(model);
    String message =
        inputError(
            CliTest.rl("generate", "--model", model.toString(), "--chat", "--prompt", "hello"));
    assertEquals(
        config + ": has no chat_template, but one is needed to render chat messages", message);

    // A "messages" row needs the template too; the error names the row.
    Path input = jsonl(dir, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    message =
        inputError(
            CliTest.rl("generate", "--model", model.toString(), "--input", input.toString()));
    assertEquals(
        input
            + ":1: "
            + config
            + ": has no chat_template, but one is needed to render chat messages",
        message);
  }

  @Test
  void malformedJsonNamesFileAndLine(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"tokens\":[1,2]}", "{\"tokens\": [1, 2,}");
    String message =
        inputError(
            CliTest.rl("generate", "--model", MODEL.toString(), "--input", input.toString()));
    assertTrue(message.startsWith(input + ":2: malformed JSON: "), message);
  }

  @Test
  void rowWithNoPrompt(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"text\":\"hi\",\"id\":3}");
    String message =
        inputError(
            CliTest.rl("generate", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(
        input
            + ":1: a row needs \"tokens\" (token ids), \"prompt\" (text) or \"messages\" (chat);"
            + " found keys text, id",
        message);

    input = jsonl(dir, "{\"tokens\":[1],\"prompt\":\"hi\"}");
    message =
        inputError(
            CliTest.rl("generate", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(
        input
            + ":1: a row needs exactly one of \"tokens\", \"prompt\" and \"messages\"; found"
            + " tokens, prompt",
        message);

    input = jsonl(dir, "{\"tokens\":[]}");
    message =
        inputError(
            CliTest.rl("generate", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(input + ":1: a row needs at least 1 prompt token, found 0", message);
  }

  @Test
  void tokenIdOutsideTheVocabulary(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"tokens\":[5, 6]}", "{\"tokens\":[5, 6, 97]}");
    String message =
        inputError(
            CliTest.rl("generate", "--model", MODEL.toString(), "--input", input.toString()));
    assertEquals(input + ":2: tokens[2] = 97 is outside the model's vocabulary [0, 97)", message);
  }

  @Test
  void invalidSamplingOptionsNameTheOptionAndValue(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"tokens\":[5, 6]}");
    // Each case: extra arguments, then the expected message.
    String[][] cases = {
      {"--temperature", "-0.5", "--temperature must be a number >= 0 (0 is greedy), found -0.5"},
      {"--temperature", "NaN", "--temperature must be a number >= 0 (0 is greedy), found NaN"},
      {"--top-p", "0", "--top-p must be in (0, 1], found 0.0"},
      {"--top-p", "1.5", "--top-p must be in (0, 1], found 1.5"},
      {"--top-k", "-1", "--top-k must be >= 0 (0 keeps all tokens), found -1"},
      {"--min-p", "2", "--min-p must be in [0, 1], found 2.0"},
      {"--max-tokens", "0", "--max-tokens must be at least 1, found 0"},
      {"--n", "0", "--n must be at least 1, found 0"},
      {
        "--n",
        "3",
        "--slots",
        "2",
        "--slots must be at least --n (3, the samples of one prompt), found 2"
      },
      {"--stop", "", "--stop must be a non-empty string, found \"\""},
    };
    for (String[] c : cases) {
      String[] extra = Arrays.copyOf(c, c.length - 1);
      String message =
          inputError(
              CliTest.rl(
                  concat(
                      args("generate", "--model", MODEL.toString(), "--input", input.toString()),
                      extra)));
      assertEquals(c[c.length - 1], message, String.join(" ", extra));
    }
  }

  @Test
  void promptOrInputButNotBoth(@TempDir Path dir) throws Exception {
    Path input = jsonl(dir, "{\"tokens\":[5, 6]}");
    assertEquals(
        "give the prompts with --prompt TEXT or --input FILE",
        inputError(CliTest.rl("generate", "--model", MODEL.toString())));
    assertEquals(
        "give --prompt TEXT or --input FILE, not both",
        inputError(
            CliTest.rl(
                "generate",
                "--model",
                MODEL.toString(),
                "--prompt",
                "hi",
                "--input",
                input.toString())));
    Path missing = dir.resolve("none.jsonl");
    assertEquals(
        "--input " + missing + ": no such file",
        inputError(
            CliTest.rl("generate", "--model", MODEL.toString(), "--input", missing.toString())));
  }
}
