package rl.core.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The policy-gradient loss (DESIGN.md, "The objective").
 *
 * @param loss the per-token surrogate
 * @param aggregation how per-token terms are summed and normalised
 * @param clipLow PPO/CISPO lower clip: ratio floor {@code 1 - clip_low}
 * @param clipHigh PPO/CISPO upper clip: ratio ceiling {@code 1 + clip_high}
 * @param isCap truncates the importance weight at this value; 0 means no cap
 * @param normalizeAdvantages divide advantages by the group's standard deviation (+ eps)
 * @param klCoef weight of the KL penalty to the base policy (adapter off); 0 disables it
 */
public record ObjectiveConfig(
    Loss loss,
    Aggregation aggregation,
    double clipLow,
    double clipHigh,
    double isCap,
    boolean normalizeAdvantages,
    double klCoef) {

  public static final ObjectiveConfig DEFAULTS =
      new ObjectiveConfig(Loss.IMPORTANCE_SAMPLING, Aggregation.TOKEN_MEAN, 0.2, 0.2, 0, false, 0);

  public enum Loss {
    @JsonProperty("importance_sampling")
    IMPORTANCE_SAMPLING,
    @JsonProperty("ppo")
    PPO,
    @JsonProperty("cispo")
    CISPO
  }

  public enum Aggregation {
    /** Divide by the completion tokens in the step. */
    @JsonProperty("token-mean")
    TOKEN_MEAN,
    /** No division. */
    @JsonProperty("sum")
    SUM,
    /** Mean over each sequence's tokens, then over sequences. */
    @JsonProperty("seq-mean")
    SEQ_MEAN,
    /** Divide by groups × max_tokens. */
    @JsonProperty("constant")
    CONSTANT
  }

  public ObjectiveConfig {
    if (loss == null || aggregation == null) {
      throw new IllegalArgumentException("loss and aggregation must be set");
    }
    Checks.inRange("clip_low", clipLow, 0, 1);
    Checks.nonNegative("clip_high", clipHigh);
    Checks.nonNegative("is_cap", isCap);
    Checks.nonNegative("kl_coef", klCoef);
  }
}
