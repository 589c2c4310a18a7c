package rl.core.messages;

/**
 * A request for {@code groupSize} completions of one prompt.
 *
 * @param requestId unique per request, echoed in the {@link RolloutGroup}
 * @param promptTokens the prompt's token ids, chat template already applied
 * @param groupSize G, completions sampled from this prompt
 * @param params sampling parameters
 */
public record SampleRequest(
    String requestId, int[] promptTokens, int groupSize, SamplingParams params) {
  public SampleRequest {
    if (promptTokens == null || promptTokens.length == 0) {
      throw new IllegalArgumentException("request " + requestId + ": empty prompt");
    }
    if (groupSize < 1) {
      throw new IllegalArgumentException(
          "request " + requestId + ": group size must be at least 1, found " + groupSize);
    }
  }
}
