package rl.sampler;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import rl.core.config.LoraConfig;
import rl.core.config.ModelConfig;
import rl.core.lora.LoraAdapter;
import rl.core.messages.SampleRequest;
import rl.core.messages.SamplingParams;
import rl.core.model.BenchmarkShapes;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Backends;
import rl.core.tensor.Ops;

/**
 * Generation throughput of the engine on random models: G completions per prompt, C concurrent
 * sequences, P-token prompts, N new tokens each (no EOS, so every sequence runs to N). Prints one
 * line per concurrency, with the decode host share: the part of decode time outside the backend's
 * forward and sampling calls (on a GPU the device idles then, so it is a lower bound of the
 * device's idle time). Run: {@code java -cp ... rl.sampler.SamplerBenchmark SHAPE P N G C...} with
 * SHAPE {@code small}, {@code qwen2.5-0.5b} or {@code llama-3.2-1b}. The backend is ND4J unless
 * {@code -Drl.backend=cuda} (or {@code auto} with a GPU present). Each concurrency runs once
 * untimed, then {@code rl.bench.repeats} timed runs on the same engine; the median is reported.
 */
public final class SamplerBenchmark {
  private SamplerBenchmark() {}

  /** Timed runs per concurrency ({@code -Drl.bench.repeats}, default 3); the median is reported. */
  private static final int REPEATS = Math.max(1, Integer.getInteger("rl.bench.repeats", 3));

  /** Whether an untimed run goes first ({@code -Drl.bench.warmup}, default true). */
  private static final boolean WARMUP =
      Boolean.parseBoolean(System.getProperty("rl.bench.warmup", "true"));

  public static void main(String[] args) {
    HfModelConfig config = BenchmarkShapes.of(args[0]);
    int promptTokens = Integer.parseInt(args[1]);
    int newTokens = Integer.parseInt(args[2]);
    int group = Integer.parseInt(args[3]);
    Ops ops = Backends.create(ModelConfig.Backend.AUTO, System.out::println);
    Decoder model = Decoder.random(config, ops, 1);
    LoraAdapter.create(model, LoraConfig.DEFAULTS, 1);
    Random random = new Random(2);
    for (int a = 4; a < args.length; a++) {
      int concurrent = Integer.parseInt(args[a]);
      int g = Math.min(group, concurrent);
      int prompts = Math.max(1, concurrent / g);
      GenerationEngine engine =
          new GenerationEngine(
              model,
              prompts * g,
              promptTokens + newTokens,
              prompts * promptTokens,
              new int[0],
              null);
      // An untimed run first (kernel compiles, graph captures, JIT), then the timed ones.
      List<Double> rates = new ArrayList<>();
      for (int run = WARMUP ? -1 : 0; run < REPEATS; run++) {
        List<SampleRequest> requests = new ArrayList<>();
        for (int p = 0; p < prompts; p++) {
          int[] prompt = random.ints(promptTokens, 0, config.vocabSize()).toArray();
          requests.add(
              new SampleRequest(
                  "r" + run + "p" + p,
                  prompt,
                  g,
                  new SamplingParams(1.0, 1, 0, 0, newTokens, List.of(), p)));
        }
        long start = System.nanoTime();
        requests.forEach(r -> engine.submit(r, group1 -> {}));
        engine.runUntilIdle();
        double seconds = (System.nanoTime() - start) / 1e9;
        if (run < 0) {
          continue;
        }
        double rate = (double) prompts * g * newTokens / seconds;
        rates.add(rate);
        EngineStats.Snapshot s = engine.stats().snapshot();
        System.out.printf(
            Locale.ROOT,
            "%s G=%d concurrent=%d prompt=%d new=%d run %d: %.1f generated tokens/s (%.2f s, %d tokens, prefill %d tokens), batch occupancy %.0f%%, decode host share %.1f%% (engine totals so far)%n",
            args[0],
            g,
            prompts * g,
            promptTokens,
            newTokens,
            run + 1,
            rate,
            seconds,
            (long) prompts * g * newTokens,
            s.prefillTokens(),
            100 * s.batchOccupancy(),
            100 * s.decodeHostShare());
      }
      List<Double> sorted = rates.stream().sorted().toList();
      System.out.printf(
          Locale.ROOT,
          "%s G=%d concurrent=%d: median %.1f generated tokens/s over %d timed runs (min %.1f, max %.1f)%s%n",
          args[0],
          g,
          prompts * g,
          (sorted.get((sorted.size() - 1) / 2) + sorted.get(sorted.size() / 2)) / 2,
          sorted.size(),
          sorted.getFirst(),
          sorted.getLast(),
          WARMUP ? ", after one untimed run" : "");
    }
  }
}
