package rl.core.messages;

import java.util.Map;
import rl.core.safetensors.FloatTensor;

/**
 * New policy weights for the sampler, by value: with LoRA, every A and B tensor under its PEFT key
 * name; with full fine-tuning, every weight of the model under its checkpoint name.
 *
 * @param version the policy version the tensors are; tokens drawn with them carry it
 * @param tensors tensor name to tensor
 */
public record AdapterUpdate(int version, Map<String, FloatTensor> tensors) {
  public AdapterUpdate {
    tensors = Map.copyOf(tensors);
  }
}
