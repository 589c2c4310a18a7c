package rl.core.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The policy model.
 *
 * @param path a Hugging Face model directory ({@code config.json}, {@code *.safetensors})
 * @param adapter an optional PEFT adapter directory to start from; empty for none
 * @param backend which tensor backend computes the model
 */
public record ModelConfig(
    @JsonProperty(required = true) String path, String adapter, Backend backend) {

  public static final ModelConfig DEFAULTS = new ModelConfig(null, "", Backend.AUTO);

  public enum Backend {
    /** CUDA when a supported GPU and its libraries are present, else ND4J on the CPU. */
    @JsonProperty("auto")
    AUTO,
    @JsonProperty("nd4j")
    ND4J,
    @JsonProperty("cuda")
    CUDA
  }

  public ModelConfig {
    if (adapter == null) {
      adapter = "";
    }
    if (backend == null) {
      throw new IllegalArgumentException("backend must be one of auto, nd4j, cuda");
    }
  }
}
