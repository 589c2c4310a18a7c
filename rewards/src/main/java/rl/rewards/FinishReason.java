package rl.rewards;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Why the sampler stopped a completion. */
public enum FinishReason {
  /** An end-of-sequence token or a stop string ended it. */
  STOP,
  /** It reached the token limit and was cut off. */
  LENGTH,
  /** The caller does not know (for example a row scored by {@code rl reward} without one). */
  UNKNOWN;

  /** The lower-case name used in JSON and configs. */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code stop}, {@code length} or {@code unknown}, ignoring case. */
  public static FinishReason parse(String text) {
    for (FinishReason reason : values()) {
      if (reason.key().equalsIgnoreCase(text.strip())) {
        return reason;
      }
    }
    throw new IllegalArgumentException(
        "finish reason must be one of "
            + Arrays.stream(values()).map(FinishReason::key).collect(Collectors.joining(", "))
            + ", found \""
            + text
            + "\"");
  }
}
