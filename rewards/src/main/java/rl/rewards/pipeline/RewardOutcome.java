package rl.rewards.pipeline;

import java.util.Objects;
import rl.rewards.RewardResult;

/**
 * What one reward function made of one completion: a result, or an error and the fallback score.
 *
 * @param label the function's label in the pipeline
 * @param score the result's score, or the fallback score on error
 * @param result the function's result; null on error
 * @param error why there is no result; null on success
 */
public record RewardOutcome(String label, double score, RewardResult result, RewardError error) {
  public RewardOutcome {
    Objects.requireNonNull(label, "label");
    if ((result == null) == (error == null)) {
      throw new IllegalArgumentException("an outcome has either a result or an error");
    }
  }

  static RewardOutcome success(String label, RewardResult result) {
    return new RewardOutcome(label, result.score(), result, null);
  }

  static RewardOutcome failure(String label, double fallback, RewardError error) {
    return new RewardOutcome(label, fallback, null, error);
  }

  public boolean isError() {
    return error != null;
  }
}
