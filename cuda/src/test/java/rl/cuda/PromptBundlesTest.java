package rl.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import rl.core.tensor.AttentionBatch;

/** Which sequences of a decode step the bundled attention puts in one block. */
class PromptBundlesTest {
  /**
   * Prompt A held by sequence 0 and read by 1–3; sequence 4 alone; prompt B (rows 1300...) read by
   * 5 and 6, its holder not in the batch; bundles of at most 2.
   */
  @Test
  void samplesOfAPromptShareBundlesUpToTheLimit() {
    AttentionBatch batch =
        new AttentionBatch(
            new int[] {0, 1, 2, 3, 4, 5, 6},
            new int[] {1, 1, 1, 1, 1, 1, 1},
            new int[] {0, 200, 400, 600, 800, 1000, 1200},
            new int[] {41, 77, 73, 190, 9, 71, 134},
            new int[] {0, 0, 0, 0, 0, 1300, 1300},
            new int[] {0, 40, 40, 40, 0, 70, 70});
    int[] table = PromptBundles.of(batch, 2);
    assertArrayEquals(
        new int[] {
          0, 2, 4, 5, 0, 0, 0, // first sequences
          2, 2, 1, 2, 0, 0, 0, // members
          0, 0, 0, 1300, 0, 0, 0, // prefix start rows
          40, 40, 0, 70, 0, 0, 0 // prefix keys
        },
        table);
    // with room for 4, prompt A's samples form one bundle
    int[] wide = PromptBundles.of(batch, 4);
    assertArrayEquals(new int[] {0, 4, 5, 0, 0, 0, 0}, java.util.Arrays.copyOfRange(wide, 0, 7));
    assertArrayEquals(new int[] {4, 1, 2, 0, 0, 0, 0}, java.util.Arrays.copyOfRange(wide, 7, 14));
  }

  /** Bundling pays where the bundles read at most half the key tiles the sequences would. */
  @Test
  void bundlesPayWhereTheyHalveTheTiles() {
    // 4 samples of a 256-key prompt with 10 own keys each: 4 · 9 tiles alone, 1 · 10 bundled
    AttentionBatch longPrompt = samples(256, 10);
    assertTrue(PromptBundles.pays(longPrompt, PromptBundles.of(longPrompt, 4)));
    // 4 samples of a 64-key prompt with 200 own keys each: 4 · 9 tiles alone, 27 bundled
    AttentionBatch longCompletions = samples(64, 200);
    assertFalse(PromptBundles.pays(longCompletions, PromptBundles.of(longCompletions, 4)));
  }

  /** Four samples of a prompt of {@code prompt} keys held by the first, each with {@code own}. */
  private static AttentionBatch samples(int prompt, int own) {
    int keys = prompt + own;
    return new AttentionBatch(
        new int[] {0, 1, 2, 3},
        new int[] {1, 1, 1, 1},
        new int[] {0, 1000, 2000, 3000},
        new int[] {keys, keys, keys, keys},
        new int[] {0, 0, 0, 0},
        new int[] {0, prompt, prompt, prompt});
  }

  /**
   * A holder with fewer keys than the prefix (it cannot be the prompt's holder), a sequence without
   * a query, and prefill: no bundle, or not for those.
   */
  @Test
  void onlyMatchingDecodeSequencesShare() {
    AttentionBatch shortHolder =
        new AttentionBatch(
            new int[] {0, 1},
            new int[] {1, 1},
            new int[] {0, 100},
            new int[] {20, 60},
            new int[] {0, 0},
            new int[] {0, 30});
    assertNull(PromptBundles.of(shortHolder, 4));
    AttentionBatch idle =
        new AttentionBatch(
            new int[] {0, 1, 1, 2},
            new int[] {1, 0, 1, 1},
            new int[] {0, 100, 200, 300},
            new int[] {50, 50, 50, 50},
            new int[] {500, 500, 500, 500},
            new int[] {30, 30, 30, 30});
    assertArrayEquals(
        new int[] {0, 2, 0, 0, 1, 2, 0, 0, 500, 500, 0, 0, 30, 30, 0, 0},
        PromptBundles.of(idle, 4));
    AttentionBatch prefill =
        new AttentionBatch(
            new int[] {0, 5},
            new int[] {5, 1},
            new int[] {0, 100},
            new int[] {50, 50},
            new int[] {0, 0},
            new int[] {0, 30});
    assertNull(PromptBundles.of(prefill, 4));
  }
}
