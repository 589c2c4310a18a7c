package rl.core.messages;

/**
 * One sampled completion.
 *
 * @param tokens the generated token ids (prompt excluded)
 * @param logprobs for each token, its logprob under {@code softmax(logits / T)} when it was drawn
 * @param versions for each token, the adapter version of the policy that drew it
 * @param finishReason why it ended
 */
public record Completion(
    int[] tokens, float[] logprobs, int[] versions, FinishReason finishReason) {
  public Completion {
    if (tokens.length != logprobs.length || tokens.length != versions.length) {
      throw new IllegalArgumentException(
          "completion arrays differ: "
              + tokens.length
              + " tokens, "
              + logprobs.length
              + " logprobs, "
              + versions.length
              + " versions");
    }
  }

  /** The oldest adapter version among the tokens; -1 for an empty completion. */
  public int oldestVersion() {
    int oldest = Integer.MAX_VALUE;
    for (int v : versions) {
      oldest = Math.min(oldest, v);
    }
    return versions.length == 0 ? -1 : oldest;
  }
}
