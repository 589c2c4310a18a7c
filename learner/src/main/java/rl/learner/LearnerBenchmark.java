package rl.learner;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.bytedeco.javacpp.Pointer;
import rl.core.config.LoraConfig;
import rl.core.config.ModelConfig;
import rl.core.config.ObjectiveConfig;
import rl.core.config.OptimizerConfig;
import rl.core.config.TrainingConfig;
import rl.core.lora.LoraAdapter;
import rl.core.model.BenchmarkShapes;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Backends;
import rl.core.tensor.Ops;

/**
 * Learner throughput: forward + backward + AdamW with rank-1 LoRA on all seven projections, for S
 * sequences of T tokens (half prompt, half completion), micro-batched at M tokens. Prints tokens/s
 * and peak memory. Run: {@code java -cp ... rl.learner.LearnerBenchmark SHAPE S T M STEPS}; SHAPE
 * {@code small}, {@code qwen2.5-0.5b} or {@code llama-3.2-1b}; {@code -Drl.backend=cuda} for the
 * GPU.
 */
public final class LearnerBenchmark {
  private LearnerBenchmark() {}

  public static void main(String[] args) {
    HfModelConfig config = BenchmarkShapes.of(args[0]);
    int sequences = Integer.parseInt(args[1]);
    int length = Integer.parseInt(args[2]);
    int microBatch = Integer.parseInt(args[3]);
    int steps = Integer.parseInt(args[4]);
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
            new TrainingConfig(steps + 1, 8, 2, 1, 0, 0, microBatch, 0, false),
            1.0,
            length / 2);
    Random random = new Random(3);
    List<TrainingSequence> batch = new ArrayList<>();
    for (int s = 0; s < sequences; s++) {
      int[] tokens = random.ints(length, 0, config.vocabSize()).toArray();
      float[] sampler = new float[length / 2];
      java.util.Arrays.fill(sampler, (float) -Math.log(config.vocabSize()));
      batch.add(
          new TrainingSequence(tokens, length - length / 2, sampler, s % 2 == 0 ? 0.5 : -0.5));
    }
    long peakNative = 0;
    double best = 0;
    for (int step = 0; step <= steps; step++) {
      long start = System.nanoTime();
      // Cross-entropy on the completion halves: the same forward, backward and AdamW work as
      // an RL step, without needing sampled groups.
      learner.sftStep(batch);
      double seconds = (System.nanoTime() - start) / 1e9;
      peakNative = Math.max(peakNative, Pointer.physicalBytes());
      if (step > 0) {
        best = Math.max(best, (double) sequences * length / seconds);
        System.out.printf(Locale.ROOT, "step %d: %.1f s%n", step, seconds);
      }
    }
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    System.out.printf(
        Locale.ROOT,
        "%s %dx%d (micro-batch %d tokens): %.0f tokens/s forward+backward, rank-1 LoRA on 7 projections; peak process RSS %.2f GiB, heap in use %.2f GiB%n",
        args[0],
        sequences,
        length,
        microBatch,
        best,
        peakNative / (double) (1L << 30),
        heap / (double) (1L << 30));
  }
}
