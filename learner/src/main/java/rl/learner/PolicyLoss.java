package rl.learner;

import rl.core.config.ObjectiveConfig;

/**
 * The per-token policy-gradient surrogate (DESIGN.md, "The objective"), its derivative with respect
 * to the learner's logprob, and the statistics a step reports. With ratio {@code r = exp(lp −
 * lp_sampler)} and advantage A:
 *
 * <ul>
 *   <li>{@code importance_sampling}: {@code −r·A}; with {@code is_cap} C, {@code −min(r, C)·A} (no
 *       gradient through a capped weight).
 *   <li>{@code ppo}: {@code −min(r·A, clip(r, 1−ε_low, 1+ε_high)·A)}.
 *   <li>{@code cispo}: {@code −sg(clip(r, 1−ε_low, 1+ε_high))·A·lp}: a REINFORCE term weighted by a
 *       clipped, stop-gradient importance weight, so clipped tokens still get a gradient.
 *   <li>KL penalty ({@code kl_coef} k): {@code + k·(e^{lb−lp} − (lb − lp) − 1)}, the k3 estimator
 *       of KL(π_θ ‖ π_base) on the sampled token, lb the base model's logprob.
 * </ul>
 *
 * Each term is multiplied by the aggregation's weight for its token (see {@link Learner}).
 */
final class PolicyLoss {
  private final ObjectiveConfig config;

  // Statistics over the tokens seen since the last reset.
  double lossSum;
  long tokens;
  double ratioSum;
  double ratioMin = Double.POSITIVE_INFINITY;
  double ratioMax = Double.NEGATIVE_INFINITY;
  long clipped;
  double negativeLogprobSum;
  double samplerMinusLearnerSum;
  double klSum;

  PolicyLoss(ObjectiveConfig config) {
    this.config = config;
  }

  /**
   * Adds one token's loss and returns {@code d(loss)/d(lp)}.
   *
   * @param lp the learner's logprob of the token
   * @param lpSampler the sampler's recorded logprob
   * @param lpBase the base model's logprob (used only with a KL penalty)
   * @param advantage the sequence's advantage
   * @param weight the aggregation weight of this token
   */
  double token(double lp, double lpSampler, double lpBase, double advantage, double weight) {
    double ratio = Math.exp(lp - lpSampler);
    double loss;
    double grad;
    boolean wasClipped = false;
    switch (config.loss()) {
      case IMPORTANCE_SAMPLING -> {
        if (config.isCap() > 0 && ratio > config.isCap()) {
          loss = -config.isCap() * advantage;
          grad = 0;
          wasClipped = true;
        } else {
          loss = -ratio * advantage;
          grad = -ratio * advantage;
        }
      }
      case PPO -> {
        double clippedRatio = clip(ratio);
        double unclippedTerm = ratio * advantage;
        double clippedTerm = clippedRatio * advantage;
        if (unclippedTerm <= clippedTerm) {
          loss = -unclippedTerm;
          grad = -ratio * advantage;
        } else {
          loss = -clippedTerm;
          grad = 0;
          wasClipped = true;
        }
      }
      case CISPO -> {
        double w = clip(ratio);
        wasClipped = w != ratio;
        loss = -w * advantage * lp;
        grad = -w * advantage;
      }
      default -> throw new IllegalStateException("unknown loss " + config.loss());
    }
    if (config.klCoef() > 0) {
      double diff = lpBase - lp;
      double kl = Math.exp(diff) - diff - 1;
      loss += config.klCoef() * kl;
      grad += config.klCoef() * (1 - Math.exp(diff));
      klSum += kl;
    }
    lossSum += weight * loss;
    tokens++;
    ratioSum += ratio;
    ratioMin = Math.min(ratioMin, ratio);
    ratioMax = Math.max(ratioMax, ratio);
    if (wasClipped) {
      clipped++;
    }
    negativeLogprobSum -= lp;
    samplerMinusLearnerSum += lpSampler - lp;
    return weight * grad;
  }

  private double clip(double ratio) {
    return Math.max(1 - config.clipLow(), Math.min(1 + config.clipHigh(), ratio));
  }
}
