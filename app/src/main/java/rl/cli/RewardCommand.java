package rl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import rl.rewards.FinishReason;
import rl.rewards.Problem;
import rl.rewards.RewardConfigException;
import rl.rewards.RewardFunction;
import rl.rewards.RewardInput;
import rl.rewards.pipeline.CallPolicy;
import rl.rewards.pipeline.RewardError;
import rl.rewards.pipeline.RewardOutcome;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.plugin.RewardRegistry;
import rl.rewards.task.DatasetException;
import rl.rewards.task.FieldMapping;
import rl.rewards.task.JsonlDataset;

/**
 * {@code rl reward}: scores completions from a JSONL file with one reward function, so a user can
 * debug a function (built-in or plug-in) on their own data. Calls go through the same pipeline a
 * run uses: own threads, a time-out, errors recorded per row instead of stopping.
 */
@Command(
    name = "reward",
    description = "Score JSONL completions with a reward function, to debug it on your data.",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true,
    footer = {
      "",
      "Each input line is a JSON object with \"completion\" (the text to score) and, as the"
          + " function needs, \"answer\" (the reference), \"prompt\" (text or chat messages),"
          + " \"prompt_text\" (as the model saw it), \"id\", \"completion_tokens\" (token ids),"
          + " \"finish_reason\" (stop or length) and"
          + " any other fields (countdown reads \"numbers\" and \"target\"). Each output line is"
          + " the input object plus \"score\", \"components\", \"info\" and \"error\" (null, or"
          + " {kind, message} when the function failed and \"score\" is the fallback).",
      "",
      "--param values are read as YAML where they are YAML (3, 0.5, true, [a, b]); anything else,"
          + " such as a regular expression, is taken as written.",
      "",
      "Example: rl reward --name countdown --param use_all=true --input rows.jsonl"
    })
