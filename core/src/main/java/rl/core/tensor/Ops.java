package rl.core.tensor;

import java.util.List;

/**
 * The kernels a decoder needs, forward and backward. Model code is written once against this
 * interface; a backend (ND4J on the CPU, CUDA) implements it. All tensors are float32 {@code [rows,
 * cols]} row-major (see {@link Tensor}); shapes use B batch, N packed tokens, C channels, V
 * vocabulary, NH/NKV heads, HS head size, I MLP width, r LoRA rank.
 *
 * <p>Unless a method says it accumulates, it overwrites its output. Outputs never alias inputs
 * unless the method says so.
 */
public interface Ops {

  // ---- memory ----

  /** A new zero-filled tensor. */
  Tensor zeros(int rows, int cols);

  /** A new tensor holding {@code data} (row-major, length rows × cols). */
  Tensor upload(float[] data, int rows, int cols);

  /**
   * A base weight: read by products, the embedding lookup and the output head, written only by
   * {@link #copy}, {@link #gemm} (adapter merges) and not by the optimizer. A backend may store it
   * in reduced precision (CudaOps: bfloat16 for tensor-core products); this default does not.
   */
  default Tensor uploadWeight(float[] data, int rows, int cols) {
    return upload(data, rows, cols);
  }

  /**
   * Whether {@code t} is stored in reduced precision ({@link #uploadWeight}, {@link #zerosCache}).
   */
  default boolean reducedPrecision(Tensor t) {
    return false;
  }

  /**
   * Zero-filled KV-cache storage: written by {@link #scatterRows} and {@link #copy}, read by {@link
   * #attention}. A backend may store it in reduced precision (CudaOps: bfloat16, half the bytes a
   * decode step reads); this default does not.
   */
  default Tensor zerosCache(int rows, int cols) {
    return zeros(rows, cols);
  }

  /** The tensor's contents, row-major. */
  float[] download(Tensor t);

  /**
   * Overwrites {@code dst} with {@code data} (row-major, {@code dst}'s size), keeping the tensor:
   * what an adapter sync does, so that recorded steps ({@link #replayable}) still match.
   */
  default void write(Tensor dst, float[] data) {
    copy(dst, upload(data, dst.rows(), dst.cols()));
  }

  /**
   * {@code dst.get(i) = src.get(i)} for every i, shapes equal pairwise: the device-to-device half
   * of an adapter sync, which a backend may do in one launch (CudaOps) instead of one per tensor.
   */
  default void copyAll(List<Tensor> dst, List<Tensor> src) {
    if (dst.size() != src.size()) {
      throw new IllegalArgumentException(
          "copyAll: " + dst.size() + " destinations for " + src.size() + " sources");
    }
    for (int i = 0; i < dst.size(); i++) {
      copy(dst.get(i), src.get(i));
    }
  }

  /**
   * The copies {@code dst.get(i) = src.get(i)}, shapes checked now, to be run many times: the two
   * halves of every adapter sync between a colocated learner and sampler, where checking and
   * describing some 300 tensors again per sync would cost more than the copies (a backend may
   * upload its table of copies once). The plan holds the tensors as given: a caller whose lists
   * change makes a new plan.
   */
  default CopyPlan planCopies(List<Tensor> dst, List<Tensor> src) {
    if (dst.size() != src.size()) {
      throw new IllegalArgumentException(
          "planCopies: " + dst.size() + " destinations for " + src.size() + " sources");
    }
    for (int i = 0; i < dst.size(); i++) {
      Tensor.requireShape(
          "copy destination " + i, dst.get(i), src.get(i).rows(), src.get(i).cols());
    }
    List<Tensor> to = List.copyOf(dst);
    List<Tensor> from = List.copyOf(src);
    return () -> copyAll(to, from);
  }

  /** Copies fixed by {@link #planCopies}. */
  @FunctionalInterface
  interface CopyPlan {
    /** Issues the copies (a backend may run them asynchronously, in order with later calls). */
    void run();
  }

  /**
   * Float32 tensors shaped like {@code like} (uninitialised contents allowed), for a snapshot that
   * {@link #copyAll} fills; a backend may place them in one allocation.
   */
  default List<Tensor> allocateLike(List<Tensor> like) {
    List<Tensor> out = new java.util.ArrayList<>(like.size());
    for (Tensor t : like) {
      out.add(zeros(t.rows(), t.cols()));
    }
    return out;
  }

