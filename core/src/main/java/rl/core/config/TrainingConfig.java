package rl.core.config;

/**
 * The shape of the RL loop (DESIGN.md, "One RL step").
 *
 * @param steps learner steps in the run
 * @param groupSize G, completions sampled per prompt
 * @param groupsPerStep prompts (groups) per learner step
 * @param syncEvery publish the adapter to the sampler every this many steps
 * @param maxPolicyLag how many adapter versions the sampler may be behind; 0 is on-policy
 * @param checkpointEvery write a checkpoint every this many steps; 0 only at the end
 * @param microBatchTokens most tokens in one forward/backward pass; a step accumulates gradients
 *     over as many passes as its sequences need
 * @param mergeEvery ReLoRA: fold the adapter into the weights and restart it every this many steps;
 *     0 never
 * @param fullFinetune train every weight instead of a LoRA adapter
 */
public record TrainingConfig(
    int steps,
    int groupSize,
    int groupsPerStep,
    int syncEvery,
    int maxPolicyLag,
    int checkpointEvery,
    int microBatchTokens,
    int mergeEvery,
    boolean fullFinetune) {

  public static final TrainingConfig DEFAULTS =
      new TrainingConfig(100, 8, 8, 1, 0, 50, 4096, 0, false);

  public TrainingConfig {
    Checks.atLeast("steps", steps, 1);
    // With one completion per prompt every advantage is zero: nothing would be learned.
    Checks.atLeast("group_size", groupSize, 2);
    Checks.atLeast("groups_per_step", groupsPerStep, 1);
    Checks.atLeast("sync_every", syncEvery, 1);
    Checks.atLeast("max_policy_lag", maxPolicyLag, 0);
    Checks.atLeast("checkpoint_every", checkpointEvery, 0);
    Checks.atLeast("micro_batch_tokens", microBatchTokens, 1);
    Checks.atLeast("merge_every", mergeEvery, 0);
  }
}
