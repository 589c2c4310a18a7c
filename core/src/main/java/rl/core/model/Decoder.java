package rl.core.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import rl.core.progress.Progress;
import rl.core.safetensors.FloatTensor;
import rl.core.safetensors.SafetensorsStore;
import rl.core.safetensors.SafetensorsWriter;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * A Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) with optional LoRA on its projections,
 * written once against {@link Ops}: one {@link #forward} and one {@link #backward} that walks the
 * same layers in reverse. Loads and saves Hugging Face checkpoints with their own key names.
 */
public final class Decoder {
  /** Checkpoints above this size show a progress bar while loading. */
  private static final long PROGRESS_BYTES = 256L << 20;

  final Ops ops;
  final HfModelConfig config;
  final Parameter embedding; // [V, C] model.embed_tokens.weight
  final DecoderLayer[] layers;
  final Parameter finalNorm; // [1, C] model.norm.weight
  final Parameter lmHead; // [V, C] lm_head.weight, or the embedding when tied

  /** RoPE tables {@code [positions, HS/2]}, grown on demand. */
  Tensor ropeCos;

  Tensor ropeSin;
  private int ropePositions;

  private boolean adapterEnabled = true;

  private Decoder(
      Ops ops,
      HfModelConfig config,
      Parameter embedding,
      DecoderLayer[] layers,
      Parameter finalNorm,
      Parameter lmHead) {
    this.ops = ops;
    this.config = config;
    this.embedding = embedding;
    this.layers = layers;
    this.finalNorm = finalNorm;
    this.lmHead = lmHead;
  }

  public Ops ops() {
    return ops;
  }

  public HfModelConfig config() {
    return config;
  }

  // ---- loading and saving ----

  /** Source of a named weight with its expected shape: a checkpoint, or random initialisation. */
  interface WeightSource {
    float[] read(String name, int rows, int cols);
  }

  /** Loads a Hugging Face model directory ({@code config.json} and safetensors). */
  public static Decoder load(Path modelDir, Ops ops) {
    HfModelConfig config = HfModelConfig.load(modelDir);
    try (SafetensorsStore store = SafetensorsStore.openDirectory(modelDir)) {
      long bytes = 0;
      for (String name : store.names()) {
        bytes += store.info(name).end() - store.info(name).begin();
      }
      int count = expectedTensorCount(config);
      try (Progress progress =
          bytes >= PROGRESS_BYTES
              ? Progress.start("loading " + modelDir.getFileName(), count, "tensors")
              : null) {
        return build(
            ops,
            config,
            (name, rows, cols) -> {
              // Norm scales and biases are stored as vectors: shape [cols].
              float[] data =
                  rows == 1 && !name.endsWith("embed_tokens.weight")
                      ? store.readFloats(name, cols)
                      : store.readFloats(name, rows, cols);
              if (progress != null) {
                progress.step(1);
              }
              return data;
            });
      }
    }
  }

  /**
   * A second model over this one's base weights, without copying them: the same embedding, norm and
   * projection tensors, but its own projections' LoRA slots (none attached), RoPE tables and
   * adapter switch; activations and KV caches are per caller anyway. A sampler and a learner in one
   * process use it to hold one copy of the base. Both see any change to the shared weights, so it
   * suits training that leaves them alone: LoRA without merges.
   */
  public Decoder sharingBaseWeights() {
    DecoderLayer[] copies = new DecoderLayer[layers.length];
    for (int i = 0; i < layers.length; i++) {
      DecoderLayer l = layers[i];
      Linear[] projections = {l.q, l.k, l.v, l.o, l.gate, l.up, l.down};
      for (int j = 0; j < projections.length; j++) {
        Linear p = projections[j];
        projections[j] = new Linear(p.module, p.kind, p.weight, p.bias);
      }
      copies[i] =
          new DecoderLayer(
              l.index,
              l.inputNorm,
              l.postAttentionNorm,
              l.qNorm,
              l.kNorm,
              projections,
              l.qkvWeight,
              l.qkvViews());
    }
    return new Decoder(ops, config, embedding, copies, finalNorm, lmHead);
  }

  /** A model with random weights (normal, std 0.02; norm scales 1), for tests and benchmarks. */
  public static Decoder random(HfModelConfig config, Ops ops, long seed) {
    return random(config, ops, seed, 0.02);
  }

  /**
   * A model with random normal weights of standard deviation {@code std}; norm scales 1. Each
   * tensor's values follow from the seed and its name alone, drawn in chunks on all cores (a
   * billion-parameter benchmark model takes seconds, not a minute).
   */
  public static Decoder random(HfModelConfig config, Ops ops, long seed, double std) {
    return build(
        ops,
        config,
        (name, rows, cols) -> {
          float[] data = new float[rows * cols];
          if (name.endsWith("norm.weight")) {
            java.util.Arrays.fill(data, 1f);
            return data;
          }
          long tensorSeed = seed * 0x9E3779B97F4A7C15L + name.hashCode();
          int chunks = (data.length + RANDOM_CHUNK - 1) / RANDOM_CHUNK;
          java.util.stream.IntStream.range(0, chunks)
              .parallel()
              .forEach(
                  chunk -> {
                    java.util.SplittableRandom random =
                        new java.util.SplittableRandom(tensorSeed + 1_000_003L * chunk);
                    int end = (int) Math.min(data.length, (chunk + 1L) * RANDOM_CHUNK);
                    for (int i = chunk * RANDOM_CHUNK; i < end; i++) {
                      data[i] = (float) (random.nextGaussian() * std);
                    }
                  });
          return data;
        });
  }

  /** Values per independently seeded chunk of a random tensor. */
  private static final int RANDOM_CHUNK = 1 << 20;

  private static int expectedTensorCount(HfModelConfig config) {
    int perLayer = 2 + 7 + (config.attentionBias() ? 3 : 0) + (config.qkNorm() ? 2 : 0);
    return 2 + (config.tieWordEmbeddings() ? 0 : 1) + perLayer * config.numLayers();
  }

  private static Decoder build(Ops ops, HfModelConfig config, WeightSource source) {
    int c = config.hiddenSize();
    int hs = config.headDim();
    int qWidth = config.numHeads() * hs;
    int kvWidth = config.numKvHeads() * hs;
    int mlp = config.intermediateSize();
    int vocab = config.vocabSize();
    Parameter embedding = param(ops, source, "model.embed_tokens.weight", vocab, c);
    DecoderLayer[] layers = new DecoderLayer[config.numLayers()];
    for (int l = 0; l < layers.length; l++) {
      String p = "model.layers." + l + ".";
      int[][] shapes = {
        {qWidth, c}, {kvWidth, c}, {kvWidth, c}, {c, qWidth}, {mlp, c}, {mlp, c}, {c, mlp}
      };
      Linear[] projections = new Linear[7];
      // q, k and v's weights go into one tensor, each a row block of it (DecoderLayer.qkvWeight)
      String[] modules = new String[7];
      float[][] qkvData = new float[3][];
      for (int i = 0; i < 7; i++) {
        modules[i] = p + (i < 4 ? "self_attn." : "mlp.") + DecoderLayer.KINDS.get(i);
        if (i < 3) {
          qkvData[i] = source.read(modules[i] + ".weight", shapes[i][0], shapes[i][1]);
        }
      }
      Tensor qkvWeight = ops.uploadWeight(concat(qkvData), qWidth + 2 * kvWidth, c);
      List<Tensor> qkvViews =
          List.of(
              ops.rows(qkvWeight, 0, qWidth),
              ops.rows(qkvWeight, qWidth, kvWidth),
              ops.rows(qkvWeight, qWidth + kvWidth, kvWidth));
      for (int i = 0; i < 7; i++) {
        String module = modules[i];
        Parameter bias =
            config.attentionBias() && i < 3
                ? param(ops, source, module + ".bias", 1, shapes[i][0])
                : null;
        Parameter weight =
            i < 3
                ? new Parameter(module + ".weight", qkvViews.get(i))
                : param(ops, source, module + ".weight", shapes[i][0], shapes[i][1]);
        projections[i] = new Linear(module, DecoderLayer.KINDS.get(i), weight, bias);
      }
      layers[l] =
          new DecoderLayer(
              l,
              param(ops, source, p + "input_layernorm.weight", 1, c),
              param(ops, source, p + "post_attention_layernorm.weight", 1, c),
              config.qkNorm() ? param(ops, source, p + "self_attn.q_norm.weight", 1, hs) : null,
              config.qkNorm() ? param(ops, source, p + "self_attn.k_norm.weight", 1, hs) : null,
              projections,
              qkvWeight,
              qkvViews);
    }
    Parameter finalNorm = param(ops, source, "model.norm.weight", 1, c);
    Parameter lmHead =
        config.tieWordEmbeddings() ? embedding : param(ops, source, "lm_head.weight", vocab, c);
    return new Decoder(ops, config, embedding, layers, finalNorm, lmHead);
  }

  private static float[] concat(float[][] parts) {
    int length = 0;
    for (float[] part : parts) {
      length += part.length;
    }
    float[] all = new float[length];
    int at = 0;
    for (float[] part : parts) {
      System.arraycopy(part, 0, all, at, part.length);
      at += part.length;
    }
    return all;
  }

  /**
   * Projection weights, the embedding and the output head go through {@link Ops#uploadWeight} (a
   * backend may keep them in bf16); norm scales and biases stay float32.
   */
  private static Parameter param(Ops ops, WeightSource source, String name, int rows, int cols) {
    float[] data = source.read(name, rows, cols);
    boolean matrix =
        name.endsWith("proj.weight")
            || name.endsWith("embed_tokens.weight")
            || name.equals("lm_head.weight");
    return new Parameter(
        name, matrix ? ops.uploadWeight(data, rows, cols) : ops.upload(data, rows, cols));
  }

  /** Every base-model parameter, in checkpoint order (the tied head appears once). */
  public List<Parameter> parameters() {
    List<Parameter> all = new ArrayList<>();
    all.add(embedding);
    for (DecoderLayer layer : layers) {
      all.add(layer.inputNorm);
      for (Linear linear : layer.projections()) {
        all.add(linear.weight);
        if (linear.bias != null) {
          all.add(linear.bias);
        }
      }
      if (layer.qNorm != null) {
        all.add(layer.qNorm);
        all.add(layer.kNorm);
      }
      all.add(layer.postAttentionNorm);
    }
    all.add(finalNorm);
    if (lmHead != embedding) {
      all.add(lmHead);
    }
    return all;
  }

  /** The projections of every layer, layer by layer in {@code q k v o gate up down} order. */
  public List<Linear> linears() {
    List<Linear> all = new ArrayList<>();
    for (DecoderLayer layer : layers) {
      all.addAll(List.of(layer.projections()));
    }
    return all;
  }

  /** Writes {@code config.json} and {@code model.safetensors} (float32) to {@code dir}. */
  public void saveHuggingFace(Path dir) throws IOException {
    Files.createDirectories(dir);
    config.write(dir);
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    for (Parameter p : parameters()) {
      Tensor v = p.value();
      long[] shape =
          v.rows() == 1 && !p.name().contains("embed_tokens")
              ? new long[] {v.cols()}
              : new long[] {v.rows(), v.cols()};
      tensors.put(p.name(), new FloatTensor(ops.download(v), shape));
    }
    SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
  }

  /** Freezes or unfreezes every base weight (full fine-tuning trains them all). */
  public void setBaseTrainable(boolean trainable) {
    for (Parameter p : parameters()) {
      if (trainable) {
        p.ensureFullPrecision(ops); // the optimizer updates float32 tensors
      }
      p.setTrainable(trainable);
    }
  }

  // ---- LoRA ----

  /** Switches the attached adapter off (base policy) or on, without touching its tensors. */
  public void setAdapterEnabled(boolean enabled) {
    this.adapterEnabled = enabled;
  }

  public boolean adapterEnabled() {
    return adapterEnabled;
  }

  /** The largest LoRA rank attached, 0 for none. */
  public int loraRank() {
    int rank = 0;
    for (Linear linear : linears()) {
      if (linear.hasLora()) {
        rank = Math.max(rank, linear.loraA.value().rows());
      }
    }
    return rank;
  }

  /**
   * Folds every attached adapter into its weight, {@code W += s · B · A}, and detaches it: the
   * model then computes what the adapted model computed, with no adapter.
   */
  public void mergeAdapter() {
    for (Linear linear : linears()) {
      if (linear.hasLora()) {
        linear.mergeAdapterIntoWeight(ops);
        linear.setLora(null, null, 0f);
      }
    }
  }

  // ---- forward and backward ----

  /**
   * Buffers for passes of up to {@code tokens} tokens; {@code training} keeps what backward reads.
   */
  public Activations newActivations(int tokens, boolean training) {
    return new Activations(ops, config, tokens, loraRank(), training);
  }

  /**
   * Runs the batch through the model and returns the final hidden states {@code [N, C]} (a view
   * into {@code acts}, valid until its next use). With a cache, the tokens' keys and values are
   * appended to it.
   */
  public Tensor forward(Activations acts, SequenceBatch batch, KvCache cache) {
    int n = batch.tokens();
    if (n > acts.capacity) {
      throw new IllegalArgumentException(
          n + " tokens exceed the activation buffers' capacity of " + acts.capacity);
    }
    if (acts.training && cache != null) {
      throw new IllegalArgumentException("training passes do not use a KV cache");
    }
    int rank = loraRank();
    if (rank > 0 && (acts.layers[0].loraU[0] == null || acts.layers[0].loraU[0].cols() < rank)) {
      throw new IllegalStateException(
          "activations were made for LoRA rank "
              + (acts.layers[0].loraU[0] == null ? 0 : acts.layers[0].loraU[0].cols())
              + " but the adapter has rank "
              + rank
              + "; make new activations after attaching it");
    }
    acts.batch = batch;
    acts.adapterOn = adapterEnabled;
    Tensor x = ops.rows(acts.residualIn(0), 0, n);
    ops.embedding(x, embedding.value(), batch.ids());
    for (DecoderLayer layer : layers) {
      Tensor out = ops.rows(acts.residualOut(layer.index), 0, n);
      layer.forward(this, acts, acts.layer(layer.index), x, out, batch, cache);
      x = out;
    }
    Tensor hidden = ops.rows(acts.hidden, 0, n);
    ops.rmsnorm(
        hidden,
        ops.rows(acts.finalRstd, 0, n),
        x,
        finalNorm.value(),
        config.hiddenSize(),
        (float) config.rmsNormEps());
    return hidden;
  }

  /**
   * Back-propagates {@code dHidden [N, C]} (the gradient of the last forward's hidden states) into
   * every trainable parameter's gradient. {@code dHidden} is left unchanged.
   */
  public void backward(Activations acts, Tensor dHidden) {
    if (!acts.training) {
      throw new IllegalStateException("backward needs activations made with training = true");
    }
    int n = acts.batch.tokens();
    Tensor dx = ops.rows(acts.backward.dResidual, 0, n);
    ops.fill(dx, 0f);
    ops.rmsnormBackward(
        dx,
        finalNorm.gradIfTrainable(ops),
        dHidden,
        ops.rows(acts.residual[layers.length], 0, n),
        finalNorm.value(),
        ops.rows(acts.finalRstd, 0, n),
        config.hiddenSize());
    for (int l = layers.length - 1; l >= 0; l--) {
      layers[l].backward(this, acts, ops.rows(acts.residual[l], 0, n), dx);
    }
    if (embedding.trainable()) {
      ops.embeddingBackward(embedding.grad(ops), dx, acts.batch.ids());
    }
  }

  // ---- per-token logprobs ----

  /**
   * {@code result[s][t] = log p(sequences[s][t + 1] | sequences[s][..t])} under {@code
   * softmax(logits / temperature)}, for whole sequences packed in one pass.
   */
  public float[][] sequenceLogprobs(Activations acts, List<int[]> sequences, float temperature) {
    SequenceBatch batch = SequenceBatch.of(sequences);
    Tensor hidden = forward(acts, batch, null);
    int[] targets = nextTokenTargets(batch);
    float[] flat = new float[batch.tokens()];
    ops.targetLogprobs(flat, hidden, lmHead.value(), targets, temperature);
    float[][] result = new float[sequences.size()][];
    for (int s = 0; s < sequences.size(); s++) {
      int start = batch.attention().queryStart()[s];
      int length = Math.max(0, sequences.get(s).length - 1);
      result[s] = java.util.Arrays.copyOfRange(flat, start, start + length);
    }
    return result;
  }

  /**
   * Back-propagates {@code dlogprobs[s][t]} (the loss's gradient for the logprobs that the last
   * {@link #sequenceLogprobs} call returned) into every trainable parameter's gradient.
   */
  public void backwardFromLogprobs(Activations acts, float[][] dlogprobs, float temperature) {
    SequenceBatch batch = acts.batch;
    int n = batch.tokens();
    float[] flat = new float[n];
    for (int s = 0; s < dlogprobs.length; s++) {
      System.arraycopy(
          dlogprobs[s], 0, flat, batch.attention().queryStart()[s], dlogprobs[s].length);
    }
    Tensor dHidden = ops.rows(acts.backward.dHidden, 0, n);
    ops.fill(dHidden, 0f);
    ops.targetLogprobsBackward(
        dHidden,
        lmHead.gradIfTrainable(ops),
        flat,
        ops.rows(acts.hidden, 0, n),
        lmHead.value(),
        nextTokenTargets(batch),
        temperature);
    backward(acts, dHidden);
  }

  /** Row t of a sequence predicts its token t + 1; a sequence's last row predicts nothing (-1). */
  private static int[] nextTokenTargets(SequenceBatch batch) {
    int[] targets = new int[batch.tokens()];
    java.util.Arrays.fill(targets, -1);
    for (int s = 0; s < batch.sequences(); s++) {
      int start = batch.attention().queryStart()[s];
      int count = batch.attention().queryCount()[s];
      for (int t = 0; t + 1 < count; t++) {
        targets[start + t] = batch.ids()[start + t + 1];
      }
    }
    return targets;
  }

  /**
   * Greedy continuation of {@code prompt}: one prefill into a KV cache, then one token per step.
   */
  public int[] greedy(int[] prompt, int newTokens) {
    KvCache cache = new KvCache(ops, config, 1, prompt.length + newTokens);
    Activations acts = newActivations(prompt.length, false);
    Tensor logits = ops.zeros(1, config.vocabSize());
    int[] out = new int[newTokens];
    int[] slot = {0};
    SequenceBatch batch = SequenceBatch.withCache(List.of(prompt), slot, new int[] {0}, cache);
    int length = prompt.length;
    for (int i = 0; i < newTokens; i++) {
      Tensor hidden = forward(acts, batch, cache);
      ops.logits(logits, ops.rows(hidden, hidden.rows() - 1, 1), lmHead.value(), 1f);
      float[] row = ops.download(logits);
      int best = 0;
      for (int v = 1; v < row.length; v++) {
        if (row[v] > row[best]) {
          best = v;
        }
      }
      out[i] = best;
      batch = SequenceBatch.withCache(List.of(new int[] {best}), slot, new int[] {length}, cache);
      length++;
    }
    return out;
  }

  /** The output head {@code [V, C]}: lm_head, or the embedding when tied. */
  public Parameter head() {
    return lmHead;
  }

  /** Grows the RoPE tables to cover positions {@code [0, positions)}. */
  void ensureRope(int positions) {
    if (positions <= ropePositions) {
      return;
    }
    int size = Math.max(positions, Math.max(2 * ropePositions, 256));
    double[] invFreq = config.ropeInverseFrequencies();
    int half = invFreq.length;
    float[] cos = new float[size * half];
    float[] sin = new float[size * half];
    for (int p = 0; p < size; p++) {
      for (int i = 0; i < half; i++) {
        double angle = p * invFreq[i];
        cos[p * half + i] = (float) Math.cos(angle);
        sin[p * half + i] = (float) Math.sin(angle);
      }
    }
    ropeCos = ops.upload(cos, size, half);
    ropeSin = ops.upload(sin, size, half);
    ropePositions = size;
  }
}
