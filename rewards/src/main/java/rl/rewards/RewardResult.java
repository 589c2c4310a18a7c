package rl.rewards;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A reward function's verdict on one completion.
 *
 * <p>The score must be finite: the pipeline records NaN or infinity as an error, like an exception.
 *
 * @param score the reward
 * @param components named parts of the score, logged beside it (for example {@code format} and
 *     {@code correct}); their meaning is the function's
 * @param info short strings for logs and debugging (what was extracted, why it failed)
 */
public record RewardResult(double score, Map<String, Double> components, Map<String, String> info) {
  public RewardResult {
    components = Collections.unmodifiableMap(new LinkedHashMap<>(checkKeys(components)));
    info = Collections.unmodifiableMap(new LinkedHashMap<>(checkKeys(info)));
  }

  public static RewardResult of(double score) {
    return new RewardResult(score, Map.of(), Map.of());
  }

  /** This result with {@code key = value} added to its info. */
  public RewardResult withInfo(String key, String value) {
    Map<String, String> more = new LinkedHashMap<>(info);
    more.put(key, value);
    return new RewardResult(score, components, more);
  }

  /** This result with component {@code key = value} added. */
  public RewardResult withComponent(String key, double value) {
    Map<String, Double> more = new LinkedHashMap<>(components);
    more.put(key, value);
    return new RewardResult(score, more, info);
  }

  private static <V> Map<String, V> checkKeys(Map<String, V> map) {
    Objects.requireNonNull(map, "map");
    map.forEach(
        (key, value) -> {
          Objects.requireNonNull(key, "a key of a reward result's map is null");
          Objects.requireNonNull(value, () -> "reward result entry '" + key + "' is null");
        });
    return map;
  }
}
