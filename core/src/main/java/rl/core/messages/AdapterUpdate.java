package rl.core.messages;

import java.util.Map;
import rl.core.safetensors.FloatTensor;

/**
 * New LoRA weights for the sampler, by value: every A and B tensor under its PEFT key name.
 *
 * @param version the policy version the tensors are; tokens drawn with them carry it
 * @param tensors PEFT key name to tensor
 */
public record AdapterUpdate(int version, Map<String, FloatTensor> tensors) {
  public AdapterUpdate {
    tensors = Map.copyOf(tensors);
  }
}
