package rl.core.messages;

import java.util.List;

/**
 * The G completions of one {@link SampleRequest}, in sample order.
 *
 * @param requestId the request's id
 * @param promptTokens the prompt the completions continue
 * @param completions one per sample
 */
public record RolloutGroup(String requestId, int[] promptTokens, List<Completion> completions) {
  public RolloutGroup {
    completions = List.copyOf(completions);
  }
}
