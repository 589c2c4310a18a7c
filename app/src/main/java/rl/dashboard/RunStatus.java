package rl.dashboard;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Where a run stands: step, steps, elapsed time and ETA, as the console line reckons them (time
 * since the run started, divided by the steps done since then). States: {@code starting} (no
 * training step yet), {@code running}, {@code finished}; a run served from its files is {@code
 * finished} or {@code stopped}.
 */
final class RunStatus {
  private final String run;
  private final int steps;
  private final int firstStep;
  private final long startNanos = System.nanoTime();
  private final long startedAtMillis = System.currentTimeMillis();
  private int step;

  /**
   * @param run the run's name
   * @param steps the run's configured step count
   * @param firstStep the learner's step when this process started (0, or the checkpoint's)
   */
  RunStatus(String run, int steps, int firstStep) {
    this.run = run;
    this.steps = steps;
    this.firstStep = firstStep;
    this.step = firstStep;
  }

  /** Takes one {@code metrics.jsonl} line; only training steps (with a loss) move the step. */
  synchronized void record(JsonObject line) {
    if (line.containsKey("loss") && line.getValue("step") instanceof Number n) {
      step = Math.max(step, n.intValue());
    }
  }

  synchronized JsonObject toJson() {
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    int done = step - firstStep;
    String state = step >= steps ? "finished" : done > 0 ? "running" : "starting";
    return new JsonObject()
        .put("run", run)
        .put("live", true)
        .put("state", state)
        .put("step", step)
        .put("steps", steps)
        .put("first_step", firstStep)
        .put("started_at", startedAtMillis)
        .put("elapsed_s", elapsed)
        .put("eta_s", done > 0 ? elapsed / done * Math.max(0, steps - step) : null);
  }

  /** The status of a run that is not running, from its records. */
  static JsonObject ofFinished(String run, JsonArray history, int steps, double wallSeconds) {
    int step = 0;
    for (int i = 0; i < history.size(); i++) {
      JsonObject line = history.getJsonObject(i);
      if (line.containsKey("loss") && line.getValue("step") instanceof Number n) {
        step = Math.max(step, n.intValue());
      }
    }
    return new JsonObject()
        .put("run", run)
        .put("live", false)
        .put("state", step >= steps ? "finished" : "stopped")
        .put("step", step)
        .put("steps", steps)
        .put("elapsed_s", wallSeconds)
        .putNull("eta_s");
  }
}
