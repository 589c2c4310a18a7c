package rl.core.messages;

import java.util.Map;
import rl.core.safetensors.FloatTensor;
import rl.core.tensor.Tensor;

/**
 * New policy weights for the sampler: with LoRA, every A and B tensor under its PEFT key name; with
 * full fine-tuning, every weight of the model under its checkpoint name. By value ({@code tensors},
 * host copies), or, when sampler and learner share one backend (colocated on a GPU), as a snapshot
 * on the device ({@code onDevice}: tensors the learner copied its parameters into, which the
 * sampler copies from, device to device). Exactly one of the two maps is non-empty.
 *
 * @param version the policy version the tensors are; tokens drawn with them carry it
 * @param tensors tensor name to host copy
 * @param onDevice tensor name to device snapshot, owned by the update once sent
 * @param whenCopied run by the sampler once its copy of the snapshot is issued: the maker may then
 *     reuse the snapshot's memory for a later snapshot (a backend runs the two copies in order)
 */
public record AdapterUpdate(
    int version,
    Map<String, FloatTensor> tensors,
    Map<String, Tensor> onDevice,
    Runnable whenCopied) {
  public AdapterUpdate {
    tensors = Map.copyOf(tensors);
    onDevice = Map.copyOf(onDevice);
    if (!tensors.isEmpty() && !onDevice.isEmpty()) {
      throw new IllegalArgumentException(
          "adapter update " + version + " carries both host and device tensors");
    }
  }

  /** An update by value. */
  public AdapterUpdate(int version, Map<String, FloatTensor> tensors) {
    this(version, tensors, Map.of(), () -> {});
  }

  /** An update as a device snapshot, for a sampler on the same backend. */
  public static AdapterUpdate onDevice(int version, Map<String, Tensor> snapshot) {
    return onDevice(version, snapshot, () -> {});
  }

  /** The same, telling its maker when the sampler's copy is issued. */
  public static AdapterUpdate onDevice(
      int version, Map<String, Tensor> snapshot, Runnable whenCopied) {
    return new AdapterUpdate(version, Map.of(), snapshot, whenCopied);
  }

  /** How many tensors it carries. */
  public int size() {
    return tensors.size() + onDevice.size();
  }
}
