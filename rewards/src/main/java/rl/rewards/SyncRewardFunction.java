package rl.rewards;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Base for reward functions that compute their score directly. The pipeline still runs them on its
 * own threads with a time-out, so a slow {@link #scoreSync} never blocks the caller; if it ignores
 * the interrupt sent at the time-out, its thread is abandoned, not waited for.
 */
public abstract class SyncRewardFunction implements RewardFunction {
  private final String name;

  protected SyncRewardFunction(String name) {
    this.name = name;
  }

  @Override
  public final String name() {
    return name;
  }

  /** Computes the reward; an exception becomes a reward error for this completion. */
  protected abstract RewardResult scoreSync(RewardInput input);

  @Override
  public final CompletionStage<RewardResult> score(RewardInput input) {
    try {
      return CompletableFuture.completedFuture(scoreSync(input));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
