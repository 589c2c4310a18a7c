package rl.core.tensor;

/**
 * Which rows of the query tensor attend to which rows of the key/value tensors, one entry per
 * sequence. Sequence {@code s} has {@code queryCount[s]} new tokens at query rows {@code
 * queryStart[s]...}; its keys are rows {@code keyStart[s] ... keyStart[s] + keyCount[s] - 1}, the
 * last {@code queryCount[s]} of which belong to the new tokens. Query {@code t} of the sequence
 * sits at position {@code keyCount - queryCount + t} and sees keys {@code 0 ... that position}
 * (causal).
 *
 * <p>Training packs whole sequences: keys are the same rows as the queries. Decoding reads keys
 * from a KV cache: {@code keyStart} is the sequence's slot in the cache and {@code keyCount} its
 * length so far.
 *
 * <p>A sequence may read its first {@code prefixCount[s]} keys from elsewhere: key {@code j <
 * prefixCount} is row {@code prefixStart[s] + j}, later keys stay rows {@code keyStart[s] + j}. The
 * G samples of one prompt share the prompt's cached keys that way instead of each holding a copy
 * ({@link #keyRow}). The prefix never covers the sequence's new tokens.
 */
public record AttentionBatch(
    int[] queryStart,
    int[] queryCount,
    int[] keyStart,
    int[] keyCount,
    int[] prefixStart,
    int[] prefixCount) {
  public AttentionBatch {
    int n = queryStart.length;
    if (queryCount.length != n
        || keyStart.length != n
        || keyCount.length != n
        || prefixStart.length != n
        || prefixCount.length != n) {
      throw new IllegalArgumentException("attention batch arrays differ in length");
    }
    for (int s = 0; s < n; s++) {
      if (queryCount[s] < 0 || keyCount[s] < queryCount[s]) {
        throw new IllegalArgumentException(
            "sequence " + s + ": " + queryCount[s] + " queries but " + keyCount[s] + " keys");
      }
      if (prefixCount[s] < 0 || prefixCount[s] > keyCount[s] - queryCount[s]) {
        throw new IllegalArgumentException(
            "sequence "
                + s
                + ": a shared prefix of "
                + prefixCount[s]
                + " keys, expected 0 to "
                + (keyCount[s] - queryCount[s])
                + " (its keys before its new tokens)");
      }
    }
  }

  /** Every sequence reading all its keys from its own rows. */
  public AttentionBatch(int[] queryStart, int[] queryCount, int[] keyStart, int[] keyCount) {
    this(
        queryStart,
        queryCount,
        keyStart,
        keyCount,
        new int[queryStart.length],
        new int[queryStart.length]);
  }

  /** The key/value row of sequence {@code s}'s key {@code j}. */
  public int keyRow(int s, int j) {
    return (j < prefixCount[s] ? prefixStart[s] : keyStart[s]) + j;
  }

  /** Whether some sequence reads a shared prefix. */
  public boolean hasPrefixes() {
    for (int p : prefixCount) {
      if (p > 0) {
        return true;
      }
    }
    return false;
  }

  public int sequences() {
    return queryStart.length;
  }

  /** The longest key range: the size of per-sequence score scratch space. */
  public int maxKeys() {
    int max = 0;
    for (int k : keyCount) {
      max = Math.max(max, k);
    }
    return max;
  }

  public int maxQueries() {
    int max = 0;
    for (int q : queryCount) {
      max = Math.max(max, q);
    }
    return max;
  }
}
