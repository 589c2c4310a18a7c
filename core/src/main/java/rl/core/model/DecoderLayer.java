package rl.core.model;

import java.util.ArrayList;
import java.util.List;
import rl.core.tensor.AttentionBatch;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * One pre-norm decoder block: {@code x + attention(norm1(x))}, then {@code + mlp(norm2(·))}, with
 * grouped-query attention, RoPE, optional q/k/v biases (Qwen2) and per-head q/k RMSNorm (Qwen3).
 */
final class DecoderLayer {
  /** Projection kinds in a fixed order; LoRA targets and per-projection buffers use it. */
  static final List<String> KINDS =
      List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

  final int index;
  final Parameter inputNorm; // [1, C]
  final Parameter postAttentionNorm; // [1, C]
  final Parameter qNorm; // [1, HS] Qwen3, else null
  final Parameter kNorm; // [1, HS] Qwen3, else null
  final Linear q; // [NH·HS, C]
  final Linear k; // [NKV·HS, C]
  final Linear v; // [NKV·HS, C]
  final Linear o; // [C, NH·HS]
  final Linear gate; // [I, C]
  final Linear up; // [I, C]
  final Linear down; // [C, I]

  /**
   * q, k and v's weights as row blocks of one tensor {@code [NH·HS + 2·NKV·HS, C]}, so that a
   * decode step forms the three products in one (a wider product runs nearer the GPU's memory
   * bandwidth than three narrow ones). {@link #qkvViews} are the views the three weights were
   * given: a weight replaced since (a merged adapter, a restored checkpoint) turns the fused
   * product off.
   */
  final Tensor qkvWeight;

  private final List<Tensor> qkvViews;

  DecoderLayer(
      int index,
      Parameter inputNorm,
      Parameter postAttentionNorm,
      Parameter qNorm,
      Parameter kNorm,
      Linear[] projections,
      Tensor qkvWeight,
      List<Tensor> qkvViews) {
    this.index = index;
    this.inputNorm = inputNorm;
    this.postAttentionNorm = postAttentionNorm;
    this.qNorm = qNorm;
    this.kNorm = kNorm;
    this.q = projections[0];
    this.k = projections[1];
    this.v = projections[2];
    this.o = projections[3];
    this.gate = projections[4];
    this.up = projections[5];
    this.down = projections[6];
    this.qkvWeight = qkvWeight;
    this.qkvViews = qkvViews;
  }

  /** Whether q, k and v's weights are still the row blocks of {@link #qkvWeight}. */
  boolean qkvFused() {
    return Parameter.holdValues(List.of(q.weight, k.weight, v.weight), qkvViews);
  }

  /** The views q, k and v's weights were given of {@link #qkvWeight}. */
  List<Tensor> qkvViews() {
    return qkvViews;
  }

  /** The projections in {@link #KINDS} order. */
  Linear[] projections() {
    return new Linear[] {q, k, v, o, gate, up, down};
  }

