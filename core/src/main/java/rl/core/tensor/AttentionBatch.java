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
 */
public record AttentionBatch(int[] queryStart, int[] queryCount, int[] keyStart, int[] keyCount) {
  public AttentionBatch {
    int n = queryStart.length;
    if (queryCount.length != n || keyStart.length != n || keyCount.length != n) {
      throw new IllegalArgumentException("attention batch arrays differ in length");
    }
    for (int s = 0; s < n; s++) {
      if (queryCount[s] < 0 || keyCount[s] < queryCount[s]) {
        throw new IllegalArgumentException(
            "sequence " + s + ": " + queryCount[s] + " queries but " + keyCount[s] + " keys");
      }
    }
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
