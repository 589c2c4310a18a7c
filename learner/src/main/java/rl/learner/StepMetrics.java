package rl.learner;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one learner step reports.
 *
 * @param step the step number after the update (1 for the first)
 * @param loss the aggregated loss
 * @param learningRate the learning rate of the A matrices (B's is λ times it with LoRA+)
 * @param gradNorm the global gradient norm before clipping
 * @param importanceWeightMean mean of exp(lp − lp_sampler) over trained tokens
 * @param importanceWeightMin its minimum
 * @param importanceWeightMax its maximum
 * @param clippedFraction share of tokens whose weight was clipped or capped
 * @param entropy mean negative logprob of the sampled tokens under the learner
 * @param klSampleTrain mean(lp_sampler − lp_learner)
 * @param klToBase mean k3 estimate of KL to the base model (0 without a KL penalty)
 * @param zeroAdvantageFraction share of groups skipped because all rewards were equal
 * @param rewardMean mean reward over all completions of the step
 * @param tokens completion tokens trained on
 * @param tokensPerSecond all tokens (prompt and completion) processed per second
 * @param policyLag mean over groups of (learner version − oldest token version)
 * @param seconds wall time of the step
 */
public record StepMetrics(
    int step,
    double loss,
    double learningRate,
    double gradNorm,
    double importanceWeightMean,
    double importanceWeightMin,
    double importanceWeightMax,
    double clippedFraction,
    double entropy,
    double klSampleTrain,
    double klToBase,
    double zeroAdvantageFraction,
    double rewardMean,
    long tokens,
    double tokensPerSecond,
    double policyLag,
    double seconds) {

  /** The metrics as {@code metrics.jsonl} keys. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("step", step);
    m.put("loss", loss);
    m.put("lr", learningRate);
    m.put("grad_norm", gradNorm);
    m.put("is_weight_mean", importanceWeightMean);
    m.put("is_weight_min", importanceWeightMin);
    m.put("is_weight_max", importanceWeightMax);
    m.put("clipped_fraction", clippedFraction);
    m.put("entropy", entropy);
    m.put("kl_sample_train", klSampleTrain);
    m.put("kl_to_base", klToBase);
    m.put("zero_advantage_fraction", zeroAdvantageFraction);
    m.put("reward_mean", rewardMean);
    m.put("tokens", tokens);
    m.put("learner_tokens_per_s", tokensPerSecond);
    m.put("policy_lag", policyLag);
    m.put("step_seconds", seconds);
    return m;
  }
}
