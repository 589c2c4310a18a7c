package rl.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import rl.core.config.LoraConfig;
import rl.core.config.ObjectiveConfig;
import rl.core.config.OptimizerConfig;
import rl.core.config.TrainingConfig;
import rl.core.lora.LoraAdapter;
import rl.core.messages.AdapterUpdate;
import rl.core.messages.Completion;
import rl.core.messages.FinishReason;
import rl.core.messages.RolloutGroup;
import rl.core.messages.ScoredGroup;
import rl.core.model.Activations;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.model.Parameter;
import rl.core.safetensors.SafetensorsStore;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;

class LearnerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Path fixtures() {
    String property = System.getProperty("rl.fixtures");
    if (property != null && !property.isBlank()) {
      return Path.of(property);
    }
    return Path.of(System.getProperty("rl.repo", ".."), "core/src/test/resources/fixtures");
  }

  static int[] ints(JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }

  static TrainingConfig training(int microBatchTokens, int steps) {
    return new TrainingConfig(steps, 4, 2, 1, 0, 0, microBatchTokens, 0, false);
  }

  static ObjectiveConfig objective(
      ObjectiveConfig.Loss loss,
      ObjectiveConfig.Aggregation aggregation,
      double clip,
      double cap,
      double kl) {
    return new ObjectiveConfig(loss, aggregation, clip, clip, cap, false, kl);
  }

  @TestFactory
  Stream<DynamicTest> fixtureLossAndGradientsThroughTheLearner() throws IOException {
    List<Path> dirs;
    try (Stream<Path> list = Files.list(fixtures().resolve("models"))) {
      dirs = list.filter(d -> Files.exists(d.resolve("fixture.json"))).sorted().toList();
    }
    return dirs.stream()
        .map(
            dir ->
                DynamicTest.dynamicTest(
                    dir.getFileName().toString(),
                    () -> {
                      JsonNode f = JSON.readTree(dir.resolve("fixture.json").toFile());
                      Decoder model = Decoder.load(dir.resolve("model"), new Nd4jOps());
                      LoraAdapter adapter = LoraAdapter.load(dir.resolve("adapter"), model);
                      // A small micro-batch budget: gradients must not depend on it.
                      Learner learner =
                          new Learner(
                              model,
                              adapter,
                              LoraConfig.DEFAULTS,
                              ObjectiveConfig.DEFAULTS,
                              OptimizerConfig.DEFAULTS,
                              training(40, 1),
                              1.0,
                              16);
                      List<TrainingSequence> sequences = new ArrayList<>();
                      for (int s = 0; s < f.get("sequences").size(); s++) {
                        JsonNode lps = f.get("sampler_logprobs_completion").get(s);
                        float[] sampler = new float[lps.size()];
                        for (int j = 0; j < sampler.length; j++) {
                          sampler[j] = (float) lps.get(j).asDouble();
                        }
                        sequences.add(
                            new TrainingSequence(
                                ints(f.get("sequences").get(s)),
                                f.get("prompt_lengths").get(s).asInt(),
                                sampler,
                                f.get("advantages").get(s).asDouble()));
                      }
                      double loss = learner.lossAndGradients(sequences, 2, false);
                      double expected = f.get("loss").asDouble();
                      assertEquals(expected, loss, Math.abs(expected) * 1e-5, "loss");
                      Ops ops = model.ops();
                      try (SafetensorsStore grads =
                          SafetensorsStore.openFile(dir.resolve(f.get("grads_file").asText()))) {
                        for (Parameter p : adapter.parameters()) {
                          float[] ref = grads.readFloats(p.name());
                          float[] got = ops.download(p.grad(ops));
                          double diff = 0;
                          double norm = 0;
                          for (int i = 0; i < ref.length; i++) {
                            diff += Math.pow(got[i] - ref[i], 2);
                            norm += Math.pow(ref[i], 2);
                          }
                          assertTrue(
                              Math.sqrt(diff / norm) <= 1e-3,
                              p.name() + " relative error " + Math.sqrt(diff / norm));
                        }
                      }
                    }));
  }

  // ---- finite differences on a small random model ----

  private static final HfModelConfig SMALL = HfModelConfig.of("qwen2", 16, 24, 2, 4, 2, 13);

  private static final List<int[]> SEQS =
      List.of(
          new int[] {1, 5, 3, 9, 2, 7},
          new int[] {4, 4, 7, 1},
          new int[] {10, 0, 6, 8, 3, 2, 1, 5});
  private static final int[] PROMPTS = {2, 1, 3};

  /** Offsets mode: half the tokens at ratio ≈ 1 (±1%), half at e^±0.7, far from cap and clip. */
  private static final double KINKED = -1;

  static Stream<Arguments> objectives() {
    var A = ObjectiveConfig.Aggregation.class;
    return Stream.of(
        Arguments.of(
            "importance_sampling token-mean",
            objective(
                ObjectiveConfig.Loss.IMPORTANCE_SAMPLING,
                ObjectiveConfig.Aggregation.TOKEN_MEAN,
                0.2,
                0,
                0),
            0.3),
        Arguments.of(
            "importance_sampling sum",
            objective(
                ObjectiveConfig.Loss.IMPORTANCE_SAMPLING,
                ObjectiveConfig.Aggregation.SUM,
                0.2,
                0,
                0),
            0.3),
        Arguments.of(
            "importance_sampling seq-mean",
            objective(
                ObjectiveConfig.Loss.IMPORTANCE_SAMPLING,
                ObjectiveConfig.Aggregation.SEQ_MEAN,
                0.2,
                0,
                0),
            0.3),
        Arguments.of(
            "importance_sampling constant",
            objective(
                ObjectiveConfig.Loss.IMPORTANCE_SAMPLING,
                ObjectiveConfig.Aggregation.CONSTANT,
                0.2,
                0,
                0),
            0.3),
        // Ratios kept away from the cap and the clip edges (KINKED offsets): a finite difference
        // across a kink measures neither side's derivative.
        Arguments.of(
            "capped importance_sampling",
            objective(
                ObjectiveConfig.Loss.IMPORTANCE_SAMPLING,
                ObjectiveConfig.Aggregation.TOKEN_MEAN,
                0.2,
                1.1,
                0),
            KINKED),
        Arguments.of(
            "ppo",
            objective(ObjectiveConfig.Loss.PPO, ObjectiveConfig.Aggregation.TOKEN_MEAN, 0.1, 0, 0),
            KINKED),
        // Every ratio far outside a tiny clip range: the stop-gradient weight is a constant.
        Arguments.of(
            "cispo",
            objective(
                ObjectiveConfig.Loss.CISPO, ObjectiveConfig.Aggregation.TOKEN_MEAN, 1e-3, 0, 0),
            1.0),
        Arguments.of(
            "importance_sampling + KL",
            objective(
                ObjectiveConfig.Loss.IMPORTANCE_SAMPLING,
                ObjectiveConfig.Aggregation.TOKEN_MEAN,
                0.2,
                0,
                0.5),
            0.3));
  }

  /** Sequences whose sampler logprobs are the current learner's plus an offset per token. */
  private static List<TrainingSequence> batch(Decoder model, double offsetScale) {
    Activations acts = model.newActivations(32, false);
    float[][] lp = model.sequenceLogprobs(acts, SEQS, 1f);
    Random random = new Random(3);
    double[] advantages = {0.75, -0.5, -0.25};
    List<TrainingSequence> out = new ArrayList<>();
    for (int s = 0; s < SEQS.size(); s++) {
      int completion = SEQS.get(s).length - PROMPTS[s];
      float[] sampler = new float[completion];
      for (int j = 0; j < completion; j++) {
        double offset;
        if (offsetScale == KINKED) {
          offset = j % 2 == 0 ? (random.nextDouble() - 0.5) * 0.02 : (s % 2 == 0 ? 0.7 : -0.7);
        } else if (offsetScale == 1.0) {
          offset = 1.0;
        } else {
          offset = (random.nextDouble() - 0.5) * offsetScale;
        }
        sampler[j] = (float) (lp[s][PROMPTS[s] - 1 + j] - offset);
      }
      out.add(new TrainingSequence(SEQS.get(s), PROMPTS[s], sampler, advantages[s]));
    }
    return out;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("objectives")
  void objectiveGradientsMatchFiniteDifferences(
      String label, ObjectiveConfig objective, double offsets) {
    Ops ops = new Nd4jOps();
    Decoder model = Decoder.random(SMALL, ops, 3, 0.3);
    LoraAdapter adapter =
        LoraAdapter.create(
            model,
            new LoraConfig(1, 4, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false),
            5);
    Random random = new Random(13);
    for (Parameter p : adapter.parameters()) {
      float[] v = new float[(int) p.value().size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (random.nextGaussian() * 0.2);
      }
      p.setValue(ops.upload(v, p.value().rows(), p.value().cols()));
    }
    Learner learner =
        new Learner(
            model,
            adapter,
            LoraConfig.DEFAULTS,
            objective,
            OptimizerConfig.DEFAULTS,
            training(12, 1),
            1.0,
            8);
    List<TrainingSequence> batch = batch(model, offsets);
    learner.lossAndGradients(batch, 1, false);
    // Every analytic gradient is read now: each finite-difference evaluation recomputes them.
    Map<Parameter, float[]> analytic = new java.util.IdentityHashMap<>();
    for (Parameter p : adapter.parameters()) {
      analytic.put(p, ops.download(p.grad(ops)));
    }
    List<String> failures = new ArrayList<>();
    for (Parameter p : adapter.parameters().subList(0, 8)) {
      float[] grad = analytic.get(p);
      float[] value = ops.download(p.value());
      for (int trial = 0; trial < 2; trial++) {
        int i = random.nextInt(value.length);
        // Central differences at two step sizes, combined by Richardson extrapolation: the loss
        // is strongly curved (exponentiated ratios through LoRA scale 4).
        double coarse = difference(learner, batch, p, value, i, 2e-3);
        double fine = difference(learner, batch, p, value, i, 1e-3);
        double numeric = (4 * fine - coarse) / 3;
        if (Math.abs(numeric - grad[i])
            > 3e-2 * Math.max(Math.abs(numeric), Math.abs(grad[i])) + 2e-4) {
          failures.add(p.name() + "[" + i + "] analytic " + grad[i] + " numeric " + numeric);
        }
      }
    }
    assertTrue(failures.isEmpty(), label + ": " + failures);
  }

  private static double difference(
      Learner learner,
      List<TrainingSequence> batch,
      Parameter p,
      float[] value,
      int i,
      double eps) {
    Ops ops = learner.model().ops();
    float original = value[i];
    value[i] = (float) (original + eps);
    p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
    double plus = learner.lossAndGradients(batch, 1, false);
    value[i] = (float) (original - eps);
    p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
    double minus = learner.lossAndGradients(batch, 1, false);
    value[i] = original;
    p.setValue(ops.upload(value, p.value().rows(), p.value().cols()));
    return (plus - minus) / (2 * eps);
  }

  // ---- training behaviour ----

  private static ScoredGroup group(
      String id, int[] prompt, List<int[]> completions, double[] rewards, Decoder model) {
    List<Completion> cs = new ArrayList<>();
    Activations acts = model.newActivations(64, false);
    for (int[] c : completions) {
      int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + c.length);
      System.arraycopy(c, 0, seq, prompt.length, c.length);
      float[] lp = model.sequenceLogprobs(acts, List.of(seq), 1f)[0];
      cs.add(
          new Completion(
              c,
              java.util.Arrays.copyOfRange(lp, prompt.length - 1, lp.length),
              new int[c.length],
              FinishReason.STOP));
    }
    return new ScoredGroup(new RolloutGroup(id, prompt, cs), rewards);
  }

  private static float completionLogprob(Decoder model, int[] prompt, int[] completion) {
    int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + completion.length);
    System.arraycopy(completion, 0, seq, prompt.length, completion.length);
    float[] lp = model.sequenceLogprobs(model.newActivations(32, false), List.of(seq), 1f)[0];
    float sum = 0;
    for (int j = prompt.length - 1; j < lp.length; j++) {
      sum += lp[j];
    }
    return sum;
  }

  @Test
  void twentyStepsRaiseRewardedCompletionsAndLowerTheOthers() {
    Decoder model = Decoder.random(SMALL, new Nd4jOps(), 7, 0.3);
    LoraAdapter adapter =
        LoraAdapter.create(
            model,
            new LoraConfig(1, 16, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false),
            1);
    OptimizerConfig opt =
        new OptimizerConfig(
            5e-3, 1.0, 0.9, 0.999, 1e-8, 0, 1.0, OptimizerConfig.Schedule.CONSTANT, 0);
    Learner learner =
        new Learner(
            model,
            adapter,
            LoraConfig.DEFAULTS,
            ObjectiveConfig.DEFAULTS,
            opt,
            training(64, 20),
            1.0,
            8);
    int[] prompt = {1, 2, 3};
    List<int[]> completions =
        List.of(
            new int[] {4, 5, 6}, new int[] {7, 8, 9}, new int[] {10, 11, 12}, new int[] {4, 8, 12});
    double[] rewards = {1, 0, 0, 1};
    float[] before = new float[4];
    for (int i = 0; i < 4; i++) {
      before[i] = completionLogprob(model, prompt, completions.get(i));
    }
    for (int step = 0; step < 20; step++) {
      // Fixed batch: sampler logprobs are re-recorded under the current policy (on-policy).
      StepMetrics m =
          learner.rlStep(List.of(group("g", prompt, completions, rewards, model)), step);
      assertEquals(step + 1, m.step());
      assertEquals(1.0, m.importanceWeightMean(), 1e-4);
    }
    for (int i = 0; i < 4; i++) {
      float after = completionLogprob(model, prompt, completions.get(i));
      if (rewards[i] > 0) {
        assertTrue(
            after > before[i] + 0.5,
            "rewarded completion " + i + ": " + before[i] + " -> " + after);
      } else {
        assertTrue(
            after < before[i] - 0.5,
            "unrewarded completion " + i + ": " + before[i] + " -> " + after);
      }
    }
  }

  @Test
  void deviceSyncHandsOutASnapshotThatLaterStepsLeaveAlone() {
    Decoder model = Decoder.random(SMALL, new Nd4jOps(), 7, 0.3);
    LoraAdapter adapter =
        LoraAdapter.create(
            model,
            new LoraConfig(1, 16, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false),
            1);
    OptimizerConfig opt =
        new OptimizerConfig(
            5e-3, 1.0, 0.9, 0.999, 1e-8, 0, 1.0, OptimizerConfig.Schedule.CONSTANT, 0);
    Learner learner =
        new Learner(
            model,
            adapter,
            LoraConfig.DEFAULTS,
            ObjectiveConfig.DEFAULTS,
            opt,
            training(64, 3),
            1.0,
            8);
    int[] prompt = {1, 2, 3};
    List<int[]> completions = List.of(new int[] {4, 5, 6}, new int[] {7, 8, 9});
    double[] rewards = {1, 0};
    learner.rlStep(List.of(group("g", prompt, completions, rewards, model)), 0);
    AdapterUpdate byValue = learner.adapterUpdate(1);
    learner.syncOnDevice(true);
    AdapterUpdate snapshot = learner.adapterUpdate(1);
    assertTrue(snapshot.tensors().isEmpty());
    assertEquals(byValue.tensors().keySet(), snapshot.onDevice().keySet());
    learner.rlStep(List.of(group("g", prompt, completions, rewards, model)), 1);
    Ops ops = model.ops();
    boolean moved = false;
    for (Parameter p : adapter.parameters()) {
      float[] atSync = byValue.tensors().get(p.name()).data();
      assertArrayEquals(atSync, ops.download(snapshot.onDevice().get(p.name())), p.name());
      moved |= !java.util.Arrays.equals(atSync, ops.download(p.value()));
    }
    assertTrue(moved, "the second step changed the adapter, not the snapshot");
    // Once the sampler has issued its copy, the next snapshot reuses that memory.
    snapshot.whenCopied().run();
    AdapterUpdate next = learner.adapterUpdate(2);
    for (Parameter p : adapter.parameters()) {
      assertSame(snapshot.onDevice().get(p.name()), next.onDevice().get(p.name()), p.name());
      assertArrayEquals(ops.download(p.value()), ops.download(next.onDevice().get(p.name())));
    }
    AdapterUpdate fresh = learner.adapterUpdate(3); // next not copied yet: new memory
    String name = adapter.parameters().get(0).name();
    assertTrue(fresh.onDevice().get(name) != next.onDevice().get(name));
    // A parameter whose value was replaced (ReLoRA restarts A so) gets a snapshot made for the new
    // value, not a freed one whose planned copies read the old.
    next.whenCopied().run();
    Parameter first = adapter.parameters().get(0);
    float[] replaced = new float[(int) first.value().size()];
    java.util.Arrays.fill(replaced, 0.25f);
    first.setValue(ops.upload(replaced, first.value().rows(), first.value().cols()));
    AdapterUpdate afterReplace = learner.adapterUpdate(4);
    assertArrayEquals(replaced, ops.download(afterReplace.onDevice().get(first.name())));
  }

  @Test
  void equalRewardGroupsAreSkippedAndCounted() {
    Decoder model = Decoder.random(SMALL, new Nd4jOps(), 7, 0.3);
    LoraAdapter adapter = LoraAdapter.create(model, LoraConfig.DEFAULTS, 1);
    Learner learner =
        new Learner(
            model,
            adapter,
            LoraConfig.DEFAULTS,
            ObjectiveConfig.DEFAULTS,
            OptimizerConfig.DEFAULTS,
            training(64, 5),
            1.0,
            8);
    ScoredGroup flat =
        group(
            "flat",
            new int[] {1, 2},
            List.of(new int[] {3}, new int[] {4}),
            new double[] {1, 1},
            model);
    ScoredGroup useful =
        group(
            "useful",
            new int[] {1, 2},
            List.of(new int[] {3}, new int[] {4}),
            new double[] {1, 0},
            model);
    assertEquals(2, Learner.sequences(List.of(flat, useful), false).size());
    StepMetrics m = learner.rlStep(List.of(flat, useful), 0);
    assertEquals(0.5, m.zeroAdvantageFraction());
    assertEquals(2, m.tokens());
  }

  // ---- checkpoints ----

  private static List<List<ScoredGroup>> batches(Decoder model, int count) {
    Random random = new Random(99);
    List<List<ScoredGroup>> out = new ArrayList<>();
    for (int b = 0; b < count; b++) {
      int[] prompt = {random.nextInt(13), random.nextInt(13)};
      List<int[]> completions = new ArrayList<>();
      double[] rewards = new double[3];
      for (int i = 0; i < 3; i++) {
        completions.add(new int[] {random.nextInt(13), random.nextInt(13), random.nextInt(13)});
        rewards[i] = random.nextInt(2);
      }
      rewards[0] = 1 - rewards[1];
      out.add(List.of(group("b" + b, prompt, completions, rewards, model)));
    }
    return out;
  }

  private static Learner newLearner(Decoder model, LoraAdapter adapter) {
    OptimizerConfig opt =
        new OptimizerConfig(
            1e-2, 4.0, 0.9, 0.999, 1e-8, 0.01, 0.5, OptimizerConfig.Schedule.COSINE, 2);
    return new Learner(
        model,
        adapter,
        LoraConfig.DEFAULTS,
        ObjectiveConfig.DEFAULTS,
        opt,
        training(8, 10),
        1.0,
        8);
  }

  @Test
  void resumeFromACheckpointIsBitExact(@TempDir Path dir) throws IOException {
    Decoder modelA = Decoder.random(SMALL, new Nd4jOps(), 11, 0.3);
    LoraAdapter adapterA = LoraAdapter.create(modelA, LoraConfig.DEFAULTS, 2);
    List<List<ScoredGroup>> data = batches(modelA, 10);
    Learner straight = newLearner(modelA, adapterA);
    for (int i = 0; i < 5; i++) {
      straight.rlStep(data.get(i), i);
    }
    Path checkpoint = Checkpoints.save(straight, dir, Map.of("note", "halfway"));
    assertEquals("step-5", checkpoint.getFileName().toString());
    for (int i = 5; i < 10; i++) {
      straight.rlStep(data.get(i), i);
    }

    Decoder modelB = Decoder.random(SMALL, new Nd4jOps(), 11, 0.3);
    LoraAdapter adapterB = LoraAdapter.create(modelB, LoraConfig.DEFAULTS, 77);
    Learner resumed = newLearner(modelB, adapterB);
    JsonNode run = Checkpoints.restore(resumed, Checkpoints.latest(dir).orElseThrow());
    assertEquals("halfway", run.path("note").asText());
    assertEquals(5, resumed.step());
    for (int i = 5; i < 10; i++) {
      resumed.rlStep(data.get(i), i);
    }
    Ops ops = modelA.ops();
    for (int p = 0; p < adapterA.parameters().size(); p++) {
      assertArrayEquals(
          ops.download(adapterA.parameters().get(p).value()),
          ops.download(adapterB.parameters().get(p).value()),
          adapterA.parameters().get(p).name());
    }
  }

  @Test
  void aCrashWhileWritingLeavesThePreviousCheckpoint(@TempDir Path dir) throws IOException {
    Decoder model = Decoder.random(SMALL, new Nd4jOps(), 11, 0.3);
    LoraAdapter adapter = LoraAdapter.create(model, LoraConfig.DEFAULTS, 2);
    Learner learner = newLearner(model, adapter);
    List<List<ScoredGroup>> data = batches(model, 2);
    learner.rlStep(data.get(0), 0);
    Checkpoints.save(learner, dir, Map.of());
    learner.rlStep(data.get(1), 1);
    Checkpoints.afterFileWritten =
        path -> {
          if (path.getFileName().toString().equals(Checkpoints.OPTIMIZER_FILE)) {
            throw new IllegalStateException("simulated crash");
          }
        };
    try {
      assertThrows(IllegalStateException.class, () -> Checkpoints.save(learner, dir, Map.of()));
    } finally {
      Checkpoints.afterFileWritten = path -> {};
    }
    assertEquals("step-1", Checkpoints.latest(dir).orElseThrow().getFileName().toString());
    assertFalse(Files.exists(dir.resolve("step-2")));
    Decoder other = Decoder.random(SMALL, new Nd4jOps(), 11, 0.3);
    Learner restored = newLearner(other, LoraAdapter.create(other, LoraConfig.DEFAULTS, 3));
    Checkpoints.restore(restored, Checkpoints.latest(dir).orElseThrow());
    assertEquals(1, restored.step());
  }

  @Test
  void gradientSvdInitSetsAToTheTopSingularDirection() {
    Decoder model = Decoder.random(SMALL, new Nd4jOps(), 7, 0.3);
    LoraAdapter adapter = LoraAdapter.create(model, LoraConfig.DEFAULTS, 1);
    LoraConfig svd =
        new LoraConfig(1, 32, LoraConfig.ALL_TARGETS, LoraConfig.Init.GRADIENT_SVD, false);
    Learner learner =
        new Learner(
            model,
            adapter,
            svd,
            ObjectiveConfig.DEFAULTS,
            OptimizerConfig.DEFAULTS,
            training(64, 3),
            1.0,
            8);
    List<ScoredGroup> data = batches(model, 1).getFirst();
    learner.rlStep(data, 0);
    Ops ops = model.ops();
    float[] a = ops.download(adapter.parameters().getFirst().value());
    double norm = 0;
    for (float x : a) {
      norm += x * x;
    }
    // Unit norm before one small AdamW step.
    assertEquals(1.0, Math.sqrt(norm), 0.05);
  }

  @Test
  void powerIterationFindsTheTopRightSingularVector() {
    // G = 3·u1 v1ᵀ + 1·u2 v2ᵀ with orthonormal v1 = e0, v2 = e1 in R^3.
    float[] g = {3, 0, 0, 0, 1, 0};
    double[][] v = GradientSvdInit.topRightSingularVectors(g, 2, 3, 1, new Random(1));
    assertEquals(1.0, Math.abs(v[0][0]), 1e-9);
  }
}
