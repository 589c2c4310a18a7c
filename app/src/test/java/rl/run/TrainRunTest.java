package rl.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Nd4jOps;
import rl.core.tokenizer.ToyTokenizer;

/** A few real steps of {@code rl train} on a tiny model, its run directory, and a resume. */
class TrainRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path tinyModel(Path dir) throws IOException {
    Path model = dir.resolve("model");
    Decoder.random(
            HfModelConfig.llama(32, 48, 1, 2, 1, ToyTokenizer.VOCAB_SIZE), new Nd4jOps(), 1, 0.3)
        .saveHuggingFace(model);
    ToyTokenizer.write(model);
    return model;
  }

  private static Path config(Path dir, Path model, int steps) throws IOException {
    String yaml =
        """
        name: tiny
        seed: 3
        runs_dir: %s
        model: {path: %s}
        lora: {rank: 1, alpha: 32}
        sampling: {temperature: 1.0, max_tokens: 6}
        optimizer: {lr: 0.01}
        training: {steps: %d, group_size: 4, groups_per_step: 2, checkpoint_every: 1, micro_batch_tokens: 256}
        task: {name: arithmetic, params: {digits: 1}, train_size: 20, eval_size: 3}
        rewards:
          functions:
            - name: regex
              params: {pattern: '[0-9]', match: find}
        eval: {every: 2, samples: 2}
        dashboard: {port: 0}
        """
            .formatted(dir.resolve("runs"), model, steps);
    return Files.writeString(dir.resolve("tiny.yaml"), yaml);
  }

  private static List<JsonNode> lines(Path file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      out.add(JSON.readTree(line));
    }
    return out;
  }

  private static PrintStream quiet(ByteArrayOutputStream bytes) {
    return new PrintStream(bytes, true, StandardCharsets.UTF_8);
  }

  @Test
  void trainsWritesItsRunDirectoryAndResumesExactly(@TempDir Path dir) throws Exception {
    Path model = tinyModel(dir);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TrainRun straight = TrainRun.fresh(config(dir, model, 4), List.of("name=straight"), quiet(out));
    assertEquals(4, straight.run());
    Path run = straight.runDir();
    assertTrue(Files.exists(run.resolve("config.yaml")));
    List<JsonNode> metrics = lines(run.resolve("metrics.jsonl"));
    // Baseline eval, then steps 1..4 (evals at 2 and 4).
    assertEquals(5, metrics.size(), metrics.toString());
    assertEquals(0, metrics.get(0).get("step").asInt());
    assertTrue(metrics.get(0).has("eval_pass_at_1"));
    for (int s = 1; s <= 4; s++) {
      JsonNode m = metrics.get(s);
      assertEquals(s, m.get("step").asInt());
      for (String key :
          List.of(
              "loss",
              "grad_norm",
              "is_weight_mean",
              "kl_sample_train",
              "entropy",
              "reward_mean",
              "policy_lag",
              "learner_tokens_per_s")) {
        assertTrue(m.has(key), key + " in " + m);
      }
      assertEquals(0.0, m.get("policy_lag").asDouble(), "on-policy");
    }
    assertTrue(metrics.get(2).has("eval_pass_at_1") && metrics.get(4).has("eval_reward_mean"));
    assertEquals(8, lines(run.resolve("samples.jsonl")).size(), "2 groups per step");
    assertTrue(Files.exists(run.resolve("checkpoints/step-4/adapter/adapter_model.safetensors")));
    assertTrue(Files.size(run.resolve("learning_curve.png")) > 1000, "a learning-curve PNG");
    String console = out.toString(StandardCharsets.UTF_8);
    assertTrue(console.contains("step 4/4"), console);

    // Interrupted after step 2, then resumed: the same numbers as the straight run.
    TrainRun first =
        TrainRun.fresh(
            config(dir, model, 4), List.of("name=interrupted"), quiet(new ByteArrayOutputStream()));
    first.stopAfterStep = 2;
    assertEquals(2, first.run());
    assertEquals(
        2,
        Files.list(first.runDir().resolve("checkpoints"))
            .filter(p -> p.getFileName().toString().startsWith("step-"))
            .count());
    TrainRun resumed = TrainRun.resume(first.runDir(), quiet(new ByteArrayOutputStream()));
    assertEquals(4, resumed.run());
    List<JsonNode> again = lines(first.runDir().resolve("metrics.jsonl"));
    assertEquals(metrics.size(), again.size(), again.toString());
    for (int s = 1; s <= 4; s++) {
      assertEquals(
          metrics.get(s).get("loss").asDouble(),
          again.get(s).get("loss").asDouble(),
          0.0,
          "loss at step " + s);
      assertEquals(
          metrics.get(s).get("reward_mean").asDouble(),
          again.get(s).get("reward_mean").asDouble(),
          0.0);
    }
  }

  /**
   * Full fine-tuning: the sampler keeps its own weights and receives every weight at each sync, so
   * on-policy steps see the sampler's logprobs equal the learner's although the weights moved.
   */
  @Test
  void fullFineTuningSyncsEveryWeightToTheSampler(@TempDir Path dir) throws Exception {
    Path model = tinyModel(dir);
    TrainRun run =
        TrainRun.fresh(
            config(dir, model, 3),
            List.of("training.full_finetune=true", "optimizer.lr=0.05"),
            quiet(new ByteArrayOutputStream()));
    assertEquals(3, run.run());
    List<JsonNode> steps = trainingSteps(run.runDir());
    assertEquals(3, steps.size());
    double moved = 0;
    for (JsonNode step : steps) {
      moved = Math.max(moved, step.get("grad_norm").asDouble());
      double kl = step.get("kl_sample_train").asDouble();
      assertTrue(Math.abs(kl) < 1e-4, "step " + step.get("step") + ": kl_sample_train " + kl);
    }
    assertTrue(moved > 0, "the weights were trained");
    Path checkpoint =
        rl.learner.Checkpoints.latest(run.runDir().resolve("checkpoints")).orElseThrow();
    assertTrue(Files.exists(checkpoint.resolve("model/model.safetensors")), checkpoint.toString());
  }

  /**
   * ReLoRA merges every step: the merged base weights reach the sampler (on-policy logprobs agree)
   * and the checkpoints (a resumed run repeats the uninterrupted one exactly).
   */
  @Test
  void reloraMergesReachTheSamplerAndTheCheckpoints(@TempDir Path dir) throws Exception {
    Path model = tinyModel(dir);
    List<String> merging = List.of("training.merge_every=1", "optimizer.lr=0.05");
    List<String> straightArgs = new ArrayList<>(merging);
    straightArgs.add("name=straight");
    TrainRun straight =
        TrainRun.fresh(config(dir, model, 4), straightArgs, quiet(new ByteArrayOutputStream()));
    assertEquals(4, straight.run());
    List<JsonNode> metrics = trainingSteps(straight.runDir());
    assertEquals(4, metrics.size());
    for (JsonNode step : metrics) {
      double kl = step.get("kl_sample_train").asDouble();
      assertTrue(Math.abs(kl) < 1e-4, "step " + step.get("step") + ": kl_sample_train " + kl);
    }
    assertTrue(
        Files.exists(
            straight.runDir().resolve("checkpoints/step-4/" + "merged_weights.safetensors")));

    List<String> firstArgs = new ArrayList<>(merging);
    firstArgs.add("name=interrupted");
    TrainRun first =
        TrainRun.fresh(config(dir, model, 4), firstArgs, quiet(new ByteArrayOutputStream()));
    first.stopAfterStep = 2;
    assertEquals(2, first.run());
    assertEquals(4, TrainRun.resume(first.runDir(), quiet(new ByteArrayOutputStream())).run());
    List<JsonNode> again = trainingSteps(first.runDir());
    for (int s = 0; s < 4; s++) {
      assertEquals(
          metrics.get(s).get("loss").asDouble(),
          again.get(s).get("loss").asDouble(),
          0.0,
          "loss at step " + (s + 1));
      assertTrue(Math.abs(again.get(s).get("kl_sample_train").asDouble()) < 1e-4, "after resume");
    }
  }

  private static List<JsonNode> trainingSteps(Path runDir) throws IOException {
    List<JsonNode> steps = new ArrayList<>();
    for (JsonNode line : lines(runDir.resolve("metrics.jsonl"))) {
      if (line.has("loss")) {
        steps.add(line);
      }
    }
    return steps;
  }

  @Test
  void stepsWhoseGroupsAllScoreTheSameStillCount(@TempDir Path dir) throws Exception {
    Path model = tinyModel(dir);
    // A pattern no completion can match: every reward is 0, every group is skipped.
    TrainRun run =
        TrainRun.fresh(
            config(dir, model, 3),
            List.of(
                "rewards.functions=[{name: regex, params: {pattern: 'never-ever-matches', match: find}}]"),
            quiet(new ByteArrayOutputStream()));
    assertEquals(3, run.run());
    List<JsonNode> metrics = lines(run.runDir().resolve("metrics.jsonl"));
    assertEquals(3, metrics.getLast().get("step").asInt());
    assertEquals(1.0, metrics.getLast().get("zero_advantage_fraction").asDouble());
  }

  @Test
  void badRunsFailBeforeAnyCompute(@TempDir Path dir) throws Exception {
    Path model = tinyModel(dir);
    Path good = config(dir, model, 2);
    PrintStream sink = quiet(new ByteArrayOutputStream());
    String missing =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    TrainRun.fresh(good, List.of("model.path=" + dir.resolve("nope")), sink).run())
            .getMessage();
    assertTrue(missing.contains("model.path") && missing.contains("nope"), missing);
    String reward =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    TrainRun.fresh(good, List.of("rewards.functions=[{name: mathh}]"), sink).run())
            .getMessage();
    assertTrue(reward.contains("mathh") && reward.contains("math"), reward);
    assertThrows(
        rl.core.config.ConfigException.class,
        () -> TrainRun.fresh(good, List.of("training.group_size=1"), sink));
    Path rows = dir.resolve("problems.jsonl");
    Files.writeString(rows, "{\"question\": \"1 + 1 =\", \"answer\": \"2\"}\n");
    String field =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    TrainRun.fresh(
                            good,
                            List.of(
                                "task.name=jsonl",
                                "task.train_file=" + rows,
                                "task.eval_file=" + rows,
                                "task.fields={prompt: problem}"),
                            sink)
                        .run())
            .getMessage();
    assertTrue(
        field.contains("problems.jsonl") && field.contains("problem"), "dataset field: " + field);
    Files.delete(model.resolve("tokenizer_config.json"));
    String template =
        assertThrows(RuntimeException.class, () -> TrainRun.fresh(good, List.of(), sink).run())
            .getMessage();
    assertTrue(template.contains("chat_template"), template);
  }

  @Test
  void aCurveThatCannotBeDrawnIsReportedNotFatal(@TempDir Path run) throws Exception {
    Files.writeString(run.resolve("metrics.jsonl"), "{\"step\":1,\"loss\":0.5}\n");
    String note = TrainRun.drawCurve(run);
    assertTrue(note.contains("learning curve not drawn"), note);
    assertTrue(note.contains("rl curve " + run), note);
    assertTrue(Files.notExists(run.resolve(LearningCurve.FILE)));
  }
}