  /** Rows {@code [start, start + count)} of {@code t}, sharing its memory. */
  Tensor rows(Tensor t, int start, int count);

  void fill(Tensor t, float value);

  /** {@code dst = src} (same shape). */
  void copy(Tensor dst, Tensor src);

  /** Copies row {@code i} of {@code src} to row {@code dstRows[i]} of {@code dst}. */
  void scatterRows(Tensor dst, int[] dstRows, Tensor src);

  // ---- linear algebra ----

  /**
   * {@code out = alpha · op(a) · op(b) + beta · out}, op transposing when asked. With beta = 1 it
   * accumulates; with beta = 0 the old contents of {@code out} are ignored (even NaN).
   */
  void gemm(
      Tensor out, Tensor a, boolean transA, Tensor b, boolean transB, float alpha, float beta);

  /**
   * {@code x} as {@link #gemm} reads it: where products take a narrower type than activations (CUDA
   * in bf16 precision) a converted copy, valid until the same thread's next call; elsewhere {@code
   * x} itself. Several products of one input then convert it once (q, k and v; gate and up).
   */
  default Tensor productOperand(Tensor x) {
    return x;
  }

  /** {@code acc += scale · x} (same shape). */
  void axpy(Tensor acc, Tensor x, float scale);

  /** {@code out = a + b} (same shapes; {@code out} may be {@code a} or {@code b}). */
  default void add(Tensor out, Tensor a, Tensor b) {
    if (out == b) {
      axpy(out, a, 1f);
      return;
    }
    if (out != a) {
      copy(out, a);
    }
    axpy(out, b, 1f);
  }

  /**
   * The adapter path of a projection: {@code u [N, r] = x [N, in] · Aᵀ} (saved for the backward
   * pass), then {@code y [N, out] += scale · u · Bᵀ}, for {@code A [r, in]}, {@code B [out, r]}.
   */
  default void loraForward(Tensor y, Tensor u, Tensor x, Tensor a, Tensor b, float scale) {
    gemm(u, x, false, a, true, 1f, 0f);
    loraUp(y, u, b, scale);
  }

  /**
   * The second half of {@link #loraForward} for a {@code u [N, r]} formed already ({@link
   * #rmsnormForProduct}): {@code y [N, out] += scale · u · Bᵀ}.
   */
  default void loraUp(Tensor y, Tensor u, Tensor b, float scale) {
    gemm(y, u, false, b, true, scale, 1f);
  }

  /**
   * {@link #loraUp} for several adapters at once ({@code ys[i] += scales[i] · us[i] · bs[i]ᵀ}), the
   * adapters of projections that read the same input (a GPU backend runs them as one launch).
   */
  default void loraUps(List<Tensor> ys, List<Tensor> us, List<Tensor> bs, float[] scales) {
    if (us.size() != ys.size() || bs.size() != ys.size() || scales.length != ys.size()) {
      throw new IllegalArgumentException(
          "loraUps: "
              + ys.size()
              + " outputs, "
              + us.size()
              + " u, "
              + bs.size()
              + " B and "
              + scales.length
              + " scales; expected one of each per output");
    }
    for (int i = 0; i < ys.size(); i++) {
      loraUp(ys.get(i), us.get(i), bs.get(i), scales[i]);
    }
  }

  /**
   * The backward pass of {@link #loraForward} given {@code dy [N, out]}: {@code du [N, r] = scale ·
   * dy · B} (overwritten), then, each when not null, {@code dB [out, r] += scale · dyᵀ · u}, {@code
   * dA [r, in] += duᵀ · x} and {@code dx [N, in] += du · A}.
   */
  default void loraBackward(
      Tensor dx,
      Tensor du,
      Tensor dA,
      Tensor dB,
      Tensor dy,
      Tensor x,
      Tensor u,
      Tensor a,
      Tensor b,
      float scale) {
    if (dB != null) {
      gemm(dB, dy, true, u, false, scale, 1f);
    }
    gemm(du, dy, false, b, false, scale, 0f);
    if (dA != null) {
      gemm(dA, du, true, x, false, 1f, 1f);
    }
    if (dx != null) {
      gemm(dx, du, false, a, false, 1f, 1f);
    }
  }

