package rl.dashboard;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * The event-bus addresses a run publishes for watchers, and the only ones the dashboard's bridge
 * lets out to a browser.
 *
 * <ul>
 *   <li>{@value #RUN_METRICS}: each {@code metrics.jsonl} line as it is written (one flat object
 *       per step: learner keys, {@code sampler_*}, {@code eval_*}, {@code reward_std}, {@code
 *       reward_errors}).
 *   <li>{@value #RUN_SAMPLES}: {@code {step, groups}} with the step's groups as written to {@code
 *       samples.jsonl} (prompt, completions, rewards).
 *   <li>{@value #RUN_STATUS}: {@code {state, step, steps, elapsed_s, eta_s, ...}}, every second and
 *       after each step, from the dashboard.
 *   <li>{@value #SAMPLER_METRICS}: the sampler's throughput every second ({@code
 *       rl.sampler.SamplerVerticle.METRICS}).
 * </ul>
 */
public final class RunEvents {
  public static final String RUN_METRICS = "rl.run.metrics";
  public static final String RUN_SAMPLES = "rl.run.samples";
  public static final String RUN_STATUS = "rl.run.status";
  public static final String SAMPLER_METRICS = "rl.sampler.metrics";

  /**
   * The bridge's outbound permission: exactly the four addresses above, matched whole. Nothing else
   * on the bus (adapter updates with weights, rollouts, checkpoints, requests) ever leaves.
   */
  public static final String OUTBOUND_REGEX =
      "rl\\.run\\.(?:metrics|samples|status)|rl\\.sampler\\.metrics";

  static final Pattern OUTBOUND = Pattern.compile(OUTBOUND_REGEX);

  private RunEvents() {}

  /**
   * Publishes each recorded step: its metrics line on {@value #RUN_METRICS} and, when it has
   * groups, {@code {step, groups}} on {@value #RUN_SAMPLES}. Safe from any thread; a record that
   * arrives after Vert.x closed is dropped.
   */
  public static BiConsumer<JsonObject, JsonArray> publisher(Vertx vertx) {
    return (line, groups) -> {
      try {
        vertx.eventBus().publish(RUN_METRICS, line);
        if (groups != null && !groups.isEmpty()) {
          vertx
              .eventBus()
              .publish(
                  RUN_SAMPLES,
                  new JsonObject().put("step", line.getValue("step")).put("groups", groups));
        }
      } catch (IllegalStateException closed) {
        // The run is shutting down: nobody is left to watch.
      }
    };
  }
}
