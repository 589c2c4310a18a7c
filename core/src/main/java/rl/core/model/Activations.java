package rl.core.model;

import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * Preallocated buffers for forward passes of up to {@code capacity} tokens. For training every
 * layer keeps its own buffers (what backward reads); for inference one set is reused by all layers.
 * Buffer names say what they hold; shapes use N tokens, C channels, I MLP width, r LoRA rank.
 */
public final class Activations {
  final Ops ops;
  final int capacity;
  final boolean training;

  /** Layer inputs: {@code residual[l] [N, C]} enters layer l; the last is the final residual. */
  final Tensor[] residual;

  final LayerBuffers[] layers;

  /** Final RMSNorm: its rstd {@code [N, 1]} and output {@code [N, C]}, the hidden states. */
  final Tensor finalRstd;

  final Tensor hidden;

  /** Shared scratch {@code [N, C]} for a projection's output before the residual add. */
  final Tensor projected;

  /** Backward scratch; null for inference. */
  final BackwardBuffers backward;

  /** The batch the buffers were last filled for. */
  SequenceBatch batch;

  boolean adapterOn;

  Activations(Ops ops, HfModelConfig config, int capacity, int rank, boolean training) {
    this.ops = ops;
    this.capacity = capacity;
    this.training = training;
    int c = config.hiddenSize();
    int layerCount = training ? config.numLayers() : 1;
    residual = new Tensor[training ? config.numLayers() + 1 : 2];
    for (int i = 0; i < residual.length; i++) {
      residual[i] = ops.zeros(capacity, c);
    }
    layers = new LayerBuffers[layerCount];
    for (int l = 0; l < layerCount; l++) {
      layers[l] = new LayerBuffers(ops, config, capacity, rank, training);
    }
    finalRstd = ops.zeros(capacity, 1);
    hidden = ops.zeros(capacity, c);
    projected = ops.zeros(capacity, c);
    backward = training ? new BackwardBuffers(ops, config, capacity, rank) : null;
  }

  public int capacity() {
    return capacity;
  }

  public boolean training() {
    return training;
  }

  Tensor residualIn(int layer) {
    return residual[training ? layer : layer % 2];
  }

  Tensor residualOut(int layer) {
    return residual[training ? layer + 1 : (layer + 1) % 2];
  }

  LayerBuffers layer(int layer) {
    return layers[training ? layer : 0];
  }

  /** Forward buffers of one layer. */
  static final class LayerBuffers {
    final Tensor norm1Rstd; // [N, 1]
    final Tensor norm1Out; // [N, C]  input of q/k/v projections
    final Tensor qkv; // [N, NH·HS + 2·NKV·HS] q, k and v's one product (decoding); null in training
    final Tensor qRaw; // [N, NH·HS] q projection output
    final Tensor q; // [N, NH·HS] after q-norm (Qwen3) and RoPE; same tensor as qRaw otherwise
    final Tensor qRstd; // [N, NH]
    final Tensor kRaw; // [N, NKV·HS]
    final Tensor k; // [N, NKV·HS]
    final Tensor kRstd; // [N, NKV]
    final Tensor v; // [N, NKV·HS]
    final Tensor attention; // [N, NH·HS] attention output, input of o_proj
    final Tensor lse; // [N, NH] attention log-sum-exp
    final Tensor afterAttention; // [N, C] residual after attention
    final Tensor norm2Rstd; // [N, 1]
    final Tensor norm2Out; // [N, C] input of gate/up
    final Tensor gate; // [N, I]
    final Tensor up; // [N, I]
    final Tensor mlpHidden; // [N, I] silu(gate) · up, input of down_proj
    final Tensor[] loraU; // per projection kind: [N, r] = x · Aᵀ

    LayerBuffers(Ops ops, HfModelConfig config, int n, int rank, boolean training) {
      int c = config.hiddenSize();
      int qWidth = config.numHeads() * config.headDim();
      int kvWidth = config.numKvHeads() * config.headDim();
      int i = config.intermediateSize();
      norm1Rstd = ops.zeros(n, 1);
      norm1Out = ops.zeros(n, c);
      qkv = training || config.qkNorm() ? null : ops.zeros(n, qWidth + 2 * kvWidth);
      qRaw = ops.zeros(n, qWidth);
      kRaw = ops.zeros(n, kvWidth);
      if (config.qkNorm()) {
        q = ops.zeros(n, qWidth);
        k = ops.zeros(n, kvWidth);
      } else {
        q = qRaw;
        k = kRaw;
      }
      qRstd = ops.zeros(n, config.numHeads());
      kRstd = ops.zeros(n, config.numKvHeads());
      v = ops.zeros(n, kvWidth);
      attention = ops.zeros(n, qWidth);
      lse = ops.zeros(n, config.numHeads());
      afterAttention = ops.zeros(n, c);
      norm2Rstd = ops.zeros(n, 1);
      norm2Out = ops.zeros(n, c);
      gate = ops.zeros(n, i);
      up = ops.zeros(n, i);
      mlpHidden = ops.zeros(n, i);
      loraU = new Tensor[DecoderLayer.KINDS.size()];
      for (int p = 0; p < loraU.length; p++) {
        loraU[p] = rank > 0 ? ops.zeros(n, rank) : null;
      }
    }
  }

  /** Gradient scratch shared by all layers during backward. */
  static final class BackwardBuffers {
    final Tensor dResidual; // [N, C] gradient flowing down the residual stream
    final Tensor dNormOut; // [N, C] gradient of a norm's output
    final Tensor dQ; // [N, NH·HS]
    final Tensor dQRaw; // [N, NH·HS] (Qwen3 only)
    final Tensor dK; // [N, NKV·HS]
    final Tensor dKRaw; // [N, NKV·HS] (Qwen3 only)
    final Tensor dV; // [N, NKV·HS]
    final Tensor dAttention; // [N, NH·HS]
    final Tensor dMlpHidden; // [N, I]
    final Tensor dGate; // [N, I]
    final Tensor dUp; // [N, I]
    final Tensor dLoraU; // [N, r]
    final Tensor dHidden; // [N, C] gradient of the final hidden states

    BackwardBuffers(Ops ops, HfModelConfig config, int n, int rank) {
      int c = config.hiddenSize();
      int qWidth = config.numHeads() * config.headDim();
      int kvWidth = config.numKvHeads() * config.headDim();
      int i = config.intermediateSize();
      dResidual = ops.zeros(n, c);
      dNormOut = ops.zeros(n, c);
      dQ = ops.zeros(n, qWidth);
      dQRaw = config.qkNorm() ? ops.zeros(n, qWidth) : dQ;
      dK = ops.zeros(n, kvWidth);
      dKRaw = config.qkNorm() ? ops.zeros(n, kvWidth) : dK;
      dV = ops.zeros(n, kvWidth);
      dAttention = ops.zeros(n, qWidth);
      dMlpHidden = ops.zeros(n, i);
      dGate = ops.zeros(n, i);
      dUp = ops.zeros(n, i);
      dLoraU = rank > 0 ? ops.zeros(n, rank) : null;
      dHidden = ops.zeros(n, c);
    }
  }
}
