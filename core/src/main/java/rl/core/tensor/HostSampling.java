package rl.core.tensor;

/**
 * The reference of {@link Ops#sampleTokens} for one row of raw logits, in double: the logprob under
 * {@code softmax(logits · invT)} over the full vocabulary, and the token either greedy (the first
 * maximum) or drawn by inverse CDF, walking the vocabulary in id order until the cumulative
 * probability exceeds the uniform draw. A GPU backend computes the same function.
 */
public final class HostSampling {
  private HostSampling() {}

  /** A sampled token and its logprob. */
  public record Sampled(int token, double logprob) {}

  /**
   * @param logits holds the row at {@code [offset, offset + vocab)}
   * @param inverseTemperature 1 / T of the logprob (and sampling) temperature
   * @param uniform a draw in [0, 1); negative for greedy
   */
  public static Sampled sample(
      float[] logits, int offset, int vocab, double inverseTemperature, double uniform) {
    int best = argmax(logits, offset, vocab);
    double logSum = logSumExp(logits, offset, vocab, inverseTemperature, best);
    int token = best;
    if (uniform >= 0) {
      double cumulative = 0;
      int last = offset;
      token = -1;
      for (int v = offset; v < offset + vocab; v++) {
        double p = Math.exp(logits[v] * inverseTemperature - logSum);
        if (p > 0) {
          last = v;
        }
        cumulative += p;
        if (cumulative > uniform) {
          token = v;
          break;
        }
      }
      if (token < 0) {
        token = last; // rounding left the total just under the draw
      }
    }
    return new Sampled(token - offset, logits[token] * inverseTemperature - logSum);
  }

  /** Index in {@code logits} of the row's first maximum. */
  public static int argmax(float[] logits, int offset, int vocab) {
    int best = offset;
    for (int v = offset + 1; v < offset + vocab; v++) {
      if (logits[v] > logits[best]) {
        best = v;
      }
    }
    return best;
  }

  /** {@code log Σ exp(logits · invT)} over the row, shifted by its maximum at {@code best}. */
  public static double logSumExp(
      float[] logits, int offset, int vocab, double inverseTemperature, int best) {
    double max = logits[best] * inverseTemperature;
    double sum = 0;
    for (int v = offset; v < offset + vocab; v++) {
      sum += Math.exp(logits[v] * inverseTemperature - max);
    }
    return max + Math.log(sum);
  }
}
