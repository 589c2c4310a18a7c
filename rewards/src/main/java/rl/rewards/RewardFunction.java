package rl.rewards;

import java.util.concurrent.CompletionStage;

/**
 * Scores completions. The central interface of the reward API.
 *
 * <p>Implementations may be slow or asynchronous (call a checker, a sandbox, a service): the
 * pipeline calls {@link #score} on its own threads, never on the caller's, with a time-out and a
 * concurrency limit, and turns a failed or late stage into a recorded error. {@code score} may be
 * called concurrently from several threads, up to the configured {@code max_concurrency}.
 *
 * <p>Functions with nothing to wait for extend {@link SyncRewardFunction} instead. To make a
 * function available by name in configs, register a {@link RewardFunctionFactory}.
 */
public interface RewardFunction extends AutoCloseable {
  /** The function's name, as configs refer to it ({@code math}, {@code countdown}, ...). */
  String name();

  /**
   * Scores one completion. A stage completed exceptionally, a non-finite score, or a stage that
   * does not complete in time each become a reward error; so may a thrown exception.
   */
  CompletionStage<RewardResult> score(RewardInput input);

  /** Releases what the function holds (connections, processes); called once, at shutdown. */
  @Override
  default void close() {}
}
