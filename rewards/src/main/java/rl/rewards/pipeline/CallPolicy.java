package rl.rewards.pipeline;

import java.time.Duration;
import java.util.Objects;

/**
 * How a function is called: the time-out of one call, how many calls may run at once, and the score
 * recorded when a call fails.
 *
 * @param timeout longest a call may take, from the moment it starts (waiting for a free slot does
 *     not count)
 * @param maxConcurrency most calls in progress at once; further calls wait in order
 * @param fallback the score of a completion whose call failed
 */
public record CallPolicy(Duration timeout, int maxConcurrency, double fallback) {
  public static final CallPolicy DEFAULTS = new CallPolicy(Duration.ofSeconds(30), 8, 0);

  public CallPolicy {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, found " + timeout);
    }
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException(
          "max_concurrency must be at least 1, found " + maxConcurrency);
    }
    if (!Double.isFinite(fallback)) {
      throw new IllegalArgumentException("fallback must be a finite number, found " + fallback);
    }
  }
}
