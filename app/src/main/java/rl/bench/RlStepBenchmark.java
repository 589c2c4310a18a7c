package rl.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import rl.core.config.LoraConfig;
import rl.core.config.ModelConfig;
import rl.core.config.ObjectiveConfig;
import rl.core.config.OptimizerConfig;
import rl.core.config.TrainingConfig;
import rl.core.lora.LoraAdapter;
import rl.core.messages.AdapterUpdate;
import rl.core.messages.Completion;
import rl.core.messages.RolloutGroup;
import rl.core.messages.SampleRequest;
import rl.core.messages.SamplingParams;
import rl.core.messages.ScoredGroup;
import rl.core.model.BenchmarkShapes;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Backends;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;
import rl.learner.Learner;
import rl.sampler.GenerationEngine;

/**
 * One whole RL step on one device, timed by phase, without the actors and the event bus in between:
 * the engine samples G completions for each prompt (a sampler model that shares the learner's base
 * weights, with its own adapter copy), a verifiable reward scores them (here: the share of a
 * completion's tokens in the lower half of the vocabulary, which random weights cannot learn but
 * which costs what a cheap checker costs), the learner takes its step, and the adapter goes to the
 * engine. Prints one line per step, the mean of the steps after the first, and the adapter sync
 * timed alone over repeats. Run: {@code java -cp ... rl.bench.RlStepBenchmark SHAPE PROMPTS G
 * PROMPT_TOKENS NEW_TOKENS MICRO_BATCH STEPS} ({@code -Drl.backend=cuda} for the GPU).
 */
public final class RlStepBenchmark {
  private RlStepBenchmark() {}

  /**
   * Returns once the backend has finished the work queued so far: a device backend runs kernels
   * asynchronously, and a one-value download waits for them (same stream).
   */
  private static void waitForDevice(Ops ops, Decoder model) {
    Tensor b = model.linears().get(0).loraB().value();
    ops.download(ops.rows(b, 0, 1));
  }

