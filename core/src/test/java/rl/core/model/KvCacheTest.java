package rl.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;
import rl.core.tensor.Tensor;

/**
 * Incremental decoding through the KV cache and batching agree with whole-sequence passes. Decoding
 * without q/k norms (qwen2 with q/k/v biases, llama) forms q, k and v in one product of their fused
 * weights; whole-sequence passes form them separately.
 */
class KvCacheTest {
  private static final HfModelConfig CONFIG =
      HfModelConfig.of("qwen3", 32, 48, 2, 4, 2, 17).withHeadDim(16);

  private static HfModelConfig config(String type) {
    return HfModelConfig.of(type, 32, 48, 2, 4, 2, 17).withHeadDim(16);
  }

  private static final List<int[]> SEQUENCES =
      List.of(
          new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9},
          new int[] {16, 15, 14, 13, 12},
          new int[] {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7});

  /** Logprob of each next token, one sequence at a time, no cache. */
  private static float[][] oneAtATime(Decoder model) {
    float[][] out = new float[SEQUENCES.size()][];
    for (int s = 0; s < SEQUENCES.size(); s++) {
      Activations acts = model.newActivations(SEQUENCES.get(s).length, false);
      out[s] = model.sequenceLogprobs(acts, List.of(SEQUENCES.get(s)), 0.8f)[0];
    }
    return out;
  }

  @Test
  void packedBatchEqualsOneSequenceAtATime() {
    Decoder model = Decoder.random(CONFIG, new Nd4jOps(), 4, 0.2);
    float[][] single = oneAtATime(model);
    Activations acts = model.newActivations(64, false);
    float[][] packed = model.sequenceLogprobs(acts, SEQUENCES, 0.8f);
    for (int s = 0; s < single.length; s++) {
      assertArrayEquals(single[s], packed[s], 1e-5f, "sequence " + s);
    }
  }

  /** Decoding through the cache in ragged steps gives the logprobs of whole-sequence passes. */
  @ParameterizedTest
  @ValueSource(strings = {"qwen3", "qwen2", "llama"})
  void raggedIncrementalDecodingEqualsFullForward(String type) {
    Ops ops = new Nd4jOps();
    Decoder model = Decoder.random(config(type), ops, 4, 0.2);
    assertTrue(model.layers[0].qkvFused()); // used where there are no q/k norms
    float[][] expected = oneAtATime(model);
    assertArrayEqualsBySequence(expected, decodeRagged(model, ops));
  }

  /**
   * A q weight replaced after loading (as a merged adapter or a restored checkpoint does) is no
   * longer a block of the fused weight: decoding then forms the three products separately, and
   * reads the new weight.
   */
  @Test
  void aReplacedWeightTurnsTheFusedProductOff() {
    Ops ops = new Nd4jOps();
    HfModelConfig config = config("llama");
    Decoder model = Decoder.random(config, ops, 4, 0.2);
    Parameter q = model.layers[1].q.weight;
    float[] changed = ops.download(q.value());
    for (int i = 0; i < changed.length; i++) {
      changed[i] *= 1.5f;
    }
    q.setValue(ops.upload(changed, q.value().rows(), q.value().cols()));
    assertTrue(model.layers[0].qkvFused());
    assertFalse(model.layers[1].qkvFused());
    float[][] expected = oneAtATime(model);
    assertArrayEqualsBySequence(expected, decodeRagged(model, ops));
    // and the fused weight was not what decoding read: without the change the logprobs differ
    Decoder unchanged = Decoder.random(config, ops, 4, 0.2);
    float[][] before = oneAtATime(unchanged);
    assertFalse(java.util.Arrays.equals(before[0], expected[0]));
  }

  private static void assertArrayEqualsBySequence(float[][] expected, float[][] got) {
    for (int s = 0; s < expected.length; s++) {
      assertArrayEquals(expected[s], got[s], 1e-5f, "sequence " + s);
    }
  }

  /**
   * Logprob of each next token through the cache: each sequence's first 3 tokens prefilled into its
   * own slot (slots out of order), then the rest in ragged steps of 1 or 2 tokens for all sequences
   * at once.
   */
  private static float[][] decodeRagged(Decoder model, Ops ops) {
    HfModelConfig config = model.config();
    KvCache cache = new KvCache(ops, config, 4, 16);
    int[] slots = {2, 0, 3};
    int[] length = new int[SEQUENCES.size()];
    float[][] got = new float[SEQUENCES.size()][];
    for (int s = 0; s < got.length; s++) {
      got[s] = new float[SEQUENCES.get(s).length - 1];
    }
    Activations acts = model.newActivations(16, false);
    Tensor logits = ops.zeros(1, config.vocabSize());
    int step = 0;
    while (true) {
      List<int[]> chunks = new ArrayList<>();
      List<Integer> members = new ArrayList<>();
      for (int s = 0; s < SEQUENCES.size(); s++) {
        int[] seq = SEQUENCES.get(s);
        int take = Math.min(length[s] == 0 ? 3 : 1 + (step + s) % 2, seq.length - length[s]);
        if (take > 0) {
          chunks.add(java.util.Arrays.copyOfRange(seq, length[s], length[s] + take));
          members.add(s);
        }
      }
      if (chunks.isEmpty()) {
        break;
      }
      int[] memberSlots = members.stream().mapToInt(s -> slots[s]).toArray();
      int[] past = members.stream().mapToInt(s -> length[s]).toArray();
      SequenceBatch batch = SequenceBatch.withCache(chunks, memberSlots, past, cache);
      Tensor hidden = model.forward(acts, batch, cache);
      int row = 0;
      for (int m = 0; m < members.size(); m++) {
        int s = members.get(m);
        int[] seq = SEQUENCES.get(s);
        for (int t = 0; t < chunks.get(m).length; t++, row++) {
          int position = length[s] + t;
          if (position + 1 < seq.length) {
            ops.logits(logits, ops.rows(hidden, row, 1), model.head().value(), 0.8f);
            float[] z = ops.download(logits);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : z) {
              max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : z) {
              sum += Math.exp(v - max);
            }
            got[s][position] = (float) (z[seq[position + 1]] - max - Math.log(sum));
          }
        }
        length[s] += chunks.get(m).length;
      }
      step++;
    }
    for (int s = 0; s < got.length; s++) {
      assertEquals(SEQUENCES.get(s).length, length[s]);
    }
    return got;
  }
}
