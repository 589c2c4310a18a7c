package rl.rewards;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a reward function scores: one completion of one problem.
 *
 * @param problem the dataset row: prompt messages, reference answer and metadata
 * @param promptText the prompt as the model saw it, chat template applied; {@code ""} when the
 *     caller did not render one
 * @param completion the completion text, decoded
 * @param completionTokens the completion's token ids; empty when the caller has only text (a
 *     non-empty completion with no ids), so functions that count tokens must check
 * @param finishReason why generation stopped
 */
public record RewardInput(
    Problem problem,
    String promptText,
    String completion,
    int[] completionTokens,
    FinishReason finishReason) {
  public RewardInput {
    Objects.requireNonNull(problem, "problem");
    Objects.requireNonNull(promptText, "promptText");
    Objects.requireNonNull(completion, "completion");
    Objects.requireNonNull(finishReason, "finishReason");
    completionTokens = completionTokens.clone();
  }

  /** A completion given as text only: no prompt text, no token ids, unknown finish reason. */
  public static RewardInput of(Problem problem, String completion) {
    return new RewardInput(problem, "", completion, new int[0], FinishReason.UNKNOWN);
  }

  /** A copy of the token ids (the record is immutable). */
  @Override
  public int[] completionTokens() {
    return completionTokens.clone();
  }

  /** How many token ids the completion has, without copying them. */
  public int completionTokenCount() {
    return completionTokens.length;
  }

  /** Whether token ids were given: a non-empty completion with none means "not tokenized". */
  public boolean hasTokens() {
    return completionTokens.length > 0 || completion.isEmpty();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof RewardInput that
        && problem.equals(that.problem)
        && promptText.equals(that.promptText)
        && completion.equals(that.completion)
        && Arrays.equals(completionTokens, that.completionTokens)
        && finishReason == that.finishReason;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        problem, promptText, completion, Arrays.hashCode(completionTokens), finishReason);
  }

  @Override
  public String toString() {
    return "RewardInput[problem="
        + problem.id()
        + ", completion="
        + completion.length()
        + " chars, "
        + completionTokens.length
        + " tokens, finishReason="
        + finishReason.key()
        + "]";
  }
}