  public static void main(String[] args) {
    String shape = args[0];
    int prompts = Integer.parseInt(args[1]);
    int group = Integer.parseInt(args[2]);
    int promptTokens = Integer.parseInt(args[3]);
    int newTokens = Integer.parseInt(args[4]);
    int microBatch = Integer.parseInt(args[5]);
    int steps = Integer.parseInt(args[6]);
    HfModelConfig config = BenchmarkShapes.of(shape);
    Ops ops = Backends.create(ModelConfig.Backend.AUTO, System.out::println);
    Decoder model = Decoder.random(config, ops, 1);
    LoraAdapter adapter = LoraAdapter.create(model, LoraConfig.DEFAULTS, 1);
    Learner learner =
        new Learner(
            model,
            adapter,
            LoraConfig.DEFAULTS,
            ObjectiveConfig.DEFAULTS,
            OptimizerConfig.DEFAULTS,
            new TrainingConfig(steps + 1, group, prompts, 1, 0, 0, microBatch, 0, false),
            1.0,
            newTokens);
    // Colocated, as `rl train` runs: adapter syncs are device snapshots copied device to device.
    learner.syncOnDevice(true);
    Decoder samplerModel = model.sharingBaseWeights();
    LoraAdapter.create(samplerModel, LoraConfig.DEFAULTS, 1);
    GenerationEngine engine =
        new GenerationEngine(
            samplerModel,
            prompts * group,
            promptTokens + newTokens,
            prompts * promptTokens,
            new int[0],
            null);
    Random random = new Random(2);
    int vocab = config.vocabSize();
    double[] sums = new double[5];
    for (int step = 0; step < steps; step++) {
      long t0 = System.nanoTime();
      List<SampleRequest> requests = new ArrayList<>();
      for (int p = 0; p < prompts; p++) {
        int[] prompt = random.ints(promptTokens, 0, vocab).toArray();
        requests.add(
            new SampleRequest(
                "s" + step + "p" + p,
                prompt,
                group,
                new SamplingParams(1.0, 1, 0, 0, newTokens, List.of(), random.nextLong())));
      }
      List<RolloutGroup> rollouts = new ArrayList<>();
      engine.submitAll(requests, rollouts::add);
      engine.runUntilIdle();
      long t1 = System.nanoTime();
      List<ScoredGroup> scored = new ArrayList<>();
      for (RolloutGroup g : rollouts) {
        double[] rewards = new double[g.completions().size()];
        for (int i = 0; i < rewards.length; i++) {
          Completion c = g.completions().get(i);
          int low = 0;
          for (int token : c.tokens()) {
            low += token < vocab / 2 ? 1 : 0;
          }
          rewards[i] = (double) low / Math.max(1, c.tokens().length);
        }
        scored.add(new ScoredGroup(g, rewards));
      }
      long t2 = System.nanoTime();
      learner.rlStep(scored, engine.version());
      waitForDevice(ops, model); // the step's queued device work is learning time
      long t3 = System.nanoTime();
      AdapterUpdate update = learner.adapterUpdate(step + 1);
      engine.updateAdapter(update);
      engine.step(); // idle: applies the update and nothing else
      waitForDevice(ops, samplerModel); // until the sampler's copy has landed
      long t4 = System.nanoTime();
      double[] ms = {(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6};
      double total = (t4 - t0) / 1e6;
      System.out.printf(
          Locale.ROOT,
          "%s step %d: %.0f ms = sampling %.0f + scoring %.1f + learning %.0f + sync %.2f ms"
              + " (%d sequences x %d new tokens, %d tensors synced)%n",
          shape,
          step + 1,
          total,
          ms[0],
          ms[1],
          ms[2],
          ms[3],
          prompts * group,
          newTokens,
          update.size());
      if (step > 0) {
        for (int i = 0; i < 4; i++) {
          sums[i] += ms[i];
        }
        sums[4] += total;
      }
    }
    int n = Math.max(1, steps - 1);
    System.out.printf(
        Locale.ROOT,
        "%s mean of steps 2..%d: %.0f ms = sampling %.0f + scoring %.1f + learning %.0f + sync %.2f ms%n",
        shape,
        steps,
        sums[4] / n,
        sums[0] / n,
        sums[1] / n,
        sums[2] / n,
        sums[3] / n);
    // The sync alone, repeated: the first repeats run the sync's Java code as a real run does (a
    // sync per RL step leaves it interpreted or lightly compiled), the last ones fully compiled.
    // Each: snapshot, hand-over, the engine's copy, and the wait until that copy has landed.
    double[] syncMs = new double[SYNC_REPEATS];
    double[][] partMs = new double[3][SYNC_REPEATS];
    for (int i = 0; i < SYNC_REPEATS; i++) {
      long t = System.nanoTime();
      AdapterUpdate update = learner.adapterUpdate(steps + 1 + i);
      long snapshot = System.nanoTime();
      engine.updateAdapter(update);
      engine.step();
      long applied = System.nanoTime();
      waitForDevice(ops, samplerModel);
      long done = System.nanoTime();
      syncMs[i] = (done - t) / 1e6;
      partMs[0][i] = (snapshot - t) / 1e6;
      partMs[1][i] = (applied - snapshot) / 1e6;
      partMs[2][i] = (done - applied) / 1e6;
    }
    for (int[] range : new int[][] {{0, FIRST_SYNCS}, {SYNC_REPEATS - LAST_SYNCS, SYNC_REPEATS}}) {
      double[] total = java.util.Arrays.copyOfRange(syncMs, range[0], range[1]);
      System.out.printf(
          Locale.ROOT,
          "%s adapter sync, repeats %d..%d of %d: median %.3f ms, mean %.3f ms, max %.3f ms"
              + " (medians: snapshot %.3f, engine apply %.3f, wait for the device %.3f)%n",
          shape,
          range[0] + 1,
          range[1],
          SYNC_REPEATS,
          median(total),
          java.util.Arrays.stream(total).average().orElse(0),
          java.util.Arrays.stream(total).max().orElse(0),
          median(java.util.Arrays.copyOfRange(partMs[0], range[0], range[1])),
          median(java.util.Arrays.copyOfRange(partMs[1], range[0], range[1])),
          median(java.util.Arrays.copyOfRange(partMs[2], range[0], range[1])));
    }
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static final int SYNC_REPEATS = 2000;

  /** Repeats reported as a real run's syncs (after the RL steps' few). */
  private static final int FIRST_SYNCS = 50;

  /** Repeats reported as the compiled sync's. */
  private static final int LAST_SYNCS = 200;
}