  /** {@code x[n, :] += bias[0, :]} for every row n. */
  void addBias(Tensor x, Tensor bias);

  /** {@code acc[0, :] += Σ_n x[n, :]}: the gradient of a bias. */
  void sumRowsInto(Tensor acc, Tensor x);

  /** Sum of squares of every element, in double: for gradient norms. */
  double sumOfSquares(Tensor t);

  // ---- normalisation, position, activation ----

  /**
   * RMSNorm over each group of {@code width} consecutive columns (width = C for layer norms, HS for
   * Qwen3's per-head q/k norms): {@code out = x / sqrt(mean(x²) + eps) · weight}. Saves {@code rstd
   * [N, cols / width]} for the backward pass.
   */
  void rmsnorm(Tensor out, Tensor rstd, Tensor x, Tensor weight, int width, float eps);

  /**
   * The residual add and the following norm: {@code sum = a + b}, then {@code out = rmsnorm(sum)}
   * over whole rows as {@link #rmsnorm} with width C. A backend may fuse them.
   */
  default void addRmsnorm(
      Tensor sum, Tensor out, Tensor rstd, Tensor a, Tensor b, Tensor weight, float eps) {
    add(sum, a, b);
    rmsnorm(out, rstd, sum, weight, sum.cols(), eps);
  }

  /**
   * {@link #rmsnorm} over whole rows, returning {@code out} as products read it (see {@link
   * #productOperand}; valid until the same thread's next call of this method): a backend whose
   * products take a narrower type writes that copy in the same pass (the input of q, k and v). For
   * the adapters that read {@code out} it also forms their first halves, {@code loraU.get(i) [N, r]
   * = out · loraA.get(i)ᵀ} (lists of equal length, maybe empty), which {@link #loraUp} completes; a
   * backend may do that in the same pass too.
   */
  default Tensor rmsnormForProduct(
      Tensor out,
      Tensor rstd,
      Tensor x,
      Tensor weight,
      float eps,
      List<Tensor> loraA,
      List<Tensor> loraU) {
    rmsnorm(out, rstd, x, weight, x.cols(), eps);
    loraDown(loraU, out, loraA);
    return productOperand(out);
  }

  /** {@link #addRmsnorm}, then as {@link #rmsnormForProduct} (gate and up read its output). */
  default Tensor addRmsnormForProduct(
      Tensor sum,
      Tensor out,
      Tensor rstd,
      Tensor a,
      Tensor b,
      Tensor weight,
      float eps,
      List<Tensor> loraA,
      List<Tensor> loraU) {
    addRmsnorm(sum, out, rstd, a, b, weight, eps);
    loraDown(loraU, out, loraA);
    return productOperand(out);
  }

  /** {@code us.get(i) = x · as.get(i)ᵀ} for adapters reading one input (the lists' sizes equal). */
  private void loraDown(List<Tensor> us, Tensor x, List<Tensor> as) {
    if (us.size() != as.size()) {
      throw new IllegalArgumentException(
          "adapters reading one input: " + as.size() + " A tensors for " + us.size() + " outputs");
    }
    for (int i = 0; i < as.size(); i++) {
      gemm(us.get(i), x, false, as.get(i), true, 1f, 0f);
    }
  }

  /**
   * Backward of {@link #rmsnorm}: {@code dx} accumulates (+=), {@code dweight [1, width]}
   * accumulates when not null.
   */
  void rmsnormBackward(
      Tensor dx, Tensor dweight, Tensor dout, Tensor x, Tensor weight, Tensor rstd, int width);

  /**
   * Rotary position embedding in place on {@code x [N, heads·HS]}, Hugging Face's rotate-half
   * layout: for each head and i &lt; HS/2, the pair {@code (x[i], x[i + HS/2])} turns by angle
   * {@code positions[n] · invFreq[i]}. {@code cos}/{@code sin} are {@code [maxPositions, HS/2]}
   * tables. With {@code inverse} it turns by the negative angle: that is the backward pass.
   */
  void rope(Tensor x, int headSize, int[] positions, Tensor cos, Tensor sin, boolean inverse);

