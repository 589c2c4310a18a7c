package rl.core.model;

import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * Keys and values of past tokens, per layer, for {@code slots} sequences of up to {@code maxLength}
 * tokens: layer l's keys are {@code [slots · maxLength, NKV · HS]}, slot s owning rows {@code s ·
 * maxLength ...}. Which slot holds which sequence, and how long it is, is the caller's bookkeeping.
 */
public final class KvCache {
  private final Tensor[] keys;
  private final Tensor[] values;
  private final int slots;
  private final int maxLength;

  public KvCache(Ops ops, HfModelConfig config, int slots, int maxLength) {
    this.slots = slots;
    this.maxLength = maxLength;
    int width = config.numKvHeads() * config.headDim();
    keys = new Tensor[config.numLayers()];
    values = new Tensor[config.numLayers()];
    for (int l = 0; l < config.numLayers(); l++) {
      keys[l] = ops.zerosCache(slots * maxLength, width);
      values[l] = ops.zerosCache(slots * maxLength, width);
    }
  }

  public int slots() {
    return slots;
  }

  public int maxLength() {
    return maxLength;
  }

  public int rowOf(int slot, int position) {
    if (slot < 0 || slot >= slots) {
      throw new IndexOutOfBoundsException("KV cache slot " + slot + " of " + slots);
    }
    return slot * maxLength + position;
  }

  /** Copies the first {@code length} cached positions of slot {@code from} into slot {@code to}. */
  public void copySlot(Ops ops, int from, int to, int length) {
    int src = rowOf(from, 0);
    int dst = rowOf(to, 0);
    for (int l = 0; l < keys.length; l++) {
      ops.copy(ops.rows(keys[l], dst, length), ops.rows(keys[l], src, length));
      ops.copy(ops.rows(values[l], dst, length), ops.rows(values[l], src, length));
    }
  }

  Tensor keys(int layer) {
    return keys[layer];
  }

  Tensor values(int layer) {
    return values[layer];
  }
}
