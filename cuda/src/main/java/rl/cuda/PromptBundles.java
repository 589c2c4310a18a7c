package rl.cuda;

import rl.core.tensor.AttentionBatch;

/**
 * Groups a decode step's sequences into bundles that share a prompt's cached keys, for the
 * tensor-core attention that stages those keys once a bundle (kernels.cu's attention_mma_bundles).
 * A bundle is a run of consecutive sequences, one query each, that read the same prefix rows: the
 * samples of one prompt. The prompt's first sample holds the prompt in its own slot and reads no
 * prefix; it leads the bundle of the samples that read from its slot.
 */
final class PromptBundles {
  private PromptBundles() {}

  /**
   * The bundle table [4 · S]: first sequence, members, prefix start row, prefix keys; entries past
   * the last bundle have 0 members. Every sequence with a query is in one bundle (alone where it
   * shares nothing). Null where no bundle would have two members, or a sequence has more than one
   * query (prefill).
   */
  static int[] of(AttentionBatch batch, int maxMembers) {
    int n = batch.sequences();
    int[] queries = batch.queryCount();
    int[] keyStart = batch.keyStart();
    int[] keyCount = batch.keyCount();
    int[] prefixStart = batch.prefixStart();
    int[] prefixCount = batch.prefixCount();
    int[] table = new int[4 * n];
    int bundles = 0;
    boolean shared = false;
    for (int i = 0; i < n; ) {
      if (queries[i] > 1) {
        return null;
      }
      if (queries[i] == 0) {
        i++;
        continue;
      }
      int p0 = prefixStart[i];
      int np = prefixCount[i];
      boolean leads =
          np == 0
              && i + 1 < n
              && queries[i + 1] == 1
              && prefixCount[i + 1] > 0
              && prefixStart[i + 1] == keyStart[i]
              && keyCount[i] - queries[i] >= prefixCount[i + 1];
      if (leads) { // its own first keys are the rows the next samples read
        p0 = keyStart[i];
        np = prefixCount[i + 1];
      }
      int end = i + 1;
      while (np > 0
          && end < n
          && end - i < maxMembers
          && queries[end] == 1
          && prefixCount[end] == np
          && prefixStart[end] == p0) {
        end++;
      }
      table[bundles] = i;
      table[n + bundles] = end - i;
      table[2 * n + bundles] = p0;
      table[3 * n + bundles] = np;
      shared |= end - i > 1;
      bundles++;
      i = end;
    }
    return shared ? table : null;
  }

  /**
   * Whether bundling pays ({@code -Drl.cuda.promptBundles=auto}): the bundles' key tiles (32 keys
   * each, a bundle's shared keys once) are at most half the tiles the sequences take one by one.
   * Measured on an H100 (1B shape, 256 sequences), bundling every step: 512-token prompts with 64
   * new tokens (0.29 of the tiles on average) ran 10% faster; 128-token prompts with 256 new (0.63)
   * 3% slower, the 0.5B shape (0.75) 11% slower. With this rule the 128 + 256 run was still 6%
   * slower: short contexts bundle into too few blocks to keep the GPU busy.
   */
  static boolean pays(AttentionBatch batch, int[] table) {
    long separate = 0;
    for (int s = 0; s < batch.sequences(); s++) {
      if (batch.queryCount()[s] > 0) {
        separate += (batch.keyCount()[s] + 31) / 32;
      }
    }
    int n = batch.sequences();
    long bundled = 0;
    for (int b = 0; b < n && table[n + b] > 0; b++) {
      int first = table[b];
      int np = table[3 * n + b];
      long keys = np;
      for (int m = 0; m < table[n + b]; m++) {
        keys += batch.keyCount()[first + m] - np;
      }
      bundled += (keys + 31) / 32;
    }
    return 2 * bundled <= separate;
  }
}
