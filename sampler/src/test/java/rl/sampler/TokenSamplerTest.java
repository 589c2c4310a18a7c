package rl.sampler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import rl.core.messages.SamplingParams;

class TokenSamplerTest {
  // Probabilities at T = 1: 0.5, 0.25, 0.125, 0.0625, 0.0625
  private static final float[] LOGITS = {
    (float) Math.log(0.5),
    (float) Math.log(0.25),
    (float) Math.log(0.125),
    (float) Math.log(0.0625),
    (float) Math.log(0.0625)
  };

  private static double[] frequencies(SamplingParams params, int draws) {
    SplittableRandom random = new SplittableRandom(1);
    double[] counts = new double[LOGITS.length];
    for (int i = 0; i < draws; i++) {
      counts[TokenSampler.choose(LOGITS, params, random.nextDouble()).token()]++;
    }
    for (int v = 0; v < counts.length; v++) {
      counts[v] /= draws;
    }
    return counts;
  }

  private static SamplingParams params(double t, double topP, int topK, double minP) {
    return new SamplingParams(t, topP, topK, minP, 8, List.of(), 0);
  }

  @Test
  void fullDistributionIsSampledInProportion() {
    double[] f = frequencies(params(1, 1, 0, 0), 200_000);
    double[] expected = {0.5, 0.25, 0.125, 0.0625, 0.0625};
    for (int v = 0; v < f.length; v++) {
      assertEquals(expected[v], f[v], 0.005, "token " + v);
    }
  }

  @Test
  void filtersRestrictTheDrawButNotTheRecordedLogprob() {
    double[] topK = frequencies(params(1, 1, 2, 0), 100_000);
    assertEquals(2.0 / 3, topK[0], 0.01);
    assertEquals(0, topK[2] + topK[3] + topK[4]);
    double[] topP = frequencies(params(1, 0.7, 0, 0), 100_000);
    assertEquals(0, topP[2] + topP[3] + topP[4], "0.5 + 0.25 reaches 0.7");
    double[] minP = frequencies(params(1, 1, 0, 0.2), 100_000);
    assertEquals(0, minP[3] + minP[4], "0.0625 < 0.2 × 0.5");
    assertTrue(minP[2] > 0);
    TokenSampler.Choice c = TokenSampler.choose(LOGITS, params(1, 1, 1, 0), 0.99);
    assertEquals(0, c.token());
    assertEquals(
        Math.log(0.5), c.logprob(), 1e-6, "logprob of the full softmax, not the kept mass");
  }

  @Test
  void temperatureSharpensAndGreedyTakesTheArgmax() {
    TokenSampler.Choice greedy = TokenSampler.choose(LOGITS, SamplingParams.greedy(4), 0.999);
    assertEquals(0, greedy.token());
    assertEquals(Math.log(0.5), greedy.logprob(), 1e-6);
    TokenSampler.Choice cold = TokenSampler.choose(LOGITS, params(0.5, 1, 0, 0), 0.0);
    // At T = 0.5 probabilities go as p²: 0.25 / (0.25 + 0.0625 + 0.015625 + 2 · 0.00390625)
    assertEquals(Math.log(0.25 / 0.3359375), cold.logprob(), 1e-6);
  }
}
