package rl.core.messages;

/** Why a completion ended. */
public enum FinishReason {
  /** An end-of-sequence token or a stop string. */
  STOP,
  /** {@code max_tokens}, or the sampler's maximum sequence length. */
  LENGTH,
  /** The sampler dropped it (shutdown, or the request was cancelled). */
  ABORTED;

  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
