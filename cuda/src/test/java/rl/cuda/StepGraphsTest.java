package rl.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import rl.core.model.Activations;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.model.KvCache;
import rl.core.model.SequenceBatch;
import rl.core.tensor.Tensor;

/**
 * Decode steps replayed as CUDA graphs give exactly what the same steps give run op by op: the
 * positions, cache rows and layout change every step (the graph's host-int arena), and a weight
 * replaced in the middle (as an adapter sync does) makes the replay fall back and re-record.
 * Skipped without a GPU.
 */
class StepGraphsTest {
  private static final int STEPS = 8;
  private static final int SWAP_AFTER = 4;

  @Test
  void replayedDecodeStepsMatchEagerStepsExactly() {
    StringBuilder why = new StringBuilder();
    Optional<Cuda> cuda = Cuda.open(why);
    assumeTrue(cuda.isPresent(), () -> "GPU test skipped: " + why);
    CudaOps ops = new CudaOps(cuda.get(), Kernels.defaultCacheDir(), "bf16");
    // Qwen2-style (q/k/v biases), 4 query heads over 2 KV heads of size 32
    HfModelConfig config = HfModelConfig.of("qwen2", 128, 256, 2, 4, 2, 300);
    float[][] eager = decode(ops, config, false);
    float[][] replayed = decode(ops, config, true);
    for (int step = 0; step < STEPS; step++) {
      assertArrayEquals(eager[step], replayed[step], "logits of decode step " + step);
    }
    StepGraphs graphs = ops.stepGraphs();
    // step 0 eager (first sight), 1 captured, 2-4 replayed, 5 falls back after the weight swap,
    // 6 captured again, 7 replayed
    assertEquals(2, graphs.captures(), ops.graphStats());
    assertEquals(4, graphs.replays(), ops.graphStats());
    assertEquals(1, graphs.fallbacks(), ops.graphStats());
  }

  private static float[][] decode(CudaOps ops, HfModelConfig config, boolean graphs) {
    Decoder model = Decoder.random(config, ops, 7);
    int vocab = config.vocabSize();
    KvCache cache = new KvCache(ops, config, 3, 64);
    Activations acts = model.newActivations(64, false);
    Tensor logits = ops.zeros(3, vocab);
    int[] slots = {0, 1, 2};
    List<int[]> prompts = List.of(new int[] {5, 6, 7, 8, 9}, new int[] {1, 2}, new int[] {42});
    model.forward(acts, SequenceBatch.withCache(prompts, slots, new int[3], cache), cache);
    int[] past = {5, 2, 1};
    int[] last = {9, 2, 42};
    float[][] out = new float[STEPS][];
    for (int step = 0; step < STEPS; step++) {
      List<int[]> next = new ArrayList<>();
      for (int id : last) {
        next.add(new int[] {id});
      }
      SequenceBatch batch = SequenceBatch.withCache(next, slots, past.clone(), cache);
      Runnable forward =
          () -> {
            Tensor hidden = model.forward(acts, batch, cache);
            ops.logits(logits, hidden, model.head().value(), 1f);
          };
      if (graphs) {
        ops.replayable("decode", forward);
      } else {
        forward.run();
      }
      out[step] = ops.download(logits);
      for (int b = 0; b < 3; b++) {
        int best = 0;
        for (int v = 1; v < vocab; v++) {
          if (out[step][b * vocab + v] > out[step][b * vocab + best]) {
            best = v;
          }
        }
        last[b] = best;
        past[b]++;
      }
      if (step == SWAP_AFTER) {
        // A new tensor for one weight, as a weight sync makes: the recording no longer matches.
        var weight = model.linears().getFirst().weight();
        Tensor old = weight.value();
        float[] values = new float[old.rows() * old.cols()];
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < values.length; i++) {
          values[i] = (float) (random.nextDouble(-0.05, 0.05));
        }
        weight.setValue(ops.uploadWeight(values, old.rows(), old.cols()));
      }
    }
    return out;
  }
}