  /**
   * {@code out [N, C] = layer(x [N, C])}. With a cache, the new tokens' keys and values are written
   * to it and attention reads the cache; otherwise attention reads this batch's own.
   */
  void forward(
      Decoder model,
      Activations acts,
      Activations.LayerBuffers b,
      Tensor x,
      Tensor out,
      SequenceBatch batch,
      KvCache cache) {
    Ops ops = model.ops;
    HfModelConfig cfg = model.config;
    int n = batch.tokens();
    int hs = cfg.headDim();
    float eps = (float) cfg.rmsNormEps();
    boolean lora = acts.adapterOn;
    Tensor xn = rows(ops, b.norm1Out, n);
    // The norm also writes the copy the three products read (bf16 on a GPU) and forms their
    // adapters' u.
    List<Tensor> loraA = new ArrayList<>(3);
    List<Tensor> loraU = new ArrayList<>(3);
    adapterInputs(ops, b, n, lora, 0, loraA, loraU);
    Tensor xnProduct =
        ops.rmsnormForProduct(
            xn, rows(ops, b.norm1Rstd, n), x, inputNorm.value(), eps, loraA, loraU);
    Tensor qRaw = rows(ops, b.qRaw, n);
    Tensor kRaw = rows(ops, b.kRaw, n);
    Tensor vv = rows(ops, b.v, n);
    Linear.AdapterOutputs ups = new Linear.AdapterOutputs();
    boolean intoCache = cache != null && qNorm == null;
    Tensor qkv = null; // q, k and v's one product, when their weights are fused
    if (intoCache && b.qkv != null && qkvFused()) {
      qkv = rows(ops, b.qkv, n);
      ops.gemm(
          qkv, Linear.productInput(ops, qkvWeight, xn, xnProduct), false, qkvWeight, true, 1f, 0f);
      q.deferAdapter(qRaw, u(ops, b, 0, n), lora, ups);
      k.deferAdapter(kRaw, u(ops, b, 1, n), lora, ups);
      v.deferAdapter(vv, u(ops, b, 2, n), lora, ups);
    } else {
      q.forwardWithAdapterInput(ops, qRaw, xn, xnProduct, u(ops, b, 0, n), lora, ups);
      k.forwardWithAdapterInput(ops, kRaw, xn, xnProduct, u(ops, b, 1, n), lora, ups);
      v.forwardWithAdapterInput(ops, vv, xn, xnProduct, u(ops, b, 2, n), lora, ups);
    }
    Tensor qq = rows(ops, b.q, n);
    Tensor kk = rows(ops, b.k, n);
    model.ensureRope(maxPosition(batch) + 1);
    Tensor keys = kk;
    Tensor values = vv;
    if (intoCache) {
      // decoding: the split of the fused product, biases, adapters' terms, RoPE and the cache
      // writes in one call
      ups.ropeIntoCache(
          ops,
          qkv,
          qq,
          kk,
          vv,
          qkv == null ? null : biasOf(q),
          qkv == null ? null : biasOf(k),
          qkv == null ? null : biasOf(v),
          hs,
          batch.positions(),
          model.ropeCos,
          model.ropeSin,
          cache.keys(index),
          cache.values(index),
          batch.cacheRows());
      keys = cache.keys(index);
      values = cache.values(index);
    } else {
      ups.add(ops);
      if (qNorm != null) {
        ops.rmsnorm(qq, rows(ops, b.qRstd, n), qRaw, qNorm.value(), hs, eps);
        ops.rmsnorm(kk, rows(ops, b.kRstd, n), kRaw, kNorm.value(), hs, eps);
      }
      ops.rope(qq, hs, batch.positions(), model.ropeCos, model.ropeSin, false);
      ops.rope(kk, hs, batch.positions(), model.ropeCos, model.ropeSin, false);
      if (cache != null) {
        ops.scatterRows(cache.keys(index), batch.cacheRows(), kk);
        ops.scatterRows(cache.values(index), batch.cacheRows(), vv);
        keys = cache.keys(index);
        values = cache.values(index);
      }
    }
    Tensor att = rows(ops, b.attention, n);
    Tensor attProduct =
        ops.attentionForProduct(
            att,
            rows(ops, b.lse, n),
            qq,
            keys,
            values,
            batch.attention(),
            cfg.numHeads(),
            cfg.numKvHeads(),
            hs);
    // afterAttention = x + o_proj(att)
    Tensor projected = rows(ops, acts.projected, n);
    o.forward(ops, projected, att, attProduct, u(ops, b, 3, n), lora);
    Tensor mid = rows(ops, b.afterAttention, n);
    Tensor xn2 = rows(ops, b.norm2Out, n);
    loraA.clear();
    loraU.clear();
    adapterInputs(ops, b, n, lora, 4, loraA, loraU);
    Tensor xn2Product =
        ops.addRmsnormForProduct(
            mid,
            xn2,
            rows(ops, b.norm2Rstd, n),
            x,
            projected,
            postAttentionNorm.value(),
            eps,
            loraA,
            loraU);
    Tensor g = rows(ops, b.gate, n);
    Tensor uu = rows(ops, b.up, n);
    gate.forwardWithAdapterInput(ops, g, xn2, xn2Product, u(ops, b, 4, n), lora, ups);
    up.forwardWithAdapterInput(ops, uu, xn2, xn2Product, u(ops, b, 5, n), lora, ups);
    Tensor h = rows(ops, b.mlpHidden, n);
    Tensor hProduct;
    if (acts.training) {
      ups.add(ops); // the backward reads gate and up with their adapters' terms
      hProduct = ops.swigluForProduct(h, g, uu);
    } else {
      hProduct = ups.swigluForProduct(ops, h, g, uu);
    }
    // out = afterAttention + down_proj(h)
    down.forward(ops, projected, h, hProduct, u(ops, b, 6, n), lora);
    ops.add(out, mid, projected);
  }

