package rl.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Shared key prefixes: the batch's checks, and attention reading them as if the keys were one. */
class AttentionBatchTest {
  private static final int HEADS = 4;
  private static final int KV_HEADS = 2;
  private static final int HS = 8;

  @Test
  void aPrefixMayNotReachTheNewTokens() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new AttentionBatch(
                    new int[] {0},
                    new int[] {2},
                    new int[] {0},
                    new int[] {10},
                    new int[] {20},
                    new int[] {9}));
    assertTrue(
        e.getMessage().contains("sequence 0: a shared prefix of 9 keys, expected 0 to 8"),
        e.getMessage());
  }

  @Test
  void keyRowsComeFromThePrefixThenTheSequence() {
    AttentionBatch batch =
        new AttentionBatch(
            new int[] {0},
            new int[] {1},
            new int[] {100},
            new int[] {6},
            new int[] {40},
            new int[] {4});
    assertEquals(40, batch.keyRow(0, 0));
    assertEquals(43, batch.keyRow(0, 3));
    assertEquals(104, batch.keyRow(0, 4));
    assertTrue(batch.hasPrefixes());
    assertTrue(
        !new AttentionBatch(new int[1], new int[1], new int[1], new int[] {1}).hasPrefixes());
  }

  /**
   * Two sequences read a 5-key prefix stored at rows 0..4, then their own keys; the same keys laid
   * out one block per sequence give the same outputs (one query, and three queries).
   */
  @Test
  void attentionOverASharedPrefixEqualsAttentionOverCopies() {
    Ops ops = new Nd4jOps();
    SplittableRandom random = new SplittableRandom(5);
    int width = KV_HEADS * HS;
    int prefix = 5;
    int[] own = {3, 6}; // keys after the prefix
    int[] queries = {1, 3};
    // shared layout: prefix rows 0..4, sequence s's rows from 10 + 20 s (its first 5 unused)
    float[] shared = normal(random, 60 * width);
    Tensor sharedKeys = ops.upload(shared, 60, width);
    float[] sharedV = normal(random, 60 * width);
    Tensor sharedValues = ops.upload(sharedV, 60, width);
    // copies: sequence s's keys as one block from row 20 s
    float[] copies = new float[40 * width];
    float[] copiesV = new float[40 * width];
    for (int s = 0; s < 2; s++) {
      for (int j = 0; j < prefix + own[s]; j++) {
        int from = j < prefix ? j : 10 + 20 * s + j;
        System.arraycopy(shared, from * width, copies, (20 * s + j) * width, width);
        System.arraycopy(sharedV, from * width, copiesV, (20 * s + j) * width, width);
      }
    }
    int[] queryStart = {0, queries[0]};
    int[] keyCount = {prefix + own[0], prefix + own[1]};
    AttentionBatch withPrefix =
        new AttentionBatch(
            queryStart,
            queries,
            new int[] {10, 30},
            keyCount,
            new int[] {0, 0},
            new int[] {prefix, prefix});
    AttentionBatch asCopies = new AttentionBatch(queryStart, queries, new int[] {0, 20}, keyCount);
    Tensor q = ops.upload(normal(random, 4 * HEADS * HS), 4, HEADS * HS);
    float[] expected =
        attend(ops, q, ops.upload(copies, 40, width), ops.upload(copiesV, 40, width), asCopies);
    float[] actual = attend(ops, q, sharedKeys, sharedValues, withPrefix);
    assertArrayEquals(expected, actual, 1e-6f);
  }

  @Test
  void backwardRejectsSharedPrefixes() {
    Ops ops = new Nd4jOps();
    AttentionBatch batch =
        new AttentionBatch(
            new int[] {0},
            new int[] {1},
            new int[] {4},
            new int[] {3},
            new int[] {0},
            new int[] {2});
    Tensor t = ops.zeros(1, HEADS * HS);
    Tensor kv = ops.zeros(8, KV_HEADS * HS);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ops.attentionBackward(
                    t, kv, kv, t, t, ops.zeros(1, HEADS), t, kv, kv, batch, HEADS, KV_HEADS, HS));
    assertTrue(e.getMessage().contains("shared key prefix"), e.getMessage());
  }

  private static float[] attend(Ops ops, Tensor q, Tensor k, Tensor v, AttentionBatch batch) {
    Tensor out = ops.zeros(q.rows(), HEADS * HS);
    Tensor lse = ops.zeros(q.rows(), HEADS);
    ops.attention(out, lse, q, k, v, batch, HEADS, KV_HEADS, HS);
    float[] o = ops.download(out);
    float[] l = ops.download(lse);
    float[] both = java.util.Arrays.copyOf(o, o.length + l.length);
    System.arraycopy(l, 0, both, o.length, l.length);
    return both;
  }

  private static float[] normal(SplittableRandom random, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) random.nextGaussian();
    }
    return x;
  }
}
