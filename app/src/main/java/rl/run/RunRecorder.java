package rl.run;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Writes a run's records: one {@code metrics.jsonl} line per step (learner, sampler, reward and,
 * when fresh, eval numbers), the step's groups to {@code samples.jsonl}, and one console line per
 * step. File and console output happen on a writer thread of their own, never the event loop.
 */
final class RunRecorder implements AutoCloseable {
  static final String METRICS_FILE = "metrics.jsonl";
  static final String SAMPLES_FILE = "samples.jsonl";

  private final BufferedWriter metrics;
  private final BufferedWriter samples;
  private final PrintStream console;
  private final TrainConfig config;
  private final ExecutorService writer =
      Executors.newSingleThreadExecutor(
          r -> Thread.ofPlatform().name("rl-run-writer").daemon().unstarted(r));
  private final long startNanos = System.nanoTime();
  private final int firstStep;
  private Double lastPassAt1;
  private volatile BiConsumer<JsonObject, JsonArray> onWritten;

  RunRecorder(Path runDir, TrainConfig config, PrintStream console, int firstStep)
      throws IOException {
    Files.createDirectories(runDir);
    this.metrics = open(runDir.resolve(METRICS_FILE));
    this.samples = open(runDir.resolve(SAMPLES_FILE));
    this.console = console;
    this.config = config;
    this.firstStep = firstStep;
  }

  private static BufferedWriter open(Path file) throws IOException {
    return Files.newBufferedWriter(
        file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /**
   * Also hands each written metrics line, and the step's groups as written to samples.jsonl, to
   * {@code listener} (on the writer thread): the run publishes them for the dashboard.
   */
  void onWritten(BiConsumer<JsonObject, JsonArray> listener) {
    this.onWritten = listener;
  }

  /** Called on the event loop with one step's record. */
  void record(JsonObject step) {
    JsonObject copy = step.copy();
    writer.execute(() -> write(copy));
  }

  private void write(JsonObject step) {
    try {
      JsonArray groups = (JsonArray) step.remove("groups");
      JsonObject line = flatten(step, groups);
      metrics.write(line.encode());
      metrics.newLine();
      metrics.flush();
      JsonArray written = new JsonArray();
      if (groups != null) {
        for (int i = 0; i < groups.size(); i++) {
          JsonObject g = groups.getJsonObject(i).copy().put("step", step.getInteger("step"));
          samples.write(g.encode());
          samples.newLine();
          written.add(g);
        }
        samples.flush();
      }
      console.println(consoleLine(line));
      BiConsumer<JsonObject, JsonArray> listener = onWritten;
      if (listener != null) {
        listener.accept(line, written);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The metrics.jsonl line: learner keys at the top, sampler_*, reward_*, eval_* prefixed. */
  private static JsonObject flatten(JsonObject step, JsonArray groups) {
    JsonObject line = new JsonObject();
    for (String key : step.fieldNames()) {
      Object value = step.getValue(key);
      if (value instanceof JsonObject nested) {
        String prefix =
            key.equals("sampler") ? "sampler_" : key.equals("eval") ? "eval_" : key + "_";
        for (String k : nested.fieldNames()) {
          if (!(key.equals("eval") && k.equals("step"))) {
            line.put(prefix + k, nested.getValue(k));
          }
        }
      } else {
        line.put(key, value);
      }
    }
    if (groups != null && !groups.isEmpty()) {
      double sum = 0;
      double sumSq = 0;
      int n = 0;
      int errors = 0;
      for (int i = 0; i < groups.size(); i++) {
        JsonArray scores = groups.getJsonObject(i).getJsonArray("scores");
        for (int j = 0; scores != null && j < scores.size(); j++) {
          errors += scores.getJsonObject(j).getInteger("errors", 0);
        }
        JsonArray rewards = groups.getJsonObject(i).getJsonArray("rewards");
        for (int j = 0; j < rewards.size(); j++) {
          double r = rewards.getDouble(j);
          sum += r;
          sumSq += r * r;
          n++;
        }
      }
      double mean = sum / n;
      line.put("reward_std", Math.sqrt(Math.max(0, sumSq / n - mean * mean)));
      line.put("reward_errors", errors);
    }
    return line;
  }

  private String consoleLine(JsonObject line) {
    int step = line.getInteger("step");
    int steps = config.training().steps();
    if (line.containsKey("eval_pass_at_1")) {
      lastPassAt1 = line.getDouble("eval_pass_at_1");
    }
    if (!line.containsKey("loss")) {
      return String.format(
          Locale.ROOT,
          "step %d/%d  eval pass@1 %.3f%s",
          step,
          steps,
          lastPassAt1,
          line.containsKey("eval_reward_mean")
              ? String.format(Locale.ROOT, "  reward %.3f", line.getDouble("eval_reward_mean"))
              : "");
    }
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    int done = step - firstStep;
    double eta = done <= 0 ? 0 : elapsed / done * (steps - step);
    return String.format(
        Locale.ROOT,
        "step %d/%d  reward %.3f±%.3f%s  loss %.4f  tok/s %.0f (sampler %.0f)  lag %.1f  ETA %s",
        step,
        steps,
        line.getDouble("reward_mean", 0.0),
        line.getDouble("reward_std", 0.0),
        line.containsKey("eval_pass_at_1")
            ? String.format(Locale.ROOT, "  pass@1 %.3f", lastPassAt1)
            : "",
        line.getDouble("loss", 0.0),
        line.getDouble("learner_tokens_per_s", 0.0),
        line.getDouble("sampler_decode_tokens_per_s", 0.0),
        line.getDouble("policy_lag", 0.0),
        duration(eta));
  }

  private static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600
        ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60)
        : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }

  @Override
  public void close() throws IOException {
    writer.shutdown();
    try {
      writer.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    metrics.close();
    samples.close();
  }
}
