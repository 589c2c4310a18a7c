package rl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
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
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import rl.core.config.ModelConfig;
import rl.core.lora.LoraAdapter;
import rl.core.model.Activations;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.progress.Progress;
import rl.core.tensor.Backends;
import rl.core.tokenizer.HfTokenizer;

/**
 * {@code rl logprobs}: the logprob a model (optionally with a LoRA adapter) gives every token of
 * each input row, given the tokens before it. Rows are scored in packed batches of at most {@code
 * --batch-tokens} tokens through one set of preallocated activation buffers.
 */
@Command(
    name = "logprobs",
    description = "Score token sequences: the logprob of each token given its prefix.",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true,
    footer = {
      "",
      "Each input line is a JSON object with \"tokens\" (token ids) or \"text\" (tokenized with"
          + " DIR/tokenizer.json, no special tokens added); \"tokens\" wins when both are given."
          + " Each output line is the input object plus \"tokens\" and \"logprobs\", where"
          + " logprobs[t] = log p(tokens[t+1] | tokens[0..t]) under softmax(logits / T)."
    })
final class LogprobsCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

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
      names = "--input",
      required = true,
      paramLabel = "FILE",
      description = "JSONL rows with \"tokens\" or \"text\".")
  Path input;

  @Option(
      names = "--output",
      paramLabel = "FILE",
      description = "Where to write the JSONL result (default: standard output).")
  Path output;

  @Option(
      names = "--temperature",
      paramLabel = "T",
      defaultValue = "1.0",
      description = "Softmax temperature, > 0 (default: ${DEFAULT-VALUE}).")
  float temperature;

  @Option(
      names = "--batch-tokens",
      paramLabel = "N",
      defaultValue = "4096",
      description =
          "Most tokens scored in one pass (default: ${DEFAULT-VALUE}); a longer row gets a pass"
              + " of its own.")
  int batchTokens;

  /** One input row: its line number, the JSON object to echo, and its token ids. */
  record Row(int line, ObjectNode json, int[] tokens) {}

  @Override
  public Integer call() throws IOException {
    if (!(temperature > 0) || Float.isInfinite(temperature)) {
      throw new Main.InputException(
          "--temperature must be a positive number, found " + temperature);
    }
    if (batchTokens < 1) {
      throw new Main.InputException("--batch-tokens must be at least 1, found " + batchTokens);
    }
    if (!Files.isDirectory(model)) {
      throw new Main.InputException("--model " + model + ": no such directory");
    }
    if (adapter != null && !Files.isDirectory(adapter)) {
      throw new Main.InputException("--adapter " + adapter + ": no such directory");
    }

    // Check every row before the (possibly slow) model load, so bad input fails fast.
    int vocab = HfModelConfig.load(model).vocabSize();
    List<Row> rows = readRows(vocab);

    Decoder decoder =
        Decoder.load(model, Backends.create(ModelConfig.Backend.AUTO, CliBackend::report));
    if (adapter != null) {
      LoraAdapter.load(adapter, decoder);
    }
    List<List<Row>> batches = pack(rows, batchTokens);
    int capacity = 1;
    long totalTokens = 0;
    for (List<Row> batch : batches) {
      capacity = Math.max(capacity, tokenCount(batch));
      totalTokens += tokenCount(batch);
    }
    // Created after the adapter is attached, so its buffers have room for the LoRA rank.
    Activations acts = decoder.newActivations(capacity, false);

    try (Writer writer = JsonlRows.openOutput(output, spec.commandLine().getOut());
        Progress progress =
            batches.size() > 1 ? Progress.start("scoring", totalTokens, "tokens") : null) {
      for (List<Row> batch : batches) {
        List<int[]> sequences = new ArrayList<>(batch.size());
        for (Row row : batch) {
          sequences.add(row.tokens());
        }
        float[][] logprobs = decoder.sequenceLogprobs(acts, sequences, temperature);
        for (int i = 0; i < batch.size(); i++) {
          writer.write(JSON.writeValueAsString(result(batch.get(i), logprobs[i])));
          writer.write('\n');
        }
        writer.flush();
        if (progress != null) {
          progress.step(tokenCount(batch));
        }
      }
    }
    return 0;
  }

  /** Consecutive rows, in order, packed into batches of at most {@code budget} tokens. */
  static List<List<Row>> pack(List<Row> rows, int budget) {
    List<List<Row>> batches = new ArrayList<>();
    List<Row> current = new ArrayList<>();
    int tokens = 0;
    for (Row row : rows) {
      int length = row.tokens().length;
      if (!current.isEmpty() && tokens + length > budget) {
        batches.add(current);
        current = new ArrayList<>();
        tokens = 0;
      }
      current.add(row);
      tokens += length;
    }
    if (!current.isEmpty()) {
      batches.add(current);
    }
    return batches;
  }

  private static int tokenCount(List<Row> batch) {
    int count = 0;
    for (Row row : batch) {
      count += row.tokens().length;
    }
    return count;
  }

  private static ObjectNode result(Row row, float[] logprobs) {
    ObjectNode json = row.json();
    ArrayNode tokens = json.putArray("tokens");
    for (int id : row.tokens()) {
      tokens.add(id);
    }
    ArrayNode values = json.putArray("logprobs");
    for (float value : logprobs) {
      values.add(value);
    }
    return json;
  }

  // ---- input ----

  /** Reads and checks every row; text rows are tokenized with the model's tokenizer. */
  private List<Row> readRows(int vocab) {
    List<Row> rows = new ArrayList<>();
    HfTokenizer tokenizer = null;
    try (BufferedReader reader = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
      String text;
      int line = 0;
      while ((text = reader.readLine()) != null) {
        line++;
        if (text.isBlank()) {
          continue;
        }
        JsonNode node;
        try {
          node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
          throw rowError(line, "malformed JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
          throw rowError(
              line,
              "expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType()));
        }
        ObjectNode json = (ObjectNode) node;
        int[] tokens;
        if (json.has("tokens")) {
          tokens = JsonlRows.tokenIds(input + ":" + line, json.get("tokens"), vocab);
        } else if (json.has("text")) {
          if (!json.get("text").isTextual()) {
            throw rowError(line, "\"text\" must be a string, found " + json.get("text"));
          }
          if (tokenizer == null) {
            tokenizer = loadTokenizer(line);
          }
          tokens = tokenizer.encode(json.get("text").asText());
          JsonlRows.checkVocabulary(input + ":" + line, tokens, vocab, " (from \"text\")");
        } else {
          List<String> keys = new ArrayList<>();
          json.fieldNames().forEachRemaining(keys::add);
          throw rowError(
              line,
              "a row needs \"tokens\" (token ids) or \"text\"; found "
                  + (keys.isEmpty() ? "an empty object" : "keys " + String.join(", ", keys)));
        }
        if (tokens.length < 1) {
          throw rowError(
              line,
              "a row needs at least 1 token, found 0"
                  + (json.has("tokens") ? "" : " (\"text\" tokenizes to nothing)"));
        }
        rows.add(new Row(line, json, tokens));
      }
    } catch (NoSuchFileException e) {
      throw new Main.InputException("--input " + input + ": no such file");
    } catch (IOException e) {
      throw new Main.InputException("--input " + input + ": cannot read: " + e.getMessage());
    } catch (UncheckedIOException e) {
      throw new Main.InputException(
          "--input " + input + ": cannot read: " + e.getCause().getMessage());
    } finally {
      if (tokenizer != null) {
        tokenizer.close();
      }
    }
    return rows;
  }

  private HfTokenizer loadTokenizer(int line) {
    Path file = model.resolve(HfTokenizer.TOKENIZER_FILE);
    if (!Files.isRegularFile(file)) {
      throw rowError(
          line,
          "row has \"text\" but "
              + file
              + " does not exist; give \"tokens\" instead or add the model's tokenizer");
    }
    return HfTokenizer.load(model);
  }

  /** An error in the row on {@code line} of the input; rows are named by their line number. */
  private Main.InputException rowError(int line, String message) {
    return new Main.InputException(input + ":" + line + ": " + message);
  }
}
