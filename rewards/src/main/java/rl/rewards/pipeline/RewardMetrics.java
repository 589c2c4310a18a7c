package rl.rewards.pipeline;

import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of one function's counters since the pipeline started.
 *
 * @param label the function's label
 * @param function the function's name
 * @param calls completions asked for, cache hits included
 * @param cacheHits calls answered from the cache (or joined to an identical call in progress)
 * @param cacheMisses calls that ran the function
 * @param errorsByKind failed calls by kind; every kind is present
 * @param meanLatencyMillis mean time of a finished call, from start to result (time-outs included)
 * @param maxLatencyMillis longest finished call
 * @param inFlight calls running now
 * @param queued calls waiting for a free slot
 * @param abandoned calls that timed out and have not ended since (a stuck plug-in shows here)
 */
public record RewardMetrics(
    String label,
    String function,
    long calls,
    long cacheHits,
    long cacheMisses,
    Map<RewardError.Kind, Long> errorsByKind,
    double meanLatencyMillis,
    double maxLatencyMillis,
    int inFlight,
    int queued,
    int abandoned) {
  public RewardMetrics {
    errorsByKind = Collections.unmodifiableMap(new EnumMap<>(errorsByKind));
  }

  public long errors() {
    return errorsByKind.values().stream().mapToLong(Long::longValue).sum();
  }

  public long timeouts() {
    return errorsByKind.getOrDefault(RewardError.Kind.TIMEOUT, 0L);
  }

  /** Hits per call; 0 before the first call. */
  public double cacheHitRate() {
    return calls == 0 ? 0 : (double) cacheHits / calls;
  }

  /** The counters by snake_case name, in a fixed order, for a metrics log. */
  public Map<String, Object> toMap() {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("calls", calls);
    map.put("cache_hits", cacheHits);
    map.put("cache_misses", cacheMisses);
    map.put("cache_hit_rate", cacheHitRate());
    map.put("errors", errors());
    for (RewardError.Kind kind : RewardError.Kind.values()) {
      map.put("errors_" + kind.key(), errorsByKind.getOrDefault(kind, 0L));
    }
    map.put("mean_latency_ms", meanLatencyMillis);
    map.put("max_latency_ms", maxLatencyMillis);
    map.put("in_flight", inFlight);
    map.put("queued", queued);
    map.put("abandoned", abandoned);
    return map;
  }
}
