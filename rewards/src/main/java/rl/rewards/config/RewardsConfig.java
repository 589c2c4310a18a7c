package rl.rewards.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code rewards:} section of a run:
 *
 * <pre>{@code
 * rewards:
 *   plugins: plugins/        # directory of plug-in jars; "" for built-ins only
 *   cache_entries: 10000     # outcomes remembered per function; 0 turns the cache off
 *   functions:
 *     - name: math
 *     - name: regex
 *       label: format
 *       weight: 0.1
 *       params: {pattern: '<think>.+?</think>.*'}
 * }</pre>
 *
 * @param functions the reward functions; the reward is their weighted sum
 * @param plugins the plug-in directory ({@code ""}: none), relative to the working directory
 * @param cacheEntries most outcomes each function's cache keeps
 */
public record RewardsConfig(
    @JsonProperty("functions") List<RewardSpec> functions,
    @JsonProperty("plugins") String plugins,
    @JsonProperty("cache_entries") long cacheEntries) {

  public static final long DEFAULT_CACHE_ENTRIES = 10_000;

  public static final RewardsConfig DEFAULTS =
      new RewardsConfig(List.of(RewardSpec.of("math")), "", DEFAULT_CACHE_ENTRIES);

  public RewardsConfig {
    Objects.requireNonNull(functions, "functions");
    Objects.requireNonNull(plugins, "plugins");
    if (functions.isEmpty()) {
      throw new IllegalArgumentException("functions must list at least one reward function");
    }
    functions = List.copyOf(functions);
    Map<String, Integer> labels = new HashMap<>();
    for (int i = 0; i < functions.size(); i++) {
      Integer previous = labels.putIfAbsent(functions.get(i).label(), i);
      if (previous != null) {
        throw new IllegalArgumentException(
            "functions["
                + previous
                + "] and functions["
                + i
                + "] are both labelled '"
                + functions.get(i).label()
                + "'; give each a distinct label");
      }
    }
    if (cacheEntries < 0) {
      throw new IllegalArgumentException("cache_entries must be at least 0, found " + cacheEntries);
    }
  }

  @JsonCreator
  static RewardsConfig fromConfig(
      @JsonProperty("functions") List<RewardSpec> functions,
      @JsonProperty("plugins") String plugins,
      @JsonProperty("cache_entries") Long cacheEntries) {
    return new RewardsConfig(
        Objects.requireNonNullElse(functions, DEFAULTS.functions()),
        Objects.requireNonNullElse(plugins, DEFAULTS.plugins()),
        Objects.requireNonNullElse(cacheEntries, DEFAULT_CACHE_ENTRIES));
  }

  /** The plug-in directory, if one is configured. */
  public Optional<Path> pluginDirectory() {
    return plugins.isBlank() ? Optional.empty() : Optional.of(Path.of(plugins));
  }
}
