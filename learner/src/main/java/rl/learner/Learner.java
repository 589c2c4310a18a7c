package rl.learner;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import rl.core.config.LoraConfig;
import rl.core.config.ObjectiveConfig;
import rl.core.config.OptimizerConfig;
import rl.core.config.TrainingConfig;
import rl.core.lora.LoraAdapter;
import rl.core.messages.AdapterUpdate;
import rl.core.messages.Completion;
import rl.core.messages.ScoredGroup;
import rl.core.model.Activations;
import rl.core.model.Decoder;
import rl.core.model.Linear;
import rl.core.model.Parameter;
import rl.core.safetensors.FloatTensor;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * The learner: turns scored groups into group-centred advantages, the policy-gradient loss and an
 * AdamW step on the LoRA tensors (or on every weight in full fine-tuning).
 *
 * <p>Aggregation weights per completion token: {@code token-mean} 1/N (N completion tokens in the
 * step), {@code sum} 1, {@code seq-mean} 1/(S·T_i) (S sequences, T_i the sequence's completion
 * length), {@code constant} 1/(groups · max_tokens). A step runs its sequences in micro-batches of
 * at most {@code micro_batch_tokens} tokens and accumulates gradients, so the update does not
 * depend on the micro-batch size.
 *
 * <p>Not thread-safe: one compute thread drives it.
 */
public final class Learner {
  private final Decoder model;
  private final LoraAdapter adapter;
  private final LoraConfig loraConfig;
  private final ObjectiveConfig objective;
  private final OptimizerConfig optimizer;
  private final TrainingConfig training;
  private final float temperature;
  private final int maxTokens;
  private final Ops ops;
  private final Map<Parameter, Tensor[]> moments = new IdentityHashMap<>();
  private Activations acts;
  private Activations baseActs;
  private int step;
  private boolean initialised;

  /** ReLoRA: whether a merge has changed the base weights since the model was loaded. */
  private boolean baseMerged;

  /** Whether the base changed after the last {@link #adapterUpdate}: the next one carries it. */
  private boolean baseChangedSinceUpdate;

  /**
   * @param model the policy; with {@code adapter} null every weight is trained
   * @param adapter the LoRA adapter to train (attached to {@code model}), or null
   * @param lora the adapter's config (its init decides whether the first step sets A by SVD)
   * @param temperature the sampler's temperature; logprobs are of softmax(logits / T)
   * @param maxTokens the sampler's max tokens per completion (for the {@code constant} aggregation)
   */
  public Learner(
      Decoder model,
      LoraAdapter adapter,
      LoraConfig lora,
      ObjectiveConfig objective,
      OptimizerConfig optimizer,
      TrainingConfig training,
      double temperature,
      int maxTokens) {
    this.model = model;
    this.adapter = adapter;
    this.loraConfig = lora;
    this.objective = objective;
    this.optimizer = optimizer;
    this.training = training;
    this.temperature = (float) temperature;
    this.maxTokens = maxTokens;
    this.ops = model.ops();
    if (adapter == null) {
      model.setBaseTrainable(true);
    }
    initialised = adapter == null || lora.init() != LoraConfig.Init.GRADIENT_SVD;
  }

  public Decoder model() {
    return model;
  }

  public LoraAdapter adapter() {
    return adapter;
  }

  /** Steps taken so far. */
  public int step() {
    return step;
  }

  /** The parameters the optimizer updates. */
  public List<Parameter> trainable() {
    return adapter != null ? adapter.parameters() : model.parameters();
  }

  // ---- RL ----

