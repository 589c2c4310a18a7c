package rl.rewards.pipeline;

import java.util.Locale;
import java.util.Objects;

/**
 * Why a reward function gave no usable score for a completion; the completion then gets the
 * function's fallback score.
 *
 * @param kind what went wrong
 * @param message details: the exception and where it was thrown, the time-out, the bad value
 */
public record RewardError(Kind kind, String message) {
  public enum Kind {
    /** The function threw, its stage failed, or it returned null. */
    EXCEPTION,
    /** The call did not complete within the time-out. */
    TIMEOUT,
    /** The score or a component was NaN or infinite. */
    NON_FINITE;

    /** The lower-case name used in logs and metrics. */
    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public RewardError {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    return kind.key() + ": " + message;
  }
}
