package rl.rewards.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import rl.rewards.pipeline.CallPolicy;

/**
 * One reward function of a run, as configured:
 *
 * <pre>{@code
 * - name: countdown          # the function (built-in or plug-in)
 *   label: answer            # how it is logged; default: the name
 *   weight: 1.0              # its share of the reward: total = Σ weight · score
 *   params: {use_all: true}  # the function's own parameters
 *   timeout_seconds: 30      # one call's limit; a late call scores the fallback
 *   max_concurrency: 8       # calls in progress at once
 *   fallback: 0.0            # the score of a failed call
 * }</pre>
 *
 * @param name the function's registered name
 * @param label its name in logs and metrics, unique in the run (two {@code regex} rewards need two
 *     labels): letters, digits, {@code _ - .}
 * @param weight multiplies the function's score in the total; any finite number, 0 logs only
 * @param params parameters for the function's factory, which checks them
 * @param timeoutSeconds the time-out of one call
 * @param maxConcurrency calls in progress at once
 * @param fallback the score recorded when a call fails or times out
 */
public record RewardSpec(
    @JsonProperty("name") String name,
    @JsonProperty("label") String label,
    @JsonProperty("weight") double weight,
    @JsonProperty("params") Map<String, Object> params,
    @JsonProperty("timeout_seconds") double timeoutSeconds,
    @JsonProperty("max_concurrency") int maxConcurrency,
    @JsonProperty("fallback") double fallback) {

  public static final double DEFAULT_WEIGHT = 1.0;
  public static final double DEFAULT_TIMEOUT_SECONDS = 30;
  public static final int DEFAULT_MAX_CONCURRENCY = 8;
  public static final double DEFAULT_FALLBACK = 0.0;

  /** Longest accepted time-out: a day. Longer is surely a unit mistake. */
  public static final double MAX_TIMEOUT_SECONDS = 86_400;

  public static final int MAX_CONCURRENCY_LIMIT = 10_000;

  public RewardSpec {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("name is required: the reward function to use");
    }
    if (label == null) {
      label = name;
    }
    if (!label.matches("[A-Za-z0-9_.-]+")) {
      throw new IllegalArgumentException(
          "label must be letters, digits, '_', '-' or '.', found \"" + label + "\"");
    }
    if (!Double.isFinite(weight)) {
      throw new IllegalArgumentException("weight must be a finite number, found " + weight);
    }
    params = Collections.unmodifiableMap(new LinkedHashMap<>(params == null ? Map.of() : params));
    if (!(timeoutSeconds > 0 && timeoutSeconds <= MAX_TIMEOUT_SECONDS)) {
      throw new IllegalArgumentException(
          "timeout_seconds must be in (0, "
              + (long) MAX_TIMEOUT_SECONDS
              + "], found "
              + timeoutSeconds);
    }
    if (maxConcurrency < 1 || maxConcurrency > MAX_CONCURRENCY_LIMIT) {
      throw new IllegalArgumentException(
          "max_concurrency must be in [1, " + MAX_CONCURRENCY_LIMIT + "], found " + maxConcurrency);
    }
    if (!Double.isFinite(fallback)) {
      throw new IllegalArgumentException("fallback must be a finite number, found " + fallback);
    }
  }

  /** Binds a config entry: a key left out takes its default. */
  @JsonCreator
  static RewardSpec fromConfig(
      @JsonProperty("name") String name,
      @JsonProperty("label") String label,
      @JsonProperty("weight") Double weight,
      @JsonProperty("params") Map<String, Object> params,
      @JsonProperty("timeout_seconds") Double timeoutSeconds,
      @JsonProperty("max_concurrency") Integer maxConcurrency,
      @JsonProperty("fallback") Double fallback) {
    return new RewardSpec(
        name,
        label,
        Objects.requireNonNullElse(weight, DEFAULT_WEIGHT),
        params,
        Objects.requireNonNullElse(timeoutSeconds, DEFAULT_TIMEOUT_SECONDS),
        Objects.requireNonNullElse(maxConcurrency, DEFAULT_MAX_CONCURRENCY),
        Objects.requireNonNullElse(fallback, DEFAULT_FALLBACK));
  }

  /** Function {@code name} with {@code params} and every other setting at its default. */
  public static RewardSpec of(String name, Map<String, Object> params) {
    return fromConfig(name, null, null, params, null, null, null);
  }

  public static RewardSpec of(String name) {
    return of(name, Map.of());
  }

  /** How the pipeline calls this function. */
  public CallPolicy policy() {
    return new CallPolicy(
        Duration.ofNanos(Math.round(timeoutSeconds * 1e9)), maxConcurrency, fallback);
  }
}
