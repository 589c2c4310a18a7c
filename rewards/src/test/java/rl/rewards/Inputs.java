package rl.rewards;

import java.util.List;
import java.util.Map;

/** Builds reward inputs for tests. */
public final class Inputs {
  private Inputs() {}

  /** A completion of a problem with reference {@code answer}. */
  public static RewardInput input(String completion, String answer) {
    return RewardInput.of(Problem.of("p1", "question", answer), completion);
  }

  /** A completion of problem {@code id} with metadata. */
  public static RewardInput input(String id, String completion, Map<String, Object> metadata) {
    return RewardInput.of(new Problem(id, List.of(Message.user("q")), "", metadata), completion);
  }

  /** A completion with token ids. */
  public static RewardInput tokens(String completion, int tokenCount) {
    return new RewardInput(
        Problem.of("p1", "question", ""), "", completion, new int[tokenCount], FinishReason.STOP);
  }

  /** Scores synchronously: the built-ins complete at once. */
  public static RewardResult score(RewardFunction function, RewardInput input) {
    return function.score(input).toCompletableFuture().join();
  }
}
