package rl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import rl.core.chat.ChatTemplateException;
import rl.core.config.ModelConfig;
import rl.core.lora.LoraAdapter;
import rl.core.messages.Completion;
import rl.core.messages.RolloutGroup;
import rl.core.messages.SampleRequest;
import rl.core.messages.SamplingParams;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.progress.Progress;
import rl.core.tensor.Backends;
import rl.core.tokenizer.HfTokenizer;
import rl.core.tokenizer.PromptEncoder;
import rl.core.tokenizer.TokenizerException;
import rl.sampler.GenerationEngine;

/**
 * {@code rl generate}: completions of prompts from a model (optionally with a LoRA adapter). Every
 * prompt goes to one {@link GenerationEngine}, which batches them continuously; rows are written in
 * input order as soon as they and every row before them are done.
 */
@Command(
    name = "generate",
    description = "Sample completions of prompts, with every token's logprob.",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true,
    footer = {
      "",
      "Input: --prompt TEXT (one row), or --input FILE with one JSON object a line holding exactly"
          + " one of \"tokens\" (prompt token ids; works without a tokenizer), \"prompt\" (text:"
          + " tokenized as the model's tokenizer does, or with --chat rendered through the chat"
          + " template as one user message) or \"messages\" (chat messages, always rendered"
          + " through the chat template with the generation prompt). Text needs DIR/tokenizer.json,"
          + " the chat template DIR/tokenizer_config.json. Blank lines are skipped; the other"
          + " lines are rows 0, 1, ...",
      "",
      "Output: one JSON object a line per completion, in input order and then sample order:"
          + " \"row\", \"sample\", \"prompt_tokens\", \"tokens\" (the completion's ids, an EOS"
          + " token or the token that completed a stop string included), \"logprobs\" (of each"
          + " token under softmax(logits / T) over the whole vocabulary, T = 1 when greedy;"
          + " top-p/top-k/min-p only restrict which token is drawn), \"finish_reason\" (\"stop\":"
          + " EOS or a stop string, \"length\": --max-tokens), \"text\" (the decoded completion,"
          + " special tokens kept; only when the model has a tokenizer) and \"input\" (the input"
          + " row as read).",
      "",
      "Row i is sampled with seed --seed + i and sample j from its own stream, so the same"
          + " command gives the same output, and --slots or the other rows change it only by"
          + " float rounding in how sequences are batched. Generation stops at the EOS ids of"
          + " generation_config.json, tokenizer_config.json and config.json."
    })
