package rl.rewards.task;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * Train or eval. A generated problem's split is a function of the problem alone (a hash of its
 * canonical key), not of the seed or of how many problems were drawn, so no eval problem can ever
 * turn up in training, whatever the seeds and sizes of the two sets.
 */
public enum Split {
  TRAIN,
  EVAL;

  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The split of the problem with canonical key {@code problemKey}: eval for a fraction {@code
   * evalFraction} of all keys, spread uniformly.
   */
  public static Split of(String problemKey, double evalFraction) {
    return position(problemKey) < evalFraction ? EVAL : TRAIN;
  }

  /** A uniform number in [0, 1) fixed by the key: the first 53 bits of its SHA-256. */
  static double position(String problemKey) {
    byte[] hash;
    try {
      hash =
          MessageDigest.getInstance("SHA-256").digest(problemKey.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    long bits = 0;
    for (int i = 0; i < 8; i++) {
      bits = (bits << 8) | (hash[i] & 0xFF);
    }
    return (bits >>> 11) * 0x1.0p-53;
  }
}