final class RewardCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final YAMLMapper YAML = new YAMLMapper();

  @Spec CommandSpec spec;

  @Option(
      names = "--name",
      paramLabel = "NAME",
      description =
          "The reward function: a built-in (math, countdown, exact, regex, length) or a"
              + " plug-in's name.")
  String name;

  @Option(
      names = "--param",
      paramLabel = "KEY=VALUE",
      description = "A parameter of the function (repeatable), e.g. --param tolerance=1e-4.")
  List<String> params = new ArrayList<>();

  @Option(names = "--input", paramLabel = "FILE", description = "JSONL rows to score.")
  Path input;

  @Option(
      names = "--output",
      paramLabel = "FILE",
      description = "Where to write the scored rows (default: standard output).")
  Path output;

  @Option(
      names = "--plugins",
      paramLabel = "DIR",
      description = "Directory of reward plug-in jars to load besides the built-ins.")
  Path plugins;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description = "Time-out of one call (default: ${DEFAULT-VALUE}); a late call is an error.")
  double timeoutSeconds;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      description = "Calls in progress at once (default: the number of CPUs).")
  Integer concurrency;

  @Option(names = "--list", description = "List the available reward functions and exit.")
  boolean list;

  /** One input row: its line, the JSON to echo back, and what the function scores. */
  private record Row(int line, ObjectNode json, RewardInput input) {}

  @Override
  public Integer call() throws IOException {
    try (RewardRegistry registry = openRegistry()) {
      for (String problem : registry.problems()) {
        spec.commandLine().getErr().println("rl: warning: " + problem);
      }
      if (list) {
        return list(registry);
      }
      checkOptions();
      Map<String, Object> parameters = parseParams();
      RewardFunction function;
      try {
        function = registry.create(name, parameters);
      } catch (RewardConfigException e) {
        throw new Main.InputException(e.getMessage());
      }
      int calls = concurrency != null ? concurrency : Runtime.getRuntime().availableProcessors();
      CallPolicy policy =
          new CallPolicy(Duration.ofNanos(Math.round(timeoutSeconds * 1e9)), calls, 0);
      try (RewardPipeline pipeline =
          RewardPipeline.builder().add(name, function, 1, policy).build()) {
        List<Row> rows = readRows(); // after creating the function: its errors come first
        return score(pipeline, rows);
      }
    }
  }

  private RewardRegistry openRegistry() {
    try {
      return plugins == null ? RewardRegistry.classPath() : RewardRegistry.load(plugins);
    } catch (RewardConfigException e) {
      throw new Main.InputException("--plugins: " + e.getMessage());
    }
  }

  private int list(RewardRegistry registry) {
    PrintWriter out = spec.commandLine().getOut();
    int width = registry.names().stream().mapToInt(String::length).max().orElse(0);
    registry
        .descriptions()
        .forEach(
            (function, description) -> out.printf("%-" + width + "s  %s%n", function, description));
    out.flush();
    return 0;
  }

  private void checkOptions() {
    if (name == null) {
      throw new Main.InputException("--name is required (or --list to see the functions)");
    }
    if (input == null) {
      throw new Main.InputException("--input is required: the JSONL rows to score");
    }
    if (!(timeoutSeconds > 0) || Double.isInfinite(timeoutSeconds)) {
      throw new Main.InputException(
          "--timeout must be a positive number of seconds, found " + timeoutSeconds);
    }
    if (concurrency != null && concurrency < 1) {
      throw new Main.InputException("--concurrency must be at least 1, found " + concurrency);
    }
  }

  /** {@code --param k=v} as a map; each value read as YAML where it is YAML, else as written. */
  private Map<String, Object> parseParams() {
    Map<String, Object> parsed = new LinkedHashMap<>();
    for (String param : params) {
      int equals = param.indexOf('=');
      if (equals <= 0) {
        throw new Main.InputException("--param " + param + ": expected KEY=VALUE");
      }
      String key = param.substring(0, equals).strip();
      if (parsed.containsKey(key)) {
        throw new Main.InputException("--param " + key + " is given twice");
      }
      parsed.put(key, value(param.substring(equals + 1)));
    }
    return parsed;
  }

  private static Object value(String text) {
    Object value;
    try {
      value = YAML.readValue(text, Object.class);
    } catch (JsonProcessingException e) {
      return text; // not YAML, e.g. the regex [0-9]+: take it as written
    }
    if (value instanceof String && !isQuoted(text)) {
      return text; // YAML would drop a comment ("a #b") or fold spaces; keep the text exact
    }
    return value == null ? text : value;
  }

  private static boolean isQuoted(String text) {
    String t = text.strip();
    return t.length() >= 2
        && (t.charAt(0) == '"' || t.charAt(0) == '\'')
        && t.charAt(t.length() - 1) == t.charAt(0);
  }

  // ---- scoring ----

  private int score(RewardPipeline pipeline, List<Row> rows) throws IOException {
    List<CompletableFuture<RewardOutcome>> outcomes = new ArrayList<>(rows.size());
    for (Row row : rows) {
      outcomes.add(pipeline.score(row.input()).thenApply(scored -> scored.outcomes().getFirst()));
    }
    double total = 0;
    Map<RewardError.Kind, Integer> errors = new EnumMap<>(RewardError.Kind.class);
    try (Writer writer = JsonlRows.openOutput(output, spec.commandLine().getOut())) {
      for (int i = 0; i < rows.size(); i++) {
        RewardOutcome outcome = outcomes.get(i).join();
        total += outcome.score();
        if (outcome.isError()) {
          errors.merge(outcome.error().kind(), 1, Integer::sum);
        }
        writer.write(JSON.writeValueAsString(result(rows.get(i).json(), outcome)));
        writer.write('\n');
      }
    }
    PrintWriter err = spec.commandLine().getErr();
    StringBuilder summary =
        new StringBuilder("rl: scored ")
            .append(rows.size())
            .append(rows.size() == 1 ? " row" : " rows")
            .append(" with ")
            .append(name)
            .append(String.format(": mean score %.4f", rows.isEmpty() ? 0 : total / rows.size()));
    int errorCount = errors.values().stream().mapToInt(Integer::intValue).sum();
    summary.append(", ").append(errorCount).append(errorCount == 1 ? " error" : " errors");
    if (errorCount > 0) {
      List<String> kinds = new ArrayList<>();
      errors.forEach((kind, count) -> kinds.add(count + " " + kind.key()));
      summary.append(" (").append(String.join(", ", kinds)).append(')');
    }
    err.println(summary);
    err.flush();
    return 0;
  }

  private static ObjectNode result(ObjectNode row, RewardOutcome outcome) {
    row.put("score", outcome.score());
    ObjectNode components = row.putObject("components");
    ObjectNode info = row.putObject("info");
    if (outcome.result() != null) {
      outcome.result().components().forEach(components::put);
      outcome.result().info().forEach(info::put);
    }
    if (outcome.isError()) {
      ObjectNode error = row.putObject("error");
      error.put("kind", outcome.error().kind().key());
      error.put("message", outcome.error().message());
    } else {
      row.putNull("error");
    }
    return row;
  }

  // ---- input ----

  private List<Row> readRows() {
    List<Row> rows = new ArrayList<>();
    Map<String, Integer> ids = new HashMap<>();
    String source = input.toString();
    try (BufferedReader reader = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
      String text;
      int line = 0;
      while ((text = reader.readLine()) != null) {
        line++;
        if (text.isBlank()) {
          continue;
        }
        ObjectNode json = (ObjectNode) JsonlDataset.parse(text, source, line);
        Problem problem = JsonlDataset.problem(json, source, line, FieldMapping.DEFAULTS, false);
        Integer previous = ids.putIfAbsent(problem.id(), line);
        if (previous != null) {
          // The reward cache keys on the id: two rows sharing one would share scores.
          throw rowError(line, "id \"" + problem.id() + "\" is also the id of line " + previous);
        }
        rows.add(new Row(line, json, input(json, problem, line)));
      }
    } catch (NoSuchFileException e) {
      throw new Main.InputException("--input " + input + ": no such file");
    } catch (IOException e) {
      throw new Main.InputException("--input " + input + ": cannot read: " + e.getMessage());
    } catch (UncheckedIOException e) {
      throw new Main.InputException(
          "--input " + input + ": cannot read: " + e.getCause().getMessage());
    } catch (DatasetException e) {
      throw new Main.InputException(e.getMessage());
    }
    return rows;
  }

  private RewardInput input(ObjectNode json, Problem problem, int line) {
    JsonNode completion = json.get("completion");
    if (completion == null || !completion.isTextual()) {
      List<String> keys = new ArrayList<>();
      json.fieldNames().forEachRemaining(keys::add);
      throw rowError(
          line,
          "a row needs \"completion\" (a string); found "
              + (completion == null
                  ? "keys " + String.join(", ", keys)
                  : "\"completion\": " + completion));
    }
    int[] tokens = new int[0];
    JsonNode ids = json.get("completion_tokens");
    if (ids != null && !ids.isNull()) {
      if (!ids.isArray()) {
        throw rowError(line, "\"completion_tokens\" must be an array of token ids, found " + ids);
      }
      tokens = new int[ids.size()];
      for (int t = 0; t < tokens.length; t++) {
        JsonNode id = ids.get(t);
        if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
          throw rowError(
              line, "completion_tokens[" + t + "] is " + id + ", expected a token id >= 0");
        }
        tokens[t] = id.intValue();
      }
    }
    FinishReason finish = FinishReason.UNKNOWN;
    JsonNode reason = json.get("finish_reason");
    if (reason != null && !reason.isNull()) {
      try {
        finish = FinishReason.parse(reason.isTextual() ? reason.asText() : reason.toString());
      } catch (IllegalArgumentException e) {
        throw rowError(line, e.getMessage());
      }
    }
    JsonNode promptText = json.get("prompt_text");
    String rendered = promptText != null && promptText.isTextual() ? promptText.asText() : "";
    return new RewardInput(problem, rendered, completion.asText(), tokens, finish);
  }

  private Main.InputException rowError(int line, String message) {
    return new Main.InputException(input + ":" + line + ": " + message);
  }
}