  /**
   * Backward through the layer: {@code dx [N, C]} holds the gradient of the layer's output on entry
   * and of its input on exit; parameter gradients accumulate.
   */
  void backward(Decoder model, Activations acts, Tensor x, Tensor dx) {
    Ops ops = model.ops;
    HfModelConfig cfg = model.config;
    Activations.LayerBuffers b = acts.layer(index);
    Activations.BackwardBuffers g = acts.backward;
    SequenceBatch batch = acts.batch;
    AttentionBatch attn = batch.attention();
    int n = batch.tokens();
    int hs = cfg.headDim();
    int c = cfg.hiddenSize();
    boolean lora = acts.adapterOn;
    Tensor du = g.dLoraU == null ? null : rows(ops, g.dLoraU, n);

    // out = mid + down(h): dmid = dout; dh = down backward. Each first contribution to a
    // gradient buffer overwrites it (no zeroing pass).
    Tensor dh = rows(ops, g.dMlpHidden, n);
    down.backward(ops, dh, false, dx, rows(ops, b.mlpHidden, n), u(ops, b, 6, n), du, lora);
    Tensor dGate = rows(ops, g.dGate, n);
    Tensor dUp = rows(ops, g.dUp, n);
    Ops.GatedPair products =
        ops.swigluBackwardForProducts(dGate, dUp, dh, rows(ops, b.gate, n), rows(ops, b.up, n));
    Tensor xn2 = rows(ops, b.norm2Out, n);
    Tensor dxn = rows(ops, g.dNormOut, n);
    gate.backward(ops, dxn, false, dGate, products.gate(), xn2, u(ops, b, 4, n), du, lora);
    up.backward(ops, dxn, true, dUp, products.up(), xn2, u(ops, b, 5, n), du, lora);
    ops.rmsnormBackward(
        dx,
        postAttentionNorm.gradIfTrainable(ops),
        dxn,
        rows(ops, b.afterAttention, n),
        postAttentionNorm.value(),
        rows(ops, b.norm2Rstd, n),
        c);

    // mid = x + o(att): dx keeps flowing; datt = o backward.
    Tensor att = rows(ops, b.attention, n);
    Tensor dAtt = rows(ops, g.dAttention, n);
    o.backward(ops, dAtt, false, dx, att, u(ops, b, 3, n), du, lora);
    Tensor dq = zeroed(ops, g.dQ, n);
    Tensor dk = zeroed(ops, g.dK, n);
    Tensor dv = zeroed(ops, g.dV, n);
    Tensor qq = rows(ops, b.q, n);
    Tensor kk = rows(ops, b.k, n);
    Tensor vv = rows(ops, b.v, n);
    ops.attentionBackward(
        dq,
        dk,
        dv,
        dAtt,
        att,
        rows(ops, b.lse, n),
        qq,
        kk,
        vv,
        attn,
        cfg.numHeads(),
        cfg.numKvHeads(),
        hs);
    // RoPE is a rotation: its backward rotates the gradient back.
    ops.rope(dq, hs, batch.positions(), model.ropeCos, model.ropeSin, true);
    ops.rope(dk, hs, batch.positions(), model.ropeCos, model.ropeSin, true);
    Tensor dqRaw = dq;
    Tensor dkRaw = dk;
    if (qNorm != null) {
      dqRaw = zeroed(ops, g.dQRaw, n);
      dkRaw = zeroed(ops, g.dKRaw, n);
      ops.rmsnormBackward(
          dqRaw,
          qNorm.gradIfTrainable(ops),
          dq,
          rows(ops, b.qRaw, n),
          qNorm.value(),
          rows(ops, b.qRstd, n),
          hs);
      ops.rmsnormBackward(
          dkRaw,
          kNorm.gradIfTrainable(ops),
          dk,
          rows(ops, b.kRaw, n),
          kNorm.value(),
          rows(ops, b.kRstd, n),
          hs);
    }
    Tensor xn = rows(ops, b.norm1Out, n);
    dxn = rows(ops, g.dNormOut, n);
    q.backward(ops, dxn, false, dqRaw, xn, u(ops, b, 0, n), du, lora);
    k.backward(ops, dxn, dkRaw, xn, u(ops, b, 1, n), du, lora);
    v.backward(ops, dxn, dv, xn, u(ops, b, 2, n), du, lora);
    ops.rmsnormBackward(
        dx,
        inputNorm.gradIfTrainable(ops),
        dxn,
        x,
        inputNorm.value(),
        rows(ops, b.norm1Rstd, n),
        c);
  }

  private static Tensor biasOf(Linear projection) {
    return projection.bias == null ? null : projection.bias.value();
  }

  private static int maxPosition(SequenceBatch batch) {
    int max = 0;
    for (int p : batch.positions()) {
      max = Math.max(max, p);
    }
    return max;
  }

  private static Tensor rows(Ops ops, Tensor buffer, int n) {
    return ops.rows(buffer, 0, n);
  }

  private static Tensor zeroed(Ops ops, Tensor buffer, int n) {
    Tensor t = ops.rows(buffer, 0, n);
    ops.fill(t, 0f);
    return t;
  }

  private static Tensor u(Ops ops, Activations.LayerBuffers b, int kind, int n) {
    return b.loraU[kind] == null ? null : ops.rows(b.loraU[kind], 0, n);
  }

  /**
   * The A tensors and u buffers of the adapters on the projections that read one norm's output: q,
   * k, v ({@code first} 0) or gate, up ({@code first} 4).
   */
  private void adapterInputs(
      Ops ops,
      Activations.LayerBuffers b,
      int n,
      boolean lora,
      int first,
      List<Tensor> loraA,
      List<Tensor> loraU) {
    Linear[] readers = first == 0 ? new Linear[] {q, k, v} : new Linear[] {gate, up};
    for (int i = 0; i < readers.length; i++) {
      if (readers[i].adapted(lora)) {
        loraA.add(readers[i].loraA().value());
        loraU.add(u(ops, b, first + i, n));
      }
    }
  }
}
