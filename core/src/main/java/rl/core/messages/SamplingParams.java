package rl.core.messages;

import java.util.List;

/**
 * How completions are drawn. Recorded logprobs are always of {@code softmax(logits / temperature)}
 * over the full vocabulary; top-k, top-p and min-p only restrict which token is drawn. Temperature
 * 0 means greedy (recorded logprobs then use temperature 1).
 *
 * @param temperature softmax temperature; 0 for greedy decoding
 * @param topP keep the smallest set of tokens whose probability reaches this mass; 1 keeps all
 * @param topK keep the k most likely tokens; 0 keeps all
 * @param minP drop tokens less likely than minP × the most likely one; 0 keeps all
 * @param maxTokens most tokens generated per completion
 * @param stop strings that end a completion; the completion keeps the tokens up to and including
 *     the one that completed the stop string
 * @param seed seeds this request's sampling; completion i draws from its own stream
 */
public record SamplingParams(
    double temperature,
    double topP,
    int topK,
    double minP,
    int maxTokens,
    List<String> stop,
    long seed) {

  public SamplingParams {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be >= 0, found " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], found " + topP);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be >= 0, found " + topK);
    }
    if (!(minP >= 0 && minP <= 1)) {
      throw new IllegalArgumentException("min_p must be in [0, 1], found " + minP);
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("max_tokens must be at least 1, found " + maxTokens);
    }
    stop = stop == null ? List.of() : List.copyOf(stop);
  }

  public static SamplingParams greedy(int maxTokens) {
    return new SamplingParams(0, 1, 0, 0, maxTokens, List.of(), 0);
  }

  public boolean isGreedy() {
    return temperature == 0;
  }

  /** The temperature of recorded logprobs: greedy decoding records plain softmax. */
  public double logprobTemperature() {
    return temperature == 0 ? 1 : temperature;
  }
}
