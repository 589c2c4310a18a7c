package rl.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import rl.core.config.LoraConfig;
import rl.core.lora.LoraAdapter;
import rl.core.model.Activations;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.model.KvCache;
import rl.core.model.Parameter;
import rl.core.model.SequenceBatch;
import rl.core.progress.Progress;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * Throughput of one model shape with random weights and a rank-1 LoRA adapter on all seven
 * projections, each phase timed with {@link System#nanoTime} after untimed warm-up rounds:
 *
 * <ol>
 *   <li><b>prefill</b>: B prompts through one {@link Decoder#forward} into a KV cache, plus the
 *       logits of each sequence's last row and a host-side argmax; a prefill shorter than a second
 *       is repeated until the repeats add up to one and their mean is reported;
 *   <li><b>decode</b>: then {@code newTokens} steps that feed one token per sequence, compute the B
 *       rows' logits and pick the argmax on the host (every slot busy every step: 100% occupancy);
 *   <li><b>generate</b>: prefill and decode together, new tokens per second, which is how the
 *       PyTorch baseline counts;
 *   <li><b>train</b>: a learner step without the optimizer: {@link Decoder#sequenceLogprobs}, the
 *       importance-sampling loss's gradient on-policy ({@code dlogprob = -A/N}) and {@link
 *       Decoder#backwardFromLogprobs}, in micro-batches of a token budget whose gradients add up to
 *       the whole step's.
 * </ol>
 */
public final class ModelBench {
  /** Decode steps of a warm-up round: enough for the JIT, cheap on the large shape. */
  static final int WARMUP_DECODE_STEPS = 16;

  /**
   * A prefill is timed over repeats until they add up to this, at most {@link
   * #MAX_PREFILL_REPEATS}.
   */
  static final long MIN_PREFILL_NANOS = 1_000_000_000L;

  static final int MAX_PREFILL_REPEATS = 50;

  /**
   * What to measure.
   *
   * @param promptTokens prompt length of the generation phases
   * @param newTokens decode steps
   * @param batches decode batch sizes, each measured separately
   * @param trainSeqs sequences per learner step
   * @param trainLen tokens per learner sequence
   * @param microTokens learner micro-batch token budget (0: the whole step in one pass)
   * @param trainSteps timed learner steps
   * @param warmup untimed rounds before each measurement
   * @param seed weights, adapter, token ids and advantages
   * @param generate run the prefill/decode phases
   * @param train run the learner phase
   * @param profile time every {@link Ops} kernel
   * @param progress show progress of long phases on standard error
   */
  public record Settings(
      int promptTokens,
      int newTokens,
      List<Integer> batches,
      int trainSeqs,
      int trainLen,
      int microTokens,
      int trainSteps,
      int warmup,
      long seed,
      boolean generate,
      boolean train,
      boolean profile,
      boolean progress) {
    public Settings {
      batches = List.copyOf(batches);
    }

    /** Sequences per learner micro-batch. */
    public int microSeqs() {
      return microTokens <= 0 ? trainSeqs : Math.clamp(microTokens / trainLen, 1, trainSeqs);
    }
  }

  /**
   * One measured phase.
   *
   * @param phase prefill, decode, generate or train
   * @param batch sequences per pass
   * @param tokens tokens processed (prefill, train) or generated (decode, generate)
   * @param seconds wall time of the phase
   * @param memory peaks while it ran
   * @param details further numbers, by JSON key
   * @param kernels per-kernel time when profiling, else empty
   */
  public record Result(
      String phase,
      int batch,
      long tokens,
      double seconds,
      MemoryMonitor.Peaks memory,
      Map<String, Object> details,
      List<ProfilingOps.Entry> kernels) {
    public double tokensPerSecond() {
      return tokens / seconds;
    }
  }

  /** Everything measured for one shape. */
  public record Report(
      ModelShape shape,
      Settings settings,
      long parameters,
      long loraParameters,
      double setupSeconds,
      MemoryMonitor.Peaks setupMemory,
      List<Result> results) {}

  private final ModelShape shape;
  private final Settings settings;
  private final PrintWriter log;
  private final MemoryMonitor memory;
  private final Random random;
  private Ops ops;
  private ProfilingOps profiler;
  private Decoder model;
  private LoraAdapter adapter;

  /**
   * @param log where progress lines go (standard error)
   * @param memory the sampler whose peaks each phase reports
   */
  public ModelBench(ModelShape shape, Settings settings, PrintWriter log, MemoryMonitor memory) {
    this.shape = shape;
    this.settings = settings;
    this.log = log;
    this.memory = memory;
    this.random = new Random(settings.seed());
  }

  /** Builds the model and runs every phase. */
  public Report run() {
    HfModelConfig config = shape.config();
    memory.reset();
    long start = System.nanoTime();
    status("building random weights and the rank-1 adapter");
    Ops base = new Nd4jOps();
    profiler = settings.profile() ? new ProfilingOps(base) : null;
    ops = profiler != null ? profiler : base;
    model = Decoder.random(config, ops, settings.seed());
    adapter =
        LoraAdapter.create(
            model,
            new LoraConfig(1, 32, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false),
            settings.seed());
    double setupSeconds = (System.nanoTime() - start) / 1e9;
    MemoryMonitor.Peaks setupMemory = memory.peaks();
    long parameters = count(model.parameters());
    long loraParameters = count(adapter.parameters());
    status(
        String.format(
            "%s parameters and %s LoRA parameters ready in %s s",
            Format.count(parameters), Format.count(loraParameters), Format.seconds(setupSeconds)));

    List<Result> results = new ArrayList<>();
    if (settings.generate()) {
      for (int b : settings.batches()) {
        results.addAll(generation(b));
        releaseMemory();
      }
      addBatchingGains(results);
    }
    if (settings.train()) {
      results.add(train());
      releaseMemory();
    }
    return new Report(
        shape, settings, parameters, loraParameters, setupSeconds, setupMemory, results);
  }

  // ---- generation ----

  /** Prefill, decode and generate results at batch size b. */
  private List<Result> generation(int b) {
    HfModelConfig c = model.config();
    int p = settings.promptTokens();
    int n = settings.newTokens();
    KvCache cache = new KvCache(ops, c, b, p + n);
    Activations acts = model.newActivations(b * p, false);
    Tensor last = ops.zeros(b, c.hiddenSize());
    Tensor logits = ops.zeros(b, c.vocabSize());
    int[] slots = new int[b];
    for (int s = 0; s < b; s++) {
      slots[s] = s;
    }
    List<int[]> prompts = randomSequences(b, p, c.vocabSize());
    for (int w = 0; w < settings.warmup(); w++) {
      status(String.format("B=%d: warm-up round %d of %d", b, w + 1, settings.warmup()));
      int[] first = prefill(acts, cache, prompts, slots, last, logits);
      decode(acts, cache, slots, logits, first, Math.min(n, WARMUP_DECODE_STEPS), null);
    }

    status(String.format("B=%d: prefill of %d tokens", b, b * p));
    startSpan();
    // A short prefill is repeated until the timed span reaches a second, for a steadier mean.
    int repeats = 0;
    long elapsed = 0;
    int[] first;
    do {
      long t0 = System.nanoTime();
      first = prefill(acts, cache, prompts, slots, last, logits);
      elapsed += System.nanoTime() - t0;
      repeats++;
    } while (elapsed < MIN_PREFILL_NANOS && repeats < MAX_PREFILL_REPEATS);
    double prefillSeconds = elapsed / 1e9 / repeats;
    Map<String, Object> prefillDetails = new LinkedHashMap<>();
    prefillDetails.put("prompt_tokens", p);
    prefillDetails.put("repeats", repeats);
    Result prefill = endSpan("prefill", b, (long) repeats * b * p, elapsed / 1e9, prefillDetails);

    startSpan();
    DecodeTimes times;
    try (Progress progress =
        settings.progress() ? Progress.start("decode B=" + b, n, "steps") : null) {
      times = decode(acts, cache, slots, logits, first, n, progress);
    }
    double decodeSeconds = times.total / 1e9;
    double decodeRate = (double) b * n / decodeSeconds;
    Map<String, Object> decodeDetails = new LinkedHashMap<>();
    decodeDetails.put("prompt_tokens", p);
    decodeDetails.put("new_tokens", n);
    decodeDetails.put("steps", n);
    decodeDetails.put("occupancy", 1.0);
    decodeDetails.put("forward_s", times.forward / 1e9);
    decodeDetails.put("logits_s", times.logits / 1e9);
    decodeDetails.put("host_s", times.host / 1e9);
    decodeDetails.put("step_ms", decodeSeconds * 1e3 / n);
    Result decode = endSpan("decode", b, (long) b * n, decodeSeconds, decodeDetails);

    Map<String, Object> generateDetails = new LinkedHashMap<>();
    generateDetails.put("prompt_tokens", p);
    generateDetails.put("new_tokens", n);
    generateDetails.put("prefill_s", prefillSeconds);
    generateDetails.put("decode_s", decodeSeconds);
    Result generate =
        new Result(
            "generate",
            b,
            (long) b * n,
            prefillSeconds + decodeSeconds,
            max(prefill.memory(), decode.memory()),
            generateDetails,
            List.of());
    status(
        String.format(
            "B=%d: prefill %s tokens/s, decode %s tokens/s",
            b, Format.rate(prefill.tokensPerSecond()), Format.rate(decodeRate)));
    return List.of(prefill, decode, generate);
  }

  /** Adds each decode result's speed-up over decoding at B = 1, when B = 1 was measured. */
  private static void addBatchingGains(List<Result> results) {
    Double single = null;
    for (Result r : results) {
      if (r.phase().equals("decode") && r.batch() == 1) {
        single = r.tokensPerSecond();
      }
    }
    if (single == null) {
      return;
    }
    for (Result r : results) {
      if (r.phase().equals("decode")) {
        r.details().put("gain_vs_b1", r.tokensPerSecond() / single);
      }
    }
  }

  /** Prefills the prompts into slots 0..B-1 and returns each sequence's argmax next token. */
  private int[] prefill(
      Activations acts,
      KvCache cache,
      List<int[]> prompts,
      int[] slots,
      Tensor last,
      Tensor logits) {
    int b = prompts.size();
    SequenceBatch batch = SequenceBatch.withCache(prompts, slots, new int[b], cache);
    Tensor hidden = model.forward(acts, batch, cache);
    for (int s = 0; s < b; s++) {
      int row = batch.attention().queryStart()[s] + batch.attention().queryCount()[s] - 1;
      ops.copy(ops.rows(last, s, 1), ops.rows(hidden, row, 1));
    }
    ops.logits(logits, last, model.head().value(), 1f);
    return argmaxRows(ops.download(logits), b, logits.cols());
  }

  /** Nanoseconds of a decode loop: all of it, and its parts. */
  private record DecodeTimes(long total, long forward, long logits, long host) {}

  /** {@code steps} greedy decode steps after a prefill of the cache's slots. */
  private DecodeTimes decode(
      Activations acts,
      KvCache cache,
      int[] slots,
      Tensor logits,
      int[] first,
      int steps,
      Progress progress) {
    int b = slots.length;
    int[] past = new int[b];
    java.util.Arrays.fill(past, settings.promptTokens());
    int[] tokens = first;
    long forward = 0;
    long logitTime = 0;
    long start = System.nanoTime();
    for (int step = 0; step < steps; step++) {
      List<int[]> feed = new ArrayList<>(b);
      for (int s = 0; s < b; s++) {
        feed.add(new int[] {tokens[s]});
      }
      SequenceBatch batch = SequenceBatch.withCache(feed, slots, past, cache);
      long t0 = System.nanoTime();
      Tensor hidden = model.forward(acts, batch, cache); // [B, C]: one row per sequence
      long t1 = System.nanoTime();
      ops.logits(logits, hidden, model.head().value(), 1f);
      long t2 = System.nanoTime();
      tokens = argmaxRows(ops.download(logits), b, logits.cols());
      for (int s = 0; s < b; s++) {
        past[s]++;
      }
      forward += t1 - t0;
      logitTime += t2 - t1;
      if (progress != null) {
        progress.step(1);
      }
    }
    long total = System.nanoTime() - start;
    return new DecodeTimes(total, forward, logitTime, total - forward - logitTime);
  }

  private static int[] argmaxRows(float[] values, int rows, int cols) {
    int[] best = new int[rows];
    for (int r = 0; r < rows; r++) {
      int base = r * cols;
      int arg = 0;
      for (int v = 1; v < cols; v++) {
        if (values[base + v] > values[base + arg]) {
          arg = v;
        }
      }
      best[r] = arg;
    }
    return best;
  }

  // ---- learner ----

  /** Timed learner steps: logprobs forward, importance-sampling gradient, backward. */
  private Result train() {
    HfModelConfig c = model.config();
    int seqs = settings.trainSeqs();
    int len = settings.trainLen();
    int perMicro = settings.microSeqs();
    int micros = (seqs + perMicro - 1) / perMicro;
    List<int[]> sequences = randomSequences(seqs, len, c.vocabSize());
    float[] advantages = new float[seqs];
    for (int s = 0; s < seqs; s++) {
      advantages[s] = (float) random.nextGaussian();
    }
    // N: every predicted token of the step, over all micro-batches, so the sum of the
    // micro-batches' gradients is the whole step's gradient.
    long predicted = (long) seqs * (len - 1);
    status(
        String.format(
            "learner: %d × %d tokens in %d micro-batch%s of %d sequences",
            seqs, len, micros, micros == 1 ? "" : "es", perMicro));
    Activations acts = model.newActivations(perMicro * len, true);
    for (int w = 0; w < settings.warmup(); w++) {
      status(String.format("learner: warm-up round %d of %d", w + 1, settings.warmup()));
      microStep(acts, sequences, advantages, 0, perMicro, predicted, new long[2], new double[1]);
    }

    startSpan();
    long[] split = new long[2];
    double[] logprobSum = new double[1];
    long start = System.nanoTime();
    try (Progress progress =
        settings.progress()
            ? Progress.start("learner", (long) settings.trainSteps() * micros, "micro-batches")
            : null) {
      for (int step = 0; step < settings.trainSteps(); step++) {
        for (Parameter parameter : adapter.parameters()) {
          parameter.zeroGrad(ops);
        }
        logprobSum[0] = 0;
        for (int from = 0; from < seqs; from += perMicro) {
          int count = Math.min(perMicro, seqs - from);
          microStep(acts, sequences, advantages, from, count, predicted, split, logprobSum);
          if (progress != null) {
            progress.step(1);
          }
        }
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double squares = 0;
    for (Parameter parameter : adapter.parameters()) {
      squares += ops.sumOfSquares(parameter.grad(ops));
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("seqs", seqs);
    details.put("len", len);
    details.put("steps", settings.trainSteps());
    details.put("micro_batch_seqs", perMicro);
    details.put("micro_batches", micros);
    details.put("forward_s", split[0] / 1e9);
    details.put("backward_s", split[1] / 1e9);
    details.put("mean_logprob", logprobSum[0] / predicted);
    details.put("lora_grad_norm", Math.sqrt(squares));
    details.put("optimizer", "none");
    Result result =
        endSpan("train", seqs, (long) settings.trainSteps() * seqs * len, seconds, details);
    status(String.format("learner: %s tokens/s", Format.rate(result.tokensPerSecond())));
    return result;
  }

  /**
   * Forward and backward of sequences {@code [from, from + count)}; gradients accumulate. Adds the
   * forward and backward nanoseconds to {@code split} and the logprobs to {@code logprobSum}.
   */
  private void microStep(
      Activations acts,
      List<int[]> sequences,
      float[] advantages,
      int from,
      int count,
      long predicted,
      long[] split,
      double[] logprobSum) {
    List<int[]> micro = sequences.subList(from, from + count);
    long t0 = System.nanoTime();
    float[][] logprobs = model.sequenceLogprobs(acts, micro, 1f);
    long t1 = System.nanoTime();
    // L = -(1/N) Σ_i Σ_t exp(lp - lp_sampler) · A_i; on-policy the ratio is 1, so
    // dL/dlp(i, t) = -A_i / N.
    float[][] dlogprobs = new float[count][];
    for (int s = 0; s < count; s++) {
      dlogprobs[s] = new float[logprobs[s].length];
      java.util.Arrays.fill(dlogprobs[s], (float) (-advantages[from + s] / predicted));
      for (float lp : logprobs[s]) {
        logprobSum[0] += lp;
      }
    }
    model.backwardFromLogprobs(acts, dlogprobs, 1f);
    long t2 = System.nanoTime();
    split[0] += t1 - t0;
    split[1] += t2 - t1;
  }

  // ---- helpers ----

  private List<int[]> randomSequences(int count, int length, int vocab) {
    List<int[]> all = new ArrayList<>(count);
    for (int s = 0; s < count; s++) {
      int[] ids = new int[length];
      for (int t = 0; t < length; t++) {
        ids[t] = random.nextInt(vocab);
      }
      all.add(ids);
    }
    return all;
  }

  private void startSpan() {
    memory.reset();
    if (profiler != null) {
      profiler.reset();
    }
  }

  private Result endSpan(
      String phase, int batch, long tokens, double seconds, Map<String, Object> details) {
    List<ProfilingOps.Entry> kernels = List.of();
    if (profiler != null) {
      kernels = profiler.entries();
      details.put("kernel_s", profiler.totalNanos() / 1e9);
    }
    return new Result(phase, batch, tokens, seconds, memory.peaks(), details, kernels);
  }

  private static MemoryMonitor.Peaks max(MemoryMonitor.Peaks a, MemoryMonitor.Peaks b) {
    return new MemoryMonitor.Peaks(
        Math.max(a.heap(), b.heap()),
        Math.max(a.offHeap(), b.offHeap()),
        Math.max(a.resident(), b.resident()));
  }

  /** Lets the garbage collector free the last phase's native buffers before the next one. */
  private static void releaseMemory() {
    System.gc();
  }

  private static long count(List<Parameter> parameters) {
    long n = 0;
    for (Parameter parameter : parameters) {
      n += parameter.value().size();
    }
    return n;
  }

  private void status(String message) {
    log.println("bench " + shape.id() + ": " + message);
    log.flush();
  }
}
