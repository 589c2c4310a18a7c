package rl.rewards.pipeline;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import rl.rewards.RewardFunction;
import rl.rewards.RewardInput;
import rl.rewards.config.RewardSpec;
import rl.rewards.config.RewardsConfig;
import rl.rewards.plugin.RewardRegistry;

/**
 * Scores completions with a weighted set of reward functions: the reward is {@code Σ weight ·
 * score}, and each function's score, components and errors are kept for logging.
 *
 * <p>Each function runs in its own {@link RewardRunner}: on its own threads, with a time-out, a
 * concurrency limit and a cache. {@link #score} returns at once and its future always completes
 * normally, whatever the functions do; a failing function costs its completions the fallback score
 * and shows in {@link #metrics()}, and the run goes on.
 */
public final class RewardPipeline implements AutoCloseable {
  private final List<RewardRunner> runners;
  private final List<Double> weights;
  private final ScheduledThreadPoolExecutor timer;
  private final AutoCloseable owned;

  private RewardPipeline(
      List<RewardRunner> runners,
      List<Double> weights,
      ScheduledThreadPoolExecutor timer,
      AutoCloseable owned) {
    this.runners = List.copyOf(runners);
    this.weights = List.copyOf(weights);
    this.timer = timer;
    this.owned = owned;
  }

  /**
   * The pipeline a run's {@code rewards:} section describes, with functions from {@code registry}
   * (which the caller keeps open while the pipeline runs, and closes after it).
   *
   * @throws rl.rewards.RewardConfigException for an unknown function or bad parameters
   */
  public static RewardPipeline create(RewardsConfig config, RewardRegistry registry) {
    Builder builder = builder().cacheEntries(config.cacheEntries());
    List<RewardFunction> created = new ArrayList<>();
    try {
      for (RewardSpec spec : config.functions()) {
        RewardFunction function = registry.create(spec.name(), spec.params());
        created.add(function);
        builder.add(spec.label(), function, spec.weight(), spec.policy());
      }
    } catch (RuntimeException e) {
      created.forEach(RewardPipeline::closeQuietly);
      throw e;
    }
    return builder.build();
  }

  /**
   * Like {@link #create(RewardsConfig, RewardRegistry)} with the config's plug-in directory loaded
   * here; closing the pipeline closes the plug-ins' class loaders too.
   */
  public static RewardPipeline create(RewardsConfig config) {
    RewardRegistry registry =
        config.pluginDirectory().map(RewardRegistry::load).orElseGet(RewardRegistry::classPath);
    try {
      RewardPipeline pipeline = create(config, registry);
      return new RewardPipeline(pipeline.runners, pipeline.weights, pipeline.timer, registry);
    } catch (RuntimeException e) {
      registry.close();
      throw e;
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Assembles a pipeline from function objects, for callers that do not go through a config. */
  public static final class Builder {
    private record Entry(String label, RewardFunction function, double weight, CallPolicy policy) {}

    private final List<Entry> entries = new ArrayList<>();
    private long cacheEntries = 10_000;

    private Builder() {}

    /** Adds {@code function}, logged as {@code label}, contributing {@code weight · score}. */
    public Builder add(String label, RewardFunction function, double weight, CallPolicy policy) {
      if (!Double.isFinite(weight)) {
        throw new IllegalArgumentException("weight of '" + label + "' must be finite: " + weight);
      }
      entries.add(new Entry(label, function, weight, policy));
      return this;
    }

    /** Adds {@code function} under its own name with weight 1 and the default policy. */
    public Builder add(RewardFunction function) {
      return add(function.name(), function, 1, CallPolicy.DEFAULTS);
    }

    /** Most outcomes each function's cache keeps; 0 turns caching off. */
    public Builder cacheEntries(long entries) {
      if (entries < 0) {
        throw new IllegalArgumentException("cache entries must be at least 0, found " + entries);
      }
      this.cacheEntries = entries;
      return this;
    }

    public RewardPipeline build() {
      if (entries.isEmpty()) {
        throw new IllegalStateException("a reward pipeline needs at least one function");
      }
      Set<String> labels = new HashSet<>();
      for (Entry entry : entries) {
        if (!labels.add(entry.label())) {
          throw new IllegalArgumentException(
              "two reward functions are labelled '" + entry.label() + "'; labels must be unique");
        }
      }
      ScheduledThreadPoolExecutor timer =
          new ScheduledThreadPoolExecutor(
              1,
              runnable -> {
                Thread thread = new Thread(runnable, "reward-timeouts");
                thread.setDaemon(true);
                return thread;
              });
      timer.setRemoveOnCancelPolicy(true); // finished calls' time-outs do not pile up
      List<RewardRunner> runners = new ArrayList<>();
      List<Double> weights = new ArrayList<>();
      for (Entry entry : entries) {
        runners.add(
            new RewardRunner(entry.label(), entry.function(), entry.policy(), cacheEntries, timer));
        weights.add(entry.weight());
      }
      return new RewardPipeline(runners, weights, timer, null);
    }
  }

  /**
   * Scores one completion with every function. Returns at once; the future completes on one of the
   * pipeline's threads, never exceptionally.
   */
  public CompletableFuture<ScoredCompletion> score(RewardInput input) {
    List<CompletableFuture<RewardOutcome>> futures = new ArrayList<>(runners.size());
    for (RewardRunner runner : runners) {
      futures.add(runner.score(input));
    }
    return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
        .thenApply(
            unused -> {
              List<RewardOutcome> outcomes = new ArrayList<>(futures.size());
              double total = 0;
              for (int i = 0; i < futures.size(); i++) {
                RewardOutcome outcome = futures.get(i).join();
                outcomes.add(outcome);
                total += weights.get(i) * outcome.score();
              }
              return new ScoredCompletion(total, outcomes);
            });
  }

  /** The functions' labels, in order. */
  public List<String> labels() {
    return runners.stream().map(RewardRunner::label).toList();
  }

  /** The weight of each function by label, in order. */
  public Map<String, Double> weights() {
    Map<String, Double> byLabel = new LinkedHashMap<>();
    for (int i = 0; i < runners.size(); i++) {
      byLabel.put(runners.get(i).label(), weights.get(i));
    }
    return byLabel;
  }

  /** Each function's counters, in order. */
  public List<RewardMetrics> metrics() {
    return runners.stream().map(RewardRunner::metrics).toList();
  }

  /** Every counter as {@code reward/LABEL/NAME -> value}, for a run's metrics log. */
  public Map<String, Object> metricsMap() {
    Map<String, Object> map = new LinkedHashMap<>();
    for (RewardMetrics metrics : metrics()) {
      metrics
          .toMap()
          .forEach((name, value) -> map.put("reward/" + metrics.label() + "/" + name, value));
    }
    return map;
  }

  /**
   * Stops every runner (waiting calls end with an error), closes the functions, and for a pipeline
   * made by {@link #create(RewardsConfig)} the plug-in class loaders.
   */
  @Override
  public void close() {
    runners.forEach(RewardRunner::close);
    timer.shutdownNow();
    if (owned != null) {
      closeQuietly(owned);
    }
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      System.getLogger(RewardPipeline.class.getName())
          .log(System.Logger.Level.WARNING, "closing " + closeable + " failed", e);
    }
  }
}
