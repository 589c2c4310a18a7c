package rl.core.messages;

/**
 * A rollout group with a reward for each completion: what the learner trains on.
 *
 * @param rollouts the sampled group
 * @param rewards one reward per completion, in the group's order
 */
public record ScoredGroup(RolloutGroup rollouts, double[] rewards) {
  public ScoredGroup {
    if (rewards.length != rollouts.completions().size()) {
      throw new IllegalArgumentException(
          "group "
              + rollouts.requestId()
              + ": "
              + rewards.length
              + " rewards for "
              + rollouts.completions().size()
              + " completions");
    }
  }

  /** The oldest adapter version any token of the group was drawn with (-1 if none). */
  public int oldestVersion() {
    int oldest = Integer.MAX_VALUE;
    for (Completion c : rollouts.completions()) {
      if (c.tokens().length > 0) {
        oldest = Math.min(oldest, c.oldestVersion());
      }
    }
    return oldest == Integer.MAX_VALUE ? -1 : oldest;
  }
}
