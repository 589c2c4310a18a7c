package rl.sampler;

import java.util.Arrays;
import rl.core.messages.SamplingParams;
import rl.core.tensor.HostSampling;

/**
 * Draws one token from a row of raw logits and reports its logprob under {@code softmax(logits /
 * T)} over the full vocabulary, whatever top-k / top-p / min-p kept. Works in double.
 */
final class TokenSampler {
  private TokenSampler() {}

  /** A drawn token and its logprob. */
  record Choice(int token, double logprob) {}

  /**
   * @param logits raw logits {@code [V]}
   * @param uniform a uniform draw in [0, 1) from the sequence's own random stream
   */
  static Choice choose(float[] logits, SamplingParams params, double uniform) {
    double invT = 1.0 / params.logprobTemperature();
    int vocab = logits.length;
    if (params.isGreedy() || !isFiltered(params, vocab)) {
      // Greedy, or the common RL case (the full distribution walked in id order): the same
      // function a GPU backend computes in Ops.sampleTokens.
      HostSampling.Sampled s =
          HostSampling.sample(logits, 0, vocab, invT, params.isGreedy() ? -1 : uniform);
      return new Choice(s.token(), s.logprob());
    }
    double logSum =
        HostSampling.logSumExp(logits, 0, vocab, invT, HostSampling.argmax(logits, 0, vocab));
    int token = drawFiltered(logits, invT, logSum, params, uniform);
    return new Choice(token, logits[token] * invT - logSum);
  }

  /** Whether top-k, top-p or min-p cut the distribution (else it is sampled whole). */
  static boolean isFiltered(SamplingParams params, int vocab) {
    return (params.topK() > 0 && params.topK() < vocab) || params.topP() < 1 || params.minP() > 0;
  }

  private static int drawFiltered(
      float[] logits, double invT, double logSum, SamplingParams params, double uniform) {
    int vocab = logits.length;
    // Candidates by decreasing probability: pack (logit, id) so one primitive sort orders them.
    long[] order = new long[vocab];
    for (int v = 0; v < vocab; v++) {
      order[v] = ((long) sortableBits(logits[v]) << 32) | (0xFFFFFFFFL - v);
    }
    Arrays.sort(order);
    int kept = vocab;
    if (params.topK() > 0) {
      kept = Math.min(kept, params.topK());
    }
    double topProbability = Math.exp(logitOf(order[vocab - 1], logits) * invT - logSum);
    double cumulative = 0;
    int count = 0;
    for (int i = vocab - 1; i >= vocab - kept; i--) {
      int v = idOf(order[i]);
      double p = Math.exp(logits[v] * invT - logSum);
      if (count > 0 && p < params.minP() * topProbability) {
        break;
      }
      cumulative += p;
      count++;
      if (cumulative >= params.topP()) {
        break;
      }
    }
    // Draw within the kept mass.
    double target = uniform * cumulative;
    double running = 0;
    for (int i = vocab - 1; i >= vocab - count; i--) {
      int v = idOf(order[i]);
      running += Math.exp(logits[v] * invT - logSum);
      if (running > target) {
        return v;
      }
    }
    return idOf(order[vocab - count]);
  }

  /** Float bits ordered like the floats themselves, as an unsigned-comparable int. */
  private static int sortableBits(float value) {
    int bits = Float.floatToIntBits(value);
    return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
  }

  private static int idOf(long packed) {
    return (int) (0xFFFFFFFFL - (packed & 0xFFFFFFFFL));
  }

  private static float logitOf(long packed, float[] logits) {
    return logits[idOf(packed)];
  }
}