  /** Advantages of a step's groups; groups whose rewards are all equal are left out. */
  public static List<TrainingSequence> sequences(List<ScoredGroup> groups, boolean normalizeStd) {
    List<TrainingSequence> out = new ArrayList<>();
    for (ScoredGroup group : groups) {
      double[] rewards = group.rewards();
      double mean = 0;
      for (double r : rewards) {
        mean += r;
      }
      mean /= rewards.length;
      double variance = 0;
      for (double r : rewards) {
        variance += (r - mean) * (r - mean);
      }
      double std = Math.sqrt(variance / Math.max(1, rewards.length - 1));
      if (allEqual(rewards)) {
        continue;
      }
      for (int i = 0; i < rewards.length; i++) {
        Completion c = group.rollouts().completions().get(i);
        if (c.tokens().length == 0) {
          continue;
        }
        double advantage = rewards[i] - mean;
        if (normalizeStd) {
          advantage /= std + 1e-6;
        }
        int[] prompt = group.rollouts().promptTokens();
        int[] tokens = java.util.Arrays.copyOf(prompt, prompt.length + c.tokens().length);
        System.arraycopy(c.tokens(), 0, tokens, prompt.length, c.tokens().length);
        out.add(new TrainingSequence(tokens, prompt.length, c.logprobs(), advantage));
      }
    }
    return out;
  }

  private static boolean allEqual(double[] values) {
    for (double v : values) {
      if (v != values[0]) {
        return false;
      }
    }
    return true;
  }

  /**
   * One RL step on {@code groups}, drawn by policy versions up to {@code currentVersion} (for the
   * lag metric).
   */
  public StepMetrics rlStep(List<ScoredGroup> groups, int currentVersion) {
    List<TrainingSequence> sequences = sequences(groups, objective.normalizeAdvantages());
    long zero = groups.stream().filter(g -> allEqual(g.rewards())).count();
    double rewardSum = 0;
    int rewardCount = 0;
    double lag = 0;
    for (ScoredGroup g : groups) {
      for (double r : g.rewards()) {
        rewardSum += r;
        rewardCount++;
      }
      lag += currentVersion - Math.max(0, g.oldestVersion());
    }
    return train(
        sequences,
        groups.size(),
        false,
        groups.isEmpty() ? 0 : (double) zero / groups.size(),
        rewardCount == 0 ? 0 : rewardSum / rewardCount,
        groups.isEmpty() ? 0 : lag / groups.size());
  }

  /** One supervised step: cross-entropy on the completion tokens (token mean). */
  public StepMetrics sftStep(List<TrainingSequence> sequences) {
    return train(sequences, sequences.size(), true, 0, 0, 0);
  }