final class GenerateCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<List<Map<String, Object>>> MESSAGES = new TypeReference<>() {};

  /** Most prompt tokens prefilled in one engine step (a longer prompt gets a step of its own). */
  static final int PREFILL_TOKENS = 2048;

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      required = true,
      paramLabel = "DIR",
      description = "Hugging Face model directory: config.json and safetensors files.")
  Path model;

  @Option(
      names = "--adapter",
      paramLabel = "DIR",
      description = "PEFT LoRA adapter directory to apply.")
  Path adapter;

  @Option(
      names = "--chat",
      description =
          "Render \"prompt\" text (and --prompt) through the chat template as a user message.")
  boolean chat;

  @Option(names = "--prompt", paramLabel = "TEXT", description = "One prompt, as text.")
  String prompt;

  @Option(
      names = "--input",
      paramLabel = "FILE",
      description = "JSONL rows with \"tokens\", \"prompt\" or \"messages\".")
  Path input;

  @Option(
      names = "--output",
      paramLabel = "FILE",
      description = "Where to write the JSONL result (default: standard output).")
  Path output;

  @Option(
      names = {"-n", "--n"},
      paramLabel = "N",
      defaultValue = "1",
      description = "Completions per prompt (default: ${DEFAULT-VALUE}).")
  int n;

  @Option(
      names = "--temperature",
      paramLabel = "T",
      defaultValue = "1.0",
      description = "Softmax temperature, >= 0; 0 is greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(
      names = "--top-p",
      paramLabel = "P",
      defaultValue = "1.0",
      description = "Nucleus sampling mass, in (0, 1]; 1 keeps all (default: ${DEFAULT-VALUE}).")
  double topP;

  @Option(
      names = "--top-k",
      paramLabel = "K",
      defaultValue = "0",
      description = "Draw among the K most likely tokens; 0 keeps all (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(
      names = "--min-p",
      paramLabel = "P",
      defaultValue = "0.0",
      description =
          "Drop tokens less likely than P times the most likely one, in [0, 1]"
              + " (default: ${DEFAULT-VALUE}).")
  double minP;

  @Option(
      names = "--max-tokens",
      paramLabel = "N",
      defaultValue = "256",
      description = "Most tokens per completion (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(
      names = "--stop",
      paramLabel = "STR",
      description =
          "A string that ends a completion (repeat for more); needs the model's tokenizer.")
  List<String> stop = new ArrayList<>();

  @Option(
      names = "--seed",
      paramLabel = "S",
      defaultValue = "0",
      description = "Seed; row i uses S + i (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--slots",
      paramLabel = "N",
      description = "Most sequences decoded at once, at least --n (default: max(16, --n)).")
  Integer slots;

  /**
   * One input row.
   *
   * @param where how errors name it: {@code FILE:LINE}, or {@code --prompt}
   * @param json the row as read, echoed as {@code "input"}
   * @param tokens the prompt's token ids
   */
  record Row(String where, ObjectNode json, int[] tokens) {}

  @Override
  public Integer call() throws IOException {
    SamplingParams params = checkOptions();
    if (!Files.isDirectory(model)) {
      throw new Main.InputException("--model " + model + ": no such directory");
    }
    if (adapter != null && !Files.isDirectory(adapter)) {
      throw new Main.InputException("--adapter " + adapter + ": no such directory");
    }
    HfModelConfig config = HfModelConfig.load(model);
    Path tokenizerFile = model.resolve(HfTokenizer.TOKENIZER_FILE);
    PromptEncoder encoder = Files.isRegularFile(tokenizerFile) ? loadEncoder() : null;
    try {
      if (!stop.isEmpty() && encoder == null) {
        throw new Main.InputException(
            "--stop needs the model's tokenizer, but " + tokenizerFile + " does not exist");
      }
      if (chat && encoder == null) {
        throw new Main.InputException(
            "--chat needs the model's tokenizer, but " + tokenizerFile + " does not exist");
      }
      if (chat && !encoder.hasChatTemplate()) {
        // Throws the TokenizerException that names tokenizer_config.json.
        encoder.config().chatTemplate(null);
      }

      // Check every row before the (possibly slow) model load, so bad input fails fast.
      List<Row> rows = readRows(encoder, config.vocabSize(), tokenizerFile);
      if (rows.isEmpty()) {
        throw new Main.InputException("--input " + input + ": no rows");
      }
      generate(rows, params, config, encoder);
    } finally {
      if (encoder != null) {
        encoder.close();
      }
    }
    return 0;
  }

  /** Checks the options and returns the sampling parameters every request shares but the seed. */
  private SamplingParams checkOptions() {
    if ((prompt == null) == (input == null)) {
      throw new Main.InputException(
          prompt == null
              ? "give the prompts with --prompt TEXT or --input FILE"
              : "give --prompt TEXT or --input FILE, not both");
    }
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new Main.InputException(
          "--temperature must be a number >= 0 (0 is greedy), found " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new Main.InputException("--top-p must be in (0, 1], found " + topP);
    }
    if (topK < 0) {
      throw new Main.InputException("--top-k must be >= 0 (0 keeps all tokens), found " + topK);
    }
    if (!(minP >= 0 && minP <= 1)) {
      throw new Main.InputException("--min-p must be in [0, 1], found " + minP);
    }
    if (maxTokens < 1) {
      throw new Main.InputException("--max-tokens must be at least 1, found " + maxTokens);
    }
    if (n < 1) {
      throw new Main.InputException("--n must be at least 1, found " + n);
    }
    if (slots != null && slots < n) {
      throw new Main.InputException(
          "--slots must be at least --n (" + n + ", the samples of one prompt), found " + slots);
    }
    for (String s : stop) {
      if (s.isEmpty()) {
        throw new Main.InputException("--stop must be a non-empty string, found \"\"");
      }
    }
    return new SamplingParams(temperature, topP, topK, minP, maxTokens, stop, seed);
  }

  private PromptEncoder loadEncoder() {
    try {
      return PromptEncoder.load(model);
    } catch (ChatTemplateException e) {
      throw new Main.InputException(
          model.resolve("tokenizer_config.json") + ": chat template: " + e.getMessage());
    }
  }

  // ---- generation ----

  private void generate(
      List<Row> rows, SamplingParams shared, HfModelConfig config, PromptEncoder encoder)
      throws IOException {
    int longest = 0;
    for (Row row : rows) {
      longest = Math.max(longest, row.tokens().length);
    }
    int maxLength = longest + maxTokens;
    int slotCount = slots != null ? slots : Math.max(16, n);

    Decoder decoder =
        Decoder.load(model, Backends.create(ModelConfig.Backend.AUTO, CliBackend::report));
    if (adapter != null) {
      LoraAdapter.load(adapter, decoder);
    }
    // Created after the adapter is attached, so its buffers have room for the LoRA rank.
    GenerationEngine engine =
        new GenerationEngine(
            decoder,
            slotCount,
            maxLength,
            PREFILL_TOKENS,
            eosIds(config, encoder),
            encoder == null ? null : encoder.tokenizer());

    RolloutGroup[] done = new RolloutGroup[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      SamplingParams params =
          new SamplingParams(
              shared.temperature(),
              shared.topP(),
              shared.topK(),
              shared.minP(),
              shared.maxTokens(),
              shared.stop(),
              seed + i);
      int index = i;
      engine.submit(
          new SampleRequest(String.valueOf(i), rows.get(i).tokens(), n, params),
          group -> done[index] = group);
    }

    long total = (long) rows.size() * n;
    int written = 0;
    try (Writer writer = JsonlRows.openOutput(output, spec.commandLine().getOut());
        Progress progress = total > 1 ? Progress.start("generating", total, "completions") : null) {
      while (written < rows.size()) {
        if (!engine.busy()) {
          throw new IllegalStateException("the engine went idle with row " + written + " undone");
        }
        engine.step();
        int before = written;
        while (written < rows.size() && done[written] != null) {
          write(writer, written, rows.get(written), done[written], encoder);
          done[written] = null;
          written++;
        }
        if (written > before) {
          writer.flush();
          if (progress != null) {
            progress.step((long) (written - before) * n);
          }
        }
      }
    }
  }

  /** EOS ids of the tokenizer files (generation config, else eos_token) and of the model config. */
  private static int[] eosIds(HfModelConfig config, PromptEncoder encoder) {
    Set<Integer> ids = new LinkedHashSet<>();
    if (encoder != null) {
      for (int id : encoder.eosIds()) {
        ids.add(id);
      }
    }
    ids.addAll(config.eosTokenIds());
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  private static void write(
      Writer writer, int index, Row row, RolloutGroup group, PromptEncoder encoder)
      throws IOException {
    for (int j = 0; j < group.completions().size(); j++) {
      Completion c = group.completions().get(j);
      ObjectNode json = JSON.createObjectNode();
      json.put("row", index);
      json.put("sample", j);
      ArrayNode promptTokens = json.putArray("prompt_tokens");
      for (int id : row.tokens()) {
        promptTokens.add(id);
      }
      ArrayNode tokens = json.putArray("tokens");
      for (int id : c.tokens()) {
        tokens.add(id);
      }
      ArrayNode logprobs = json.putArray("logprobs");
      for (float value : c.logprobs()) {
        logprobs.add(value);
      }
      json.put("finish_reason", c.finishReason().wireName());
      if (encoder != null) {
        json.put("text", encoder.tokenizer().decode(c.tokens()));
      }
      json.set("input", row.json());
      writer.write(JSON.writeValueAsString(json));
      writer.write('\n');
    }
  }

  // ---- input ----

  /** Reads and checks every row; text and chat rows are encoded now. */
  private List<Row> readRows(PromptEncoder encoder, int vocab, Path tokenizerFile) {
    List<Row> rows = new ArrayList<>();
    if (prompt != null) {
      ObjectNode json = JSON.createObjectNode().put("prompt", prompt);
      rows.add(new Row("--prompt", json, encode("--prompt", json, encoder, vocab, tokenizerFile)));
      return rows;
    }
    try (BufferedReader reader = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
      String text;
      int line = 0;
      while ((text = reader.readLine()) != null) {
        line++;
        if (text.isBlank()) {
          continue;
        }
        String where = input + ":" + line;
        JsonNode node;
        try {
          node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
          throw JsonlRows.rowError(where, "malformed JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
          throw JsonlRows.rowError(
              where,
              "expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType()));
        }
        ObjectNode json = (ObjectNode) node;
        rows.add(new Row(where, json, encode(where, json, encoder, vocab, tokenizerFile)));
      }
    } catch (NoSuchFileException e) {
      throw new Main.InputException("--input " + input + ": no such file");
    } catch (IOException e) {
      throw new Main.InputException("--input " + input + ": cannot read: " + e.getMessage());
    } catch (UncheckedIOException e) {
      throw new Main.InputException(
          "--input " + input + ": cannot read: " + e.getCause().getMessage());
    }
    return rows;
  }

  /** The prompt token ids of one row. */
  private int[] encode(
      String where, ObjectNode json, PromptEncoder encoder, int vocab, Path tokenizerFile) {
    List<String> given = new ArrayList<>();
    for (String key : List.of("tokens", "prompt", "messages")) {
      if (json.has(key)) {
        given.add(key);
      }
    }
    if (given.isEmpty()) {
      List<String> keys = new ArrayList<>();
      json.fieldNames().forEachRemaining(keys::add);
      throw JsonlRows.rowError(
          where,
          "a row needs \"tokens\" (token ids), \"prompt\" (text) or \"messages\" (chat); found "
              + (keys.isEmpty() ? "an empty object" : "keys " + String.join(", ", keys)));
    }
    if (given.size() > 1) {
      throw JsonlRows.rowError(
          where,
          "a row needs exactly one of \"tokens\", \"prompt\" and \"messages\"; found "
              + String.join(", ", given));
    }
    String key = given.getFirst();
    JsonNode value = json.get(key);
    int[] tokens;
    if (key.equals("tokens")) {
      tokens = JsonlRows.tokenIds(where, value, vocab);
    } else {
      if (encoder == null) {
        throw JsonlRows.rowError(
            where,
            "row has \""
                + key
                + "\" but "
                + tokenizerFile
                + " does not exist; give \"tokens\" instead or add the model's tokenizer");
      }
      try {
        if (key.equals("prompt")) {
          if (!value.isTextual()) {
            throw JsonlRows.rowError(where, "\"prompt\" must be a string, found " + value);
          }
          tokens =
              chat
                  ? encoder.encodeChat(
                      List.of(Map.of("role", "user", "content", value.asText())), true, Map.of())
                  : encoder.encodeText(value.asText());
        } else {
          tokens = encoder.encodeChat(messages(where, value), true, Map.of());
        }
      } catch (TokenizerException | ChatTemplateException e) {
        throw JsonlRows.rowError(where, e.getMessage());
      }
      JsonlRows.checkVocabulary(where, tokens, vocab, " (from \"" + key + "\")");
    }
    if (tokens.length < 1) {
      throw JsonlRows.rowError(
          where,
          "a row needs at least 1 prompt token, found 0"
              + (key.equals("tokens") ? "" : " (\"" + key + "\" encodes to nothing)"));
    }
    return tokens;
  }

  private List<Map<String, Object>> messages(String where, JsonNode value) {
    if (!value.isArray() || value.isEmpty()) {
      throw JsonlRows.rowError(
          where,
          "\"messages\" must be a non-empty array of {\"role\": ..., \"content\": ...} objects,"
              + " found "
              + value);
    }
    for (int m = 0; m < value.size(); m++) {
      JsonNode message = value.get(m);
      if (!message.isObject() || !message.path("role").isTextual()) {
        throw JsonlRows.rowError(
            where,
            "messages["
                + m
                + "] must be an object with a string \"role\" (and \"content\"), found "
                + message);
      }
    }
    return JSON.convertValue(value, MESSAGES);
  }
}