  /**
   * A decode step's attention inputs in one call. With {@code qkv} not null, q, k and v are first
   * copied out of it ({@code qkv [N, Q + 2·KV]} is one product of the three projections, their
   * columns side by side: {@link #copyColumns}); with {@code qkv} null they hold their products
   * already. Then the biases that are not null are added ({@link #addBias}), and the q, k and v
   * adapters' output terms ({@link #loraUps} of {@code loraYs}, each of which is {@code q}, {@code
   * k} or {@code v}; empty lists for none); {@link #rope} turns {@code q} and {@code k}, and {@code
   * k} and {@code v} go into rows {@code cacheRows} of {@code keyCache} and {@code valueCache}
   * ({@link #scatterRows}). A GPU backend does it in one launch.
   */
  default void ropeIntoCache(
      Tensor qkv,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor qBias,
      Tensor kBias,
      Tensor vBias,
      List<Tensor> loraYs,
      List<Tensor> loraUs,
      List<Tensor> loraBs,
      float[] loraScales,
      int headSize,
      int[] positions,
      Tensor cos,
      Tensor sin,
      Tensor keyCache,
      Tensor valueCache,
      int[] cacheRows) {
    if (qkv != null) {
      Tensor.requireShape("q/k/v product", qkv, q.rows(), q.cols() + k.cols() + v.cols());
      copyColumns(q, qkv, 0);
      copyColumns(k, qkv, q.cols());
      copyColumns(v, qkv, q.cols() + k.cols());
    }
    Tensor[] outputs = {q, k, v};
    Tensor[] biases = {qBias, kBias, vBias};
    for (int i = 0; i < 3; i++) {
      if (biases[i] != null) {
        addBias(outputs[i], biases[i]);
      }
    }
    if (!loraYs.isEmpty()) {
      loraUps(loraYs, loraUs, loraBs, loraScales);
    }
    rope(q, headSize, positions, cos, sin, false);
    rope(k, headSize, positions, cos, sin, false);
    scatterRows(keyCache, cacheRows, k);
    scatterRows(valueCache, cacheRows, v);
  }

  /**
   * {@code out [N, w] = in [N, ≥ first + w]}'s columns {@code [first, first + w)}: one block of a
   * product whose output holds several projections side by side.
   */
  void copyColumns(Tensor out, Tensor in, int first);

  /** {@code out = silu(gate) · up}, elementwise. */
  void swiglu(Tensor out, Tensor gate, Tensor up);

