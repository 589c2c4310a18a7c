package rl.sampler;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import rl.core.messages.AdapterUpdate;
import rl.core.messages.SampleBatch;
import rl.core.messages.SampleRequest;

/**
 * The sampler on the event bus: takes {@link SampleRequest}s, publishes {@code RolloutGroup}s,
 * applies {@link AdapterUpdate}s, and publishes metrics every second. The model runs on one
 * dedicated compute thread; the event loop only moves messages.
 */
public final class SamplerVerticle extends VerticleBase {
  public static final String REQUESTS = "rl.sampler.requests";
  public static final String ROLLOUTS = "rl.rollouts";

  /** {@code SampleBatch}es: requests admitted together (a run's step). */
  public static final String BATCHES = "rl.sampler.batches";

  public static final String ADAPTER_UPDATES = "rl.adapter.updates";
  public static final String METRICS = "rl.sampler.metrics";

  private static final Logger LOG = LoggerFactory.getLogger(SamplerVerticle.class);

  private final GenerationEngine engine;
  private final Semaphore wake = new Semaphore(0);
  private volatile boolean running;
  private Thread compute;
  private long metricsTimer;
  private EngineStats.Snapshot lastSnapshot;
  private long lastSnapshotNanos;

  /** Failed steps in a row after which a sampler with a give-up handler stops. */
  public static final int MAX_FAILED_STEPS = 3;

  private final java.util.function.Consumer<RuntimeException> onGiveUp;

  /** A sampler that keeps going after failed steps (each one's requests end aborted). */
  public SamplerVerticle(GenerationEngine engine) {
    this(engine, null);
  }

  /**
   * A sampler that, after {@link #MAX_FAILED_STEPS} failed steps in a row (each one's requests end
   * aborted), stops and hands the last failure to {@code onGiveUp} (on its compute thread): a fault
   * that repeats every step, such as a backend that cannot launch a kernel, ends the run instead of
   * producing aborted groups forever.
   */
  public SamplerVerticle(
      GenerationEngine engine, java.util.function.Consumer<RuntimeException> onGiveUp) {
    this.engine = engine;
    this.onGiveUp = onGiveUp;
  }

  @Override
  public Future<?> start() {
    MessageConsumer<SampleRequest> requests =
        vertx
            .eventBus()
            .consumer(
                REQUESTS,
                message -> {
                  try {
                    engine.submit(
                        message.body(), group -> vertx.eventBus().publish(ROLLOUTS, group));
                    wake.release();
                  } catch (IllegalArgumentException e) {
                    LOG.warn("refused sample request: {}", e.getMessage());
                    message.fail(400, e.getMessage());
                  }
                });
    MessageConsumer<SampleBatch> batches =
        vertx
            .eventBus()
            .consumer(
                BATCHES,
                message -> {
                  try {
                    engine.submitAll(
                        message.body().requests(),
                        group -> vertx.eventBus().publish(ROLLOUTS, group));
                    wake.release();
                  } catch (IllegalArgumentException e) {
                    LOG.warn("refused sample batch: {}", e.getMessage());
                    message.fail(400, e.getMessage());
                  }
                });
    MessageConsumer<AdapterUpdate> updates =
        vertx
            .eventBus()
            .consumer(
                ADAPTER_UPDATES,
                message -> {
                  engine.updateAdapter(message.body());
                  wake.release();
                });
    running = true;
    compute = Thread.ofPlatform().name("rl-sampler-compute").daemon().start(this::computeLoop);
    lastSnapshot = engine.stats().snapshot();
    lastSnapshotNanos = System.nanoTime();
    metricsTimer = vertx.setPeriodic(1000, id -> publishMetrics());
    return Future.all(requests.completion(), batches.completion(), updates.completion());
  }

  private void computeLoop() {
    int failedInARow = 0;
    while (running) {
      try {
        if (engine.busy()) {
          engine.step();
          failedInARow = 0;
        } else {
          wake.tryAcquire(100, TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        // A failed step (bad update, numerical fault) must not silently stop sampling.
        LOG.error("sampler step failed; aborting in-flight requests", e);
        engine.abortAll();
        if (onGiveUp != null && ++failedInARow >= MAX_FAILED_STEPS) {
          LOG.error("sampler stops after {} failed steps in a row", failedInARow);
          running = false;
          onGiveUp.accept(e);
          return;
        }
      }
    }
  }

  /**
   * The last second's report: decode and prefill tokens per second of busy time (so that a rate
   * says how fast the engine works, whether or not it waited for work; each left out of a second in
   * which there was none), the fraction of the second it was busy, batch occupancy, queue depth,
   * time per step, and the share of decoding spent outside the backend's calls.
   */
  private void publishMetrics() {
    EngineStats.Snapshot now = engine.stats().snapshot();
    long nanos = System.nanoTime();
    double wall = (nanos - lastSnapshotNanos) / 1e9;
    double busy = now.seconds() - lastSnapshot.seconds();
    long steps = now.steps() - lastSnapshot.steps();
    long decoded = now.decodedTokens() - lastSnapshot.decodedTokens();
    JsonObject metrics =
        new JsonObject()
            .put("version", engine.version())
            .put("busy_fraction", wall > 0 ? Math.min(1, busy / wall) : 0)
            .put("batch_occupancy", now.batchOccupancy())
            .put("queue_depth", now.queueDepth())
            .put("step_ms", steps == 0 ? 0 : busy * 1000 / steps)
            .put("groups_done", now.groupsDone());
    long prefilled = now.prefillTokens() - lastSnapshot.prefillTokens();
    if (decoded > 0 && busy > 0) {
      metrics.put("decode_tokens_per_s", decoded / busy);
    }
    double decoding = now.decodeSeconds() - lastSnapshot.decodeSeconds();
    if (decoding > 0) {
      double inBackend = now.decodeBackendSeconds() - lastSnapshot.decodeBackendSeconds();
      metrics.put("decode_host_share", Math.max(0, 1 - inBackend / decoding));
    }
    if (prefilled > 0 && busy > 0) {
      metrics.put("prefill_tokens_per_s", prefilled / busy);
    }
    lastSnapshot = now;
    lastSnapshotNanos = nanos;
    vertx.eventBus().publish(METRICS, metrics);
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(metricsTimer);
    running = false;
    wake.release();
    Promise<Void> stopped = Promise.promise();
    // Joining the compute thread may take a step's time: never on the event loop.
    vertx
        .executeBlocking(
            () -> {
              compute.join();
              engine.abortAll();
              return null;
            },
            false)
        .onComplete(r -> stopped.complete());
    return stopped.future();
  }
}
