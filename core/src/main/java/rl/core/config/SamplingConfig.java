package rl.core.config;

import java.util.List;

/**
 * How the sampler draws completions. Logprobs are always of {@code softmax(logits / temperature)}
 * over the full vocabulary; top-p and top-k only choose which token is drawn.
 *
 * @param temperature softmax temperature, also used by the learner
 * @param topP nucleus sampling mass; 1 keeps the whole distribution
 * @param topK keep only the k most likely tokens; 0 keeps all
 * @param maxTokens most tokens generated per completion
 * @param stop strings that end a completion (not included in it)
 */
public record SamplingConfig(
    double temperature, double topP, int topK, int maxTokens, List<String> stop) {

  public static final SamplingConfig DEFAULTS = new SamplingConfig(1.0, 1.0, 0, 256, List.of());

  public SamplingConfig {
    Checks.positive("temperature", temperature);
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], found " + topP);
    }
    Checks.atLeast("top_k", topK, 0);
    Checks.atLeast("max_tokens", maxTokens, 1);
    stop = stop == null ? List.of() : List.copyOf(stop);
  }
}
