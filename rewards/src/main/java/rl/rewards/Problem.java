package rl.rewards;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One dataset row: the prompt as chat messages plus what a verifier needs to check an answer.
 *
 * <p>The prompt is kept as messages, not text: the chat template belongs to the model, so the
 * caller (module {@code core}) renders it; see {@link RewardInput#promptText()} for the result.
 *
 * @param id identifies the problem within its dataset; unique, stable across runs (the reward cache
 *     keys on it)
 * @param prompt the prompt messages, in order
 * @param answer the reference answer as text ({@code ""} when the task has none)
 * @param metadata every other field of the row (JSON values as {@code String}, {@code Number},
 *     {@code Boolean}, {@code List}, {@code Map} or {@code null}), for verifiers that need more
 *     than an answer, such as countdown's {@code numbers} and {@code target}
 */
public record Problem(
    String id, List<Message> prompt, String answer, Map<String, Object> metadata) {
  public Problem {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(answer, "answer");
    prompt = List.copyOf(prompt);
    // JSON null is a legitimate metadata value, which Map.copyOf would reject.
    metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
  }

  /** A problem with a single user message and no metadata. */
  public static Problem of(String id, String userMessage, String answer) {
    return new Problem(id, List.of(Message.user(userMessage)), answer, Map.of());
  }
}