  private StepMetrics train(
      List<TrainingSequence> sequences,
      int groups,
      boolean sft,
      double zeroAdvantageFraction,
      double rewardMean,
      double lag) {
    long start = System.nanoTime();
    if (!initialised && !sequences.isEmpty()) {
      GradientSvdInit.apply(this, sequences);
      initialised = true;
    }
    PolicyLoss loss = new PolicyLoss(objective);
    long completionTokens = 0;
    long allTokens = 0;
    for (TrainingSequence s : sequences) {
      completionTokens += s.completionLength();
      allTokens += s.tokens().length;
    }
    if (sequences.isEmpty()) {
      // Every group scored the same: nothing to learn, but the step counts (the run goes on).
      step++;
      return new StepMetrics(
          step,
          0,
          LearningRate.at(optimizer, step - 1, training.steps()),
          0,
          1,
          1,
          1,
          0,
          0,
          0,
          0,
          zeroAdvantageFraction,
          rewardMean,
          0,
          0,
          lag,
          (System.nanoTime() - start) / 1e9);
    }
    double sftLoss = gradients(sequences, groups, sft, loss);
    // Gradient norm over everything trained, then clipping folded into the update.
    double sumSquares = 0;
    for (Parameter p : trainable()) {
      sumSquares += ops.sumOfSquares(p.grad(ops));
    }
    double gradNorm = Math.sqrt(sumSquares);
    float scale =
        optimizer.gradClip() > 0 && gradNorm > optimizer.gradClip()
            ? (float) (optimizer.gradClip() / gradNorm)
            : 1f;
    double lr = LearningRate.at(optimizer, step, training.steps());
    step++;
    for (Parameter p : trainable()) {
      Tensor[] m = moments.computeIfAbsent(p, k -> new Tensor[] {zerosLike(k), zerosLike(k)});
      boolean isB = p.name().endsWith("lora_B.weight");
      double paramLr = isB ? lr * optimizer.loraPlusRatio() : lr;
      ops.adamw(
          p.value(),
          p.grad(ops),
          m[0],
          m[1],
          scale,
          (float) paramLr,
          (float) optimizer.beta1(),
          (float) optimizer.beta2(),
          (float) optimizer.eps(),
          (float) optimizer.weightDecay(),
          step);
    }
    if (adapter != null && training.mergeEvery() > 0 && step % training.mergeEvery() == 0) {
      mergeAndRestart();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long n = Math.max(1, loss.tokens);
    return new StepMetrics(
        step,
        sft ? sftLoss : loss.lossSum,
        lr,
        gradNorm,
        sft ? 1 : loss.ratioSum / n,
        sft ? 1 : loss.ratioMin,
        sft ? 1 : loss.ratioMax,
        sft ? 0 : (double) loss.clipped / n,
        loss.negativeLogprobSum / n,
        sft ? 0 : loss.samplerMinusLearnerSum / n,
        loss.klSum / n,
        zeroAdvantageFraction,
        rewardMean,
        completionTokens,
        allTokens / seconds,
        lag,
        seconds);
  }

  /**
   * The loss of {@code sequences} (an RL batch of {@code groups} groups, or SFT pairs), with its
   * gradient left in every trainable parameter; no update. For tests and diagnostics.
   */
  public double lossAndGradients(List<TrainingSequence> sequences, int groups, boolean sft) {
    PolicyLoss loss = new PolicyLoss(objective);
    double sftLoss = gradients(sequences, groups, sft, loss);
    return sft ? sftLoss : loss.lossSum;
  }

  private double gradients(
      List<TrainingSequence> sequences, int groups, boolean sft, PolicyLoss loss) {
    for (Parameter p : trainable()) {
      p.zeroGrad(ops);
    }
    long completionTokens = 0;
    for (TrainingSequence s : sequences) {
      completionTokens += s.completionLength();
    }
    double sftLoss = 0;
    for (List<TrainingSequence> batch : microBatches(sequences)) {
      sftLoss += accumulate(batch, sequences.size(), groups, completionTokens, sft, loss);
    }
    return sftLoss;
  }

  /**
   * Forward, loss and backward for one micro-batch, accumulating into the gradients. Returns the
   * SFT loss contribution (0 for RL, whose loss accumulates in {@code loss}).
   */
  double accumulate(
      List<TrainingSequence> batch,
      int sequenceCount,
      int groups,
      long completionTokens,
      boolean sft,
      PolicyLoss loss) {
    List<int[]> tokens = batch.stream().map(TrainingSequence::tokens).toList();
    int batchTokens = tokens.stream().mapToInt(t -> t.length).sum();
    float[][] base = null;
    if (!sft && objective.klCoef() > 0) {
      baseActs = ensure(baseActs, batchTokens, false);
      model.setAdapterEnabled(false);
      base = model.sequenceLogprobs(baseActs, tokens, temperature);
      model.setAdapterEnabled(true);
    }
    acts = ensure(acts, batchTokens, true);
    float[][] lp = model.sequenceLogprobs(acts, tokens, temperature);
    float[][] dlp = new float[batch.size()][];
    double sftLoss = 0;
    for (int s = 0; s < batch.size(); s++) {
      TrainingSequence seq = batch.get(s);
      dlp[s] = new float[lp[s].length];
      double weight = weight(seq, sequenceCount, groups, completionTokens);
      for (int j = 0; j < seq.completionLength(); j++) {
        int row = seq.promptLength() - 1 + j;
        if (sft) {
          sftLoss -= weight * lp[s][row];
          dlp[s][row] = (float) -weight;
          loss.negativeLogprobSum -= lp[s][row];
          loss.tokens++;
        } else {
          double lb = base == null ? 0 : base[s][row];
          dlp[s][row] =
              (float) loss.token(lp[s][row], seq.samplerLogprobs()[j], lb, seq.advantage(), weight);
        }
      }
    }
    model.backwardFromLogprobs(acts, dlp, temperature);
    return sftLoss;
  }

  /** The aggregation weight of each completion token of {@code seq}. */
  private double weight(
      TrainingSequence seq, int sequenceCount, int groups, long completionTokens) {
    return switch (objective.aggregation()) {
      case TOKEN_MEAN -> 1.0 / completionTokens;
      case SUM -> 1.0;
      case SEQ_MEAN -> 1.0 / ((double) sequenceCount * seq.completionLength());
      case CONSTANT -> 1.0 / ((double) Math.max(1, groups) * maxTokens);
    };
  }

  /** Consecutive sequences packed up to the token budget (a longer sequence goes alone). */
  List<List<TrainingSequence>> microBatches(List<TrainingSequence> sequences) {
    List<List<TrainingSequence>> out = new ArrayList<>();
    List<TrainingSequence> current = new ArrayList<>();
    int tokens = 0;
    for (TrainingSequence s : sequences) {
      if (!current.isEmpty() && tokens + s.tokens().length > training.microBatchTokens()) {
        out.add(current);
        current = new ArrayList<>();
        tokens = 0;
      }
      current.add(s);
      tokens += s.tokens().length;
    }
    if (!current.isEmpty()) {
      out.add(current);
    }
    return out;
  }

  private Activations ensure(Activations existing, int tokens, boolean trainingPass) {
    int needed = Math.max(tokens, training.microBatchTokens());
    if (existing == null || existing.capacity() < tokens) {
      return model.newActivations(needed, trainingPass);
    }
    return existing;
  }

  /** AdamW's moments start at zero. */
  private Tensor zerosLike(Parameter p) {
    return ops.zeros(p.value().rows(), p.value().cols());
  }

  /** ReLoRA: fold the adapter into the base weights, restart it, and forget its moments. */
  private void mergeAndRestart() {
    baseMerged = true;
    baseChangedSinceUpdate = true;
    Random random = new Random(31L * step + 7);
    for (Linear linear : model.linears()) {
      if (linear.loraA() == null) {
        continue;
      }
      linear.mergeAdapterIntoWeight(ops);
      Tensor a = linear.loraA().value();
      float[] fresh = new float[(int) a.size()];
      double bound = 1.0 / Math.sqrt(a.cols());
      for (int i = 0; i < fresh.length; i++) {
        fresh[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
      }
      linear.loraA().setValue(ops.upload(fresh, a.rows(), a.cols()));
      ops.fill(linear.loraB().value(), 0f);
    }
    moments.clear();
  }

  // ---- sync and state ----

  private boolean syncOnDevice;

  /**
   * A device snapshot of the adapter: its tensors by name (the map an update carries, the same
   * object each time this snapshot is handed out, so a sampler can recognise it) and the planned
   * copies that fill it from the parameter values it was made for.
   */
  private record Snapshot(Map<String, Tensor> byName, List<Tensor> sources, Ops.CopyPlan fill) {
    /** Whether it was made for these parameters' current values (ReLoRA replaces A). */
    boolean fits(List<Parameter> params) {
      return Parameter.holdValues(params, sources);
    }
  }

  /** Device snapshots the sampler has issued its copy from, ready for reuse. */
  private final java.util.concurrent.ConcurrentLinkedQueue<Snapshot> freeSnapshots =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private Snapshot newSnapshot(List<Parameter> params) {
    List<Tensor> values = new ArrayList<>();
    for (Parameter p : params) {
      values.add(p.value());
    }
    List<Tensor> tensors = ops.allocateLike(values);
    Map<String, Tensor> byName = new LinkedHashMap<>();
    for (int i = 0; i < params.size(); i++) {
      byName.put(params.get(i).name(), tensors.get(i));
    }
    return new Snapshot(Map.copyOf(byName), List.copyOf(values), ops.planCopies(tensors, values));
  }

  /**
   * Whether {@link #adapterUpdate} hands out device snapshots ({@link AdapterUpdate#onDevice})
   * instead of host copies: for a sampler sharing this learner's backend (colocated), where a sync
   * is then two device-to-device copies. Updates that carry ReLoRA-merged base weights, and full
   * fine-tuning, still go by value.
   */
  public void syncOnDevice(boolean on) {
    syncOnDevice = on;
  }

  /**
   * The policy's trained tensors by value, for the sampler: the adapter's A and B, or with full
   * fine-tuning every weight of the model.
   */
  public AdapterUpdate adapterUpdate(int version) {
    if (syncOnDevice && adapter != null && !baseChangedSinceUpdate) {
      // Snapshot now (the next step changes the parameters), on the device, in one copy. Memory of
      // a snapshot whose copy the sampler has issued is reused (the backend orders that copy
      // before this one), and so are its checked, planned copies.
      List<Parameter> params = adapter.parameters();
      Snapshot snapshot = freeSnapshots.poll();
      if (snapshot == null || !snapshot.fits(params)) {
        snapshot = newSnapshot(params);
      }
      snapshot.fill().run();
      Snapshot handedOut = snapshot;
      return AdapterUpdate.onDevice(
          version, snapshot.byName(), () -> freeSnapshots.offer(handedOut));
    }
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    List<Parameter> sent =
        new ArrayList<>(adapter != null ? adapter.parameters() : model.parameters());
    if (adapter != null && baseChangedSinceUpdate) {
      sent.addAll(mergedWeights()); // ReLoRA merged into these since the last update
    }
    baseChangedSinceUpdate = false;
    for (Parameter p : sent) {
      tensors.put(
          p.name(),
          new FloatTensor(
              ops.download(p.value()), new long[] {p.value().rows(), p.value().cols()}));
    }
    return new AdapterUpdate(version, tensors);
  }

  /** Whether ReLoRA merges have changed the base weights (checkpoints then store them). */
  public boolean baseMerged() {
    return baseMerged;
  }

  /** The base weights ReLoRA merges into: those of the adapted projections. */
  public List<Parameter> mergedWeights() {
    List<Parameter> weights = new ArrayList<>();
    for (Linear linear : model.linears()) {
      if (linear.loraA() != null) {
        weights.add(linear.weight());
      }
    }
    return weights;
  }

  /** Sets merged base weights read from a checkpoint; the next update carries them. */
  void restoreMergedWeights(Map<String, float[]> values) {
    for (Parameter p : mergedWeights()) {
      float[] v = values.get(p.name());
      if (v == null) {
        throw new IllegalArgumentException("checkpoint lacks merged weight " + p.name());
      }
      p.setValue(ops.upload(v, p.value().rows(), p.value().cols()));
    }
    baseMerged = true;
    baseChangedSinceUpdate = true;
  }

  /** AdamW moments by parameter name ({@code .exp_avg}, {@code .exp_avg_sq}). */
  Map<String, FloatTensor> optimizerState() {
    Map<String, FloatTensor> state = new LinkedHashMap<>();
    for (Parameter p : trainable()) {
      Tensor[] m = moments.get(p);
      if (m == null) {
        continue;
      }
      long[] shape = {p.value().rows(), p.value().cols()};
      state.put(p.name() + ".exp_avg", new FloatTensor(ops.download(m[0]), shape));
      state.put(p.name() + ".exp_avg_sq", new FloatTensor(ops.download(m[1]), shape));
    }
    return state;
  }

  /** Restores parameters, moments and the step counter (see {@link Checkpoints}). */
  void restore(Map<String, float[]> values, Map<String, float[]> optimizerState, int restoredStep) {
    for (Parameter p : trainable()) {
      float[] v = values.get(p.name());
      if (v == null) {
        throw new IllegalArgumentException("checkpoint lacks parameter " + p.name());
      }
      p.setValue(ops.upload(v, p.value().rows(), p.value().cols()));
      float[] m = optimizerState.get(p.name() + ".exp_avg");
      float[] s = optimizerState.get(p.name() + ".exp_avg_sq");
      if (m != null && s != null) {
        moments.put(
            p,
            new Tensor[] {
              ops.upload(m, p.value().rows(), p.value().cols()),
              ops.upload(s, p.value().rows(), p.value().cols())
            });
      } else {
        moments.remove(p);
      }
    }
    this.step = restoredStep;
    this.initialised = true;
  }

  Ops ops() {
    return ops;
  }

  LoraConfig loraConfig() {
    return loraConfig;
  }

  ObjectiveConfig objectiveConfig() {
    return objective;
  }

  float temperature() {
    return temperature;
  }

  Activations trainingActivations(int tokens) {
    acts = ensure(acts, tokens, true);
    return acts;
  }
}
