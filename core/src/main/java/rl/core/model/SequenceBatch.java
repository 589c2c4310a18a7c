package rl.core.model;

import java.util.List;
import rl.core.tensor.AttentionBatch;

/**
 * Sequences packed along the rows of one forward pass: their token ids, each token's position,
 * which rows attend to which, and (when decoding with a KV cache) the cache row each new token's
 * keys and values go to.
 *
 * @param ids token ids of every new token, sequence after sequence {@code [N]}
 * @param positions each token's position in its sequence {@code [N]}
 * @param attention per sequence: query rows and key rows
 * @param cacheRows the KV-cache row of each token, or null when no cache is used
 */
public record SequenceBatch(int[] ids, int[] positions, AttentionBatch attention, int[] cacheRows) {

  public int tokens() {
    return ids.length;
  }

  public int sequences() {
    return attention.sequences();
  }

  /** Whole sequences from position 0, no cache: training, scoring and plain prefill. */
  public static SequenceBatch of(List<int[]> sequences) {
    int total = 0;
    for (int[] s : sequences) {
      total += s.length;
    }
    int[] ids = new int[total];
    int[] positions = new int[total];
    int n = sequences.size();
    int[] start = new int[n];
    int[] count = new int[n];
    int row = 0;
    for (int s = 0; s < n; s++) {
      int[] tokens = sequences.get(s);
      start[s] = row;
      count[s] = tokens.length;
      for (int t = 0; t < tokens.length; t++) {
        ids[row] = tokens[t];
        positions[row] = t;
        row++;
      }
    }
    return new SequenceBatch(ids, positions, new AttentionBatch(start, count, start, count), null);
  }

  /**
   * New tokens of sequences that live in KV-cache slots: sequence s has {@code pastLengths[s]}
   * tokens cached in slot {@code slots[s]} and appends {@code newTokens[s]}.
   */
  public static SequenceBatch withCache(
      List<int[]> newTokens, int[] slots, int[] pastLengths, KvCache cache) {
    return withCache(newTokens, slots, pastLengths, null, null, cache);
  }

  /**
   * As {@link #withCache(List, int[], int[], KvCache)}, where sequence s reads its first {@code
   * prefixLengths[s]} cached positions from slot {@code prefixSlots[s]} (another sample of the same
   * prompt, which holds the prompt's keys) instead of its own slot; {@code prefixSlots[s] < 0}, or
   * null arrays, for none.
   */
  public static SequenceBatch withCache(
      List<int[]> newTokens,
      int[] slots,
      int[] pastLengths,
      int[] prefixSlots,
      int[] prefixLengths,
      KvCache cache) {
    int total = 0;
    for (int[] s : newTokens) {
      total += s.length;
    }
    int n = newTokens.size();
    int[] ids = new int[total];
    int[] positions = new int[total];
    int[] cacheRows = new int[total];
    int[] queryStart = new int[n];
    int[] queryCount = new int[n];
    int[] keyStart = new int[n];
    int[] keyCount = new int[n];
    int[] prefixStart = new int[n];
    int[] prefixCount = new int[n];
    int row = 0;
    for (int s = 0; s < n; s++) {
      int[] tokens = newTokens.get(s);
      int past = pastLengths[s];
      if (past + tokens.length > cache.maxLength()) {
        throw new IllegalArgumentException(
            "sequence "
                + s
                + " would reach length "
                + (past + tokens.length)
                + ", past the KV cache's "
                + cache.maxLength());
      }
      queryStart[s] = row;
      queryCount[s] = tokens.length;
      keyStart[s] = cache.rowOf(slots[s], 0);
      keyCount[s] = past + tokens.length;
      if (prefixSlots != null && prefixSlots[s] >= 0) {
        prefixStart[s] = cache.rowOf(prefixSlots[s], 0);
        prefixCount[s] = prefixLengths[s];
      }
      for (int t = 0; t < tokens.length; t++) {
        ids[row] = tokens[t];
        positions[row] = past + t;
        cacheRows[row] = cache.rowOf(slots[s], past + t);
        row++;
      }
    }
    return new SequenceBatch(
        ids,
        positions,
        new AttentionBatch(queryStart, queryCount, keyStart, keyCount, prefixStart, prefixCount),
        cacheRows);
  }
}
