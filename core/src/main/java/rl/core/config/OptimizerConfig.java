package rl.core.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * AdamW on the trainable tensors.
 *
 * @param lr peak learning rate of the LoRA A matrices (and of every weight in full fine-tuning)
 * @param loraPlusRatio LoRA+ λ: B learns at {@code λ · lr}; 1 is plain LoRA
 * @param beta1 first-moment decay
 * @param beta2 second-moment decay
 * @param eps denominator guard
 * @param weightDecay decoupled weight decay
 * @param gradClip clip the global gradient norm to this; 0 disables clipping
 * @param schedule learning-rate schedule over the run's steps
 * @param warmupSteps steps of linear warm-up from 0 before the schedule
 */
public record OptimizerConfig(
    double lr,
    double loraPlusRatio,
    double beta1,
    double beta2,
    double eps,
    double weightDecay,
    double gradClip,
    Schedule schedule,
    int warmupSteps) {

  public static final OptimizerConfig DEFAULTS =
      new OptimizerConfig(1e-4, 1.0, 0.9, 0.999, 1e-8, 0.0, 1.0, Schedule.CONSTANT, 0);

  public enum Schedule {
    @JsonProperty("constant")
    CONSTANT,
    @JsonProperty("linear")
    LINEAR,
    @JsonProperty("cosine")
    COSINE
  }

  public OptimizerConfig {
    Checks.nonNegative("lr", lr);
    Checks.positive("lora_plus_ratio", loraPlusRatio);
    Checks.inRange("beta1", beta1, 0, 0.999999);
    Checks.inRange("beta2", beta2, 0, 0.999999999);
    Checks.positive("eps", eps);
    Checks.nonNegative("weight_decay", weightDecay);
    Checks.nonNegative("grad_clip", gradClip);
    if (schedule == null) {
      throw new IllegalArgumentException("schedule must be one of constant, linear, cosine");
    }
    Checks.atLeast("warmup_steps", warmupSteps, 0);
  }
}
