package rl.learner;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import rl.core.messages.ScoredGroup;

/**
 * The learner on the event bus: collects {@link ScoredGroup}s, refuses groups drawn more than
 * {@code max_policy_lag} adapter versions ago, runs a step on its own compute thread whenever it
 * holds {@code groups_per_step} groups, publishes each step's metrics, and every {@code sync_every}
 * steps publishes an {@code AdapterUpdate} whose version is the step number.
 */
public final class LearnerVerticle extends VerticleBase {
  public static final String SCORED = "rl.scored";
  public static final String METRICS = "rl.learner.metrics";
  public static final String ADAPTER_UPDATES = "rl.adapter.updates";

  /** Request {@code {"dir": ..., "state": {...}}}: write a checkpoint; replies with its path. */
  public static final String CHECKPOINT = "rl.learner.checkpoint";

  private static final Logger LOG = LoggerFactory.getLogger(LearnerVerticle.class);

  private final Learner learner;
  private final int groupsPerStep;
  private final int syncEvery;
  private final int maxPolicyLag;
  private final List<ScoredGroup> pending = new ArrayList<>();
  private final ExecutorService compute =
      Executors.newSingleThreadExecutor(
          r -> Thread.ofPlatform().name("rl-learner-compute").daemon().unstarted(r));
  private boolean stepping;
  private int version;
  private long refusedStale;

  public LearnerVerticle(Learner learner, int groupsPerStep, int syncEvery, int maxPolicyLag) {
    this.learner = learner;
    this.groupsPerStep = groupsPerStep;
    this.syncEvery = syncEvery;
    this.maxPolicyLag = maxPolicyLag;
    this.version = learner.step();
  }

  @Override
  public Future<?> start() {
    Future<Void> scored =
        vertx
            .eventBus()
            .<ScoredGroup>consumer(SCORED, message -> accept(message.body()))
            .completion();
    Future<Void> checkpoints =
        vertx.eventBus().<JsonObject>consumer(CHECKPOINT, this::checkpoint).completion();
    return Future.all(scored, checkpoints);
  }

  /** Writes a checkpoint on the compute thread, after any step in progress; replies its path. */
  private void checkpoint(io.vertx.core.eventbus.Message<JsonObject> message) {
    Path dir = Path.of(message.body().getString("dir"));
    Map<String, Object> state = message.body().getJsonObject("state", new JsonObject()).getMap();
    Future.fromCompletionStage(
            java.util.concurrent.CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return Checkpoints.save(learner, dir, state).toString();
                  } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                },
                compute),
            context)
        .onSuccess(message::reply)
        .onFailure(e -> message.fail(500, e.getMessage()));
  }

  /** On the event loop: filter, buffer, and hand a full step to the compute thread. */
  private void accept(ScoredGroup group) {
    int lag = version - Math.max(0, group.oldestVersion());
    if (lag > maxPolicyLag) {
      refusedStale++;
      LOG.debug(
          "refused group {}: policy lag {} > {}", group.rollouts().requestId(), lag, maxPolicyLag);
      return;
    }
    pending.add(group);
    maybeStep();
  }

  private void maybeStep() {
    if (stepping || pending.size() < groupsPerStep) {
      return;
    }
    List<ScoredGroup> batch = new ArrayList<>(pending.subList(0, groupsPerStep));
    pending.subList(0, groupsPerStep).clear();
    // Rewards finish in any order; a fixed order keeps a step's arithmetic reproducible.
    batch.sort(java.util.Comparator.comparing(g -> g.rollouts().requestId()));
    stepping = true;
    int currentVersion = version;
    Future.fromCompletionStage(
            java.util.concurrent.CompletableFuture.supplyAsync(
                () -> {
                  StepMetrics metrics = learner.rlStep(batch, currentVersion);
                  boolean sync = metrics.step() % syncEvery == 0;
                  return new Object[] {
                    metrics, sync ? learner.adapterUpdate(metrics.step()) : null
                  };
                },
                compute),
            context)
        .onComplete(
            result -> {
              stepping = false;
              if (result.failed()) {
                LOG.error("learner step failed; its groups are dropped", result.cause());
              } else {
                StepMetrics metrics = (StepMetrics) result.result()[0];
                // The update goes out before the metrics: whoever reacts to a step's metrics by
                // requesting samples gets them from the updated policy.
                if (result.result()[1] != null) {
                  version = metrics.step();
                  vertx.eventBus().publish(ADAPTER_UPDATES, result.result()[1]);
                }
                JsonObject json =
                    new JsonObject(metrics.toMap())
                        .put("refused_stale_groups", refusedStale)
                        .put("version", version);
                vertx.eventBus().publish(METRICS, json);
              }
              // Groups that arrived during the step are checked against the new version.
              List<ScoredGroup> waiting = new ArrayList<>(pending);
              pending.clear();
              waiting.forEach(this::accept);
              maybeStep();
            });
  }

  @Override
  public Future<?> stop() {
    compute.shutdownNow();
    return Future.succeededFuture();
  }
}
