package rl.run;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import rl.core.messages.SampleBatch;
import rl.core.messages.SampleRequest;
import rl.core.messages.SamplingParams;
import rl.learner.LearnerVerticle;
import rl.rewards.Problem;
import rl.sampler.SamplerVerticle;

/**
 * Drives a run over the event bus: asks the sampler for each step's groups, keeps the sampler at
 * most {@code max_policy_lag} adapter versions behind the learner, evaluates on the held-out
 * problems every {@code eval.every} steps (greedy pass@1, mean reward at the sampling temperature),
 * asks the learner for checkpoints, and hands every step's record to {@code onStep}. Problem order
 * and sampling seeds derive from the run seed and the step, so a resumed run draws what an
 * uninterrupted one would.
 */
final class RunCoordinator extends VerticleBase {
  private final TrainConfig config;
  private final List<Problem> train;
  private final List<Problem> eval;
  private final Map<String, int[]> promptTokens;
  private final java.nio.file.Path checkpointDir;
  private final Consumer<JsonObject> onStep;
  private final Promise<Integer> finished;
  private final int firstStep;

  private int stepsDone;
  private int batchesSent;
  private JsonObject samplerMetrics = new JsonObject();
  private JsonObject pendingEval;
  private final List<JsonObject> evalResults = new ArrayList<>();
  private int evalExpected;
  private int evalStep = -1;
  private Runnable afterEval;
  private final List<JsonObject> rewardRows = new ArrayList<>();
  private volatile boolean stopRequested;
  private boolean finishing;

  /**
   * @param firstStep the learner's step when the run starts (0, or the checkpoint's on resume)
   * @param finished completed with the last step done when the run ends
   */
  RunCoordinator(
      TrainConfig config,
      Problems problems,
      Map<String, int[]> promptTokens,
      java.nio.file.Path checkpointDir,
      int firstStep,
      Consumer<JsonObject> onStep,
      Promise<Integer> finished) {
    this.config = config;
    this.train = problems.train();
    this.eval = problems.eval();
    this.promptTokens = promptTokens;
    this.checkpointDir = checkpointDir;
    this.firstStep = firstStep;
    this.stepsDone = firstStep;
    this.batchesSent = firstStep;
    this.onStep = onStep;
    this.finished = finished;
  }

  /** Finish the step in progress, checkpoint, and end the run (from any thread). */
  void requestStop() {
    stopRequested = true;
    vertx.runOnContext(v -> maybeFinishEarly());
  }

  @Override
  public Future<?> start() {
    var bus = vertx.eventBus();
    // Merged, not replaced: a report from an idle second leaves out the decode rate, which then
    // keeps its last measured value.
    bus.<JsonObject>consumer(SamplerVerticle.METRICS, m -> samplerMetrics.mergeIn(m.body()));
    bus.<JsonObject>consumer(RewardVerticle.SAMPLES, m -> rewardRows.add(m.body()));
    bus.<JsonObject>consumer(RewardVerticle.EVAL_SCORED, m -> evalScored(m.body()));
    bus.<JsonObject>consumer(LearnerVerticle.METRICS, m -> stepDone(m.body()));
    if (firstStep == 0 && !eval.isEmpty()) {
      evaluate(0, this::sendAllowedBatches);
    } else {
      sendAllowedBatches();
    }
    return Future.succeededFuture();
  }

  // ---- training batches ----

  private void sendAllowedBatches() {
    int steps = config.training().steps();
    // The sampler may run ahead of the learner by max_policy_lag steps.
    while (!stopRequested
        && batchesSent < steps
        && batchesSent <= stepsDone + config.training().maxPolicyLag()) {
      sendBatch(batchesSent);
      batchesSent++;
    }
  }

  private void sendBatch(int step) {
    int perStep = config.training().groupsPerStep();
    List<SampleRequest> requests = new ArrayList<>();
    for (int i = 0; i < perStep; i++) {
      // Epochs walk the problems in a seeded order, reshuffled each epoch.
      long index = (long) step * perStep + i;
      Problem problem = problemAt(index);
      SamplingParams params =
          new SamplingParams(
              config.sampling().temperature(),
              config.sampling().topP(),
              config.sampling().topK(),
              0,
              config.sampling().maxTokens(),
              config.sampling().stop(),
              config.seed() * 1_000_003L + index);
      requests.add(
          new SampleRequest(
              RequestIds.of(RequestIds.TRAIN, step, i, problem.id()),
              promptTokens.get(problem.id()),
              config.training().groupSize(),
              params));
    }
    vertx.eventBus().send(SamplerVerticle.BATCHES, new SampleBatch(requests));
  }

  private Problem problemAt(long index) {
    int n = train.size();
    long epoch = index / n;
    int position = (int) (index % n);
    // A seeded permutation per epoch (Fisher-Yates), computed on demand; n is small.
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    java.util.Random random = new java.util.Random(config.seed() * 31 + epoch);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return train.get(order[position]);
  }