  /** Backward of {@link #swiglu}; {@code dgate} and {@code dup} are overwritten. */
  void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up);

  /**
   * {@link #swiglu}, returning {@code out} as products read it (see {@link #productOperand}; valid
   * until the same thread's next call of this method). A backend whose products take a narrower
   * type writes that copy in the same pass instead of converting {@code out} afterwards.
   */
  default Tensor swigluForProduct(Tensor out, Tensor gate, Tensor up) {
    swiglu(out, gate, up);
    return out;
  }

  /**
   * {@link #swigluForProduct} of {@code gate + gateScale · gateU · gateBᵀ} and {@code up + upScale
   * · upU · upBᵀ}: the two adapters' output terms ({@link #loraUp}) added on the way, for a forward
   * whose activations no backward reads ({@code gate} and {@code up} may or may not hold the terms
   * afterwards). A null u: that projection has no adapter.
   */
  default Tensor swigluForProductWithLoraUps(
      Tensor out,
      Tensor gate,
      Tensor up,
      Tensor gateU,
      Tensor gateB,
      float gateScale,
      Tensor upU,
      Tensor upB,
      float upScale) {
    if (gateU != null) {
      loraUp(gate, gateU, gateB, gateScale);
    }
    if (upU != null) {
      loraUp(up, upU, upB, upScale);
    }
    return swigluForProduct(out, gate, up);
  }

  /**
   * {@link #swigluBackward}, returning {@code dgate} and {@code dup} as products read them (as
   * {@link #swigluForProduct} does for the forward; valid until this thread's next call).
   */
  default GatedPair swigluBackwardForProducts(
      Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up) {
    swigluBackward(dgate, dup, dout, gate, up);
    return new GatedPair(dgate, dup);
  }

  /** One tensor for the gate projection and one for the up projection. */
  record GatedPair(Tensor gate, Tensor up) {}

  /** {@code out[n, :] = table[ids[n], :]}. */
  void embedding(Tensor out, Tensor table, int[] ids);

  /** {@code dtable[ids[n], :] += dout[n, :]}. */
  void embeddingBackward(Tensor dtable, Tensor dout, int[] ids);

  // ---- attention ----

  /**
   * Causal scaled-dot-product attention with grouped query heads: query head h reads key/value head
   * {@code h / (NH / NKV)}. {@code q, out: [Nq, NH·HS]}, {@code k, v: [Nk, NKV·HS]}, {@code lse:
   * [Nq, NH]} saves each row's log-sum-exp of scaled scores for the backward pass.
   */
  void attention(
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize);

  /**
   * {@link #attention}, returning {@code out} as products read it (see {@link #productOperand};
   * valid until the same thread's next call of this method): a backend whose products take a
   * narrower type may write that copy as it writes {@code out} (the input of o_proj).
   */
  default Tensor attentionForProduct(
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize) {
    attention(out, lse, q, k, v, batch, numHeads, numKvHeads, headSize);
    return productOperand(out);
  }

  /**
   * Backward of {@link #attention}, recomputing the probabilities from {@code lse} instead of
   * storing them. {@code dq}, {@code dk}, {@code dv} accumulate (+=).
   */
  void attentionBackward(
      Tensor dq,
      Tensor dk,
      Tensor dv,
      Tensor dout,
      Tensor out,
      Tensor lse,
      Tensor q,
      Tensor k,
      Tensor v,
      AttentionBatch batch,
      int numHeads,
      int numKvHeads,
      int headSize);

  // ---- output head ----

  /**
   * Log-probabilities of target tokens under {@code softmax(hidden · headᵀ / temperature)}: {@code
   * out[n] = log p(targets[n])} for {@code hidden [N, C]}, {@code head [V, C]}. Computed chunk by
   * chunk of rows so no {@code [N, V]} buffer exists; rows with target &lt; 0 are skipped (left 0).
   */
  void targetLogprobs(float[] out, Tensor hidden, Tensor head, int[] targets, float temperature);

  /**
   * Backward of {@link #targetLogprobs} given {@code dlogprob[n] = dLoss/d out[n]}: {@code dhidden}
   * accumulates; {@code dhead} accumulates when not null. Chunked the same way.
   */
  void targetLogprobsBackward(
      Tensor dhidden,
      Tensor dhead,
      float[] dlogprob,
      Tensor hidden,
      Tensor head,
      int[] targets,
      float temperature);

  /** {@code out [N, V] = hidden · headᵀ / temperature}: full logits, for a few rows only. */
  void logits(Tensor out, Tensor hidden, Tensor head, float temperature);

  // ---- sampling ----

  /**
   * One token per row of raw logits {@code [B, V]}, as {@link HostSampling#sample} defines it:
   * greedy where {@code uniform[b] < 0}, else drawn by inverse CDF in id order; {@code logprobs[b]}
   * is the token's log-probability under {@code softmax(logits · invT[b])} over the full
   * vocabulary. This default downloads the logits; a GPU backend overrides it so that only the B
   * tokens and logprobs cross to the host.
   */
  default void sampleTokens(
      Tensor logits,
      double[] inverseTemperature,
      double[] uniform,
      int[] tokens,
      double[] logprobs) {
    float[] all = download(logits);
    int vocab = logits.cols();
    for (int b = 0; b < logits.rows(); b++) {
      HostSampling.Sampled s =
          HostSampling.sample(all, b * vocab, vocab, inverseTemperature[b], uniform[b]);
      tokens[b] = s.token();
      logprobs[b] = s.logprob();
    }
  }

  // ---- repeated steps ----

  /**
   * Runs {@code step}: a sequence of ops that, for a given {@code key}, makes the same calls on the
   * same tensors each time, only host int arrays (ids, positions, layouts) changing; it reads
   * nothing back to the host. A GPU backend may record it once and replay the recording (CUDA
   * graphs), checking on every replay that the calls still match; this default just runs it.
   */
  default void replayable(Object key, Runnable step) {
    step.run();
  }

  // ---- optimizer ----

  /**
   * One AdamW step on {@code param} with gradient {@code gradScale · grad}: moments {@code m},
   * {@code v} (same shape, updated in place), bias correction for step {@code step} (1-based),
   * decoupled weight decay {@code param -= lr · weightDecay · param}.
   */
  void adamw(
      Tensor param,
      Tensor grad,
      Tensor m,
      Tensor v,
      float gradScale,
      float lr,
      float beta1,
      float beta2,
      float eps,
      float weightDecay,
      int step);
}