  private void stepDone(JsonObject learnerMetrics) {
    stepsDone = learnerMetrics.getInteger("step");
    JsonObject record = learnerMetrics.copy();
    record.put("sampler", samplerMetrics.copy());
    List<JsonObject> rows = new ArrayList<>();
    rewardRows.removeIf(
        r -> {
          if (r.getInteger("step") == stepsDone - 1) {
            rows.add(r);
            return true;
          }
          return false;
        });
    record.put("groups", new JsonArray(rows));
    int steps = config.training().steps();
    boolean last = stepsDone >= steps || stopRequested;
    boolean evalDue =
        !eval.isEmpty()
            && (last || (config.eval().every() > 0 && stepsDone % config.eval().every() == 0));
    boolean checkpointDue =
        last
            || (config.training().checkpointEvery() > 0
                && stepsDone % config.training().checkpointEvery() == 0);
    Runnable next =
        () -> {
          if (checkpointDue) {
            checkpoint(
                () -> {
                  onStep.accept(record);
                  continueOrFinish(last);
                });
          } else {
            onStep.accept(record);
            continueOrFinish(last);
          }
        };
    if (evalDue) {
      evaluate(
          stepsDone,
          () -> {
            record.put("eval", pendingEval);
            next.run();
          });
    } else {
      next.run();
    }
  }

  private void continueOrFinish(boolean last) {
    if (last) {
      finishing = true;
      finished.tryComplete(stepsDone);
    } else if (stopRequested) {
      // A stop that arrived during an evaluation or a checkpoint ends the run here.
      maybeFinishEarly();
    } else {
      sendAllowedBatches();
    }
  }

  private void maybeFinishEarly() {
    // Nothing in flight: stop now (a checkpoint was written at the last finished step).
    if (!finishing && batchesSent == stepsDone && afterEval == null) {
      checkpoint(() -> finished.tryComplete(stepsDone));
    }
  }

  private void checkpoint(Runnable then) {
    JsonObject request =
        new JsonObject()
            .put("dir", checkpointDir.toString())
            .put("state", new JsonObject().put("step", stepsDone).put("seed", config.seed()));
    vertx
        .eventBus()
        .<String>request(LearnerVerticle.CHECKPOINT, request)
        .onComplete(
            r -> {
              if (r.failed()) {
                finished.tryFail(
                    new IllegalStateException(
                        "checkpoint failed: " + r.cause().getMessage(), r.cause()));
              } else {
                then.run();
              }
            });
  }

  // ---- evaluation ----

  private void evaluate(int step, Runnable then) {
    evalStep = step;
    evalResults.clear();
    afterEval = then;
    int samples = config.eval().samples();
    evalExpected = eval.size() * (samples > 0 ? 2 : 1);
    List<SampleRequest> requests = new ArrayList<>();
    for (int i = 0; i < eval.size(); i++) {
      Problem problem = eval.get(i);
      int[] prompt = promptTokens.get(problem.id());
      requests.add(
          new SampleRequest(
              RequestIds.of(RequestIds.GREEDY, step, i, problem.id()),
              prompt,
              1,
              SamplingParams.greedy(config.sampling().maxTokens())));
      if (samples > 0) {
        requests.add(
            new SampleRequest(
                RequestIds.of(RequestIds.SAMPLED, step, i, problem.id()),
                prompt,
                samples,
                new SamplingParams(
                    config.sampling().temperature(),
                    config.sampling().topP(),
                    config.sampling().topK(),
                    0,
                    config.sampling().maxTokens(),
                    config.sampling().stop(),
                    config.seed() * 7_000_003L + i)));
      }
    }
    vertx.eventBus().send(SamplerVerticle.BATCHES, new SampleBatch(requests));
  }

  private void evalScored(JsonObject result) {
    if (result.getInteger("step") != evalStep || afterEval == null) {
      return;
    }
    evalResults.add(result);
    if (evalResults.size() < evalExpected) {
      return;
    }
    double threshold = config.eval().passThreshold();
    int greedyPass = 0;
    int greedyCount = 0;
    double sampledSum = 0;
    int sampledCount = 0;
    int anyPass = 0;
    int sampledProblems = 0;
    for (JsonObject r : evalResults) {
      JsonArray rewards = r.getJsonArray("rewards");
      if (r.getString("kind").equals(RequestIds.GREEDY)) {
        greedyCount++;
        if (rewards.getDouble(0) >= threshold) {
          greedyPass++;
        }
      } else {
        sampledProblems++;
        boolean passed = false;
        for (int i = 0; i < rewards.size(); i++) {
          sampledSum += rewards.getDouble(i);
          sampledCount++;
          passed |= rewards.getDouble(i) >= threshold;
        }
        if (passed) {
          anyPass++;
        }
      }
    }
    pendingEval =
        new JsonObject()
            .put("step", evalStep)
            .put("pass_at_1", greedyCount == 0 ? 0 : (double) greedyPass / greedyCount)
            .put("problems", greedyCount);
    if (sampledCount > 0) {
      pendingEval
          .put("reward_mean", sampledSum / sampledCount)
          .put("pass_at_" + config.eval().samples(), (double) anyPass / sampledProblems);
    }
    Runnable then = afterEval;
    afterEval = null;
    if (evalStep == 0 && firstStep == 0) {
      // The baseline evaluation is a record of its own, before any step.
      onStep.accept(new JsonObject().put("step", 0).put("eval", pendingEval));
    }
    then.run();
  }
}
