package rl.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import rl.core.config.LoraConfig;
import rl.core.config.ObjectiveConfig;
import rl.core.config.OptimizerConfig;
import rl.core.config.TrainingConfig;
import rl.core.lora.LoraAdapter;
import rl.core.messages.AdapterUpdate;
import rl.core.messages.Completion;
import rl.core.messages.FinishReason;
import rl.core.messages.MessageCodecs;
import rl.core.messages.RolloutGroup;
import rl.core.messages.ScoredGroup;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Nd4jOps;

class LearnerVerticleTest {
  private static ScoredGroup group(String id, int version) {
    List<Completion> completions = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      completions.add(
          new Completion(
              new int[] {3 + i, 4},
              new float[] {-2f, -2f},
              new int[] {version, version},
              FinishReason.STOP));
    }
    return new ScoredGroup(
        new RolloutGroup(id, new int[] {1, 2}, completions), new double[] {1, 0});
  }

  @Test
  void scoredGroupsInMetricsAndUpdatesOutStaleGroupsRefused() throws Throwable {
    Vertx vertx = Vertx.vertx();
    VertxTestContext test = new VertxTestContext();
    try {
      MessageCodecs.register(vertx.eventBus());
      Decoder model =
          Decoder.random(HfModelConfig.llama(16, 24, 1, 2, 1, 11), new Nd4jOps(), 1, 0.3);
      LoraAdapter adapter = LoraAdapter.create(model, LoraConfig.DEFAULTS, 1);
      Learner learner =
          new Learner(
              model,
              adapter,
              LoraConfig.DEFAULTS,
              ObjectiveConfig.DEFAULTS,
              OptimizerConfig.DEFAULTS,
              new TrainingConfig(10, 2, 2, 1, 0, 0, 64, 0, false),
              1.0,
              8);
      List<JsonObject> metrics = Collections.synchronizedList(new ArrayList<>());
      List<AdapterUpdate> updates = Collections.synchronizedList(new ArrayList<>());
      vertx
          .eventBus()
          .<AdapterUpdate>consumer(LearnerVerticle.ADAPTER_UPDATES, m -> updates.add(m.body()));
      vertx
          .eventBus()
          .<JsonObject>consumer(
              LearnerVerticle.METRICS,
              m -> {
                metrics.add(m.body());
                if (metrics.size() == 1) {
                  // Now at version 1 with max lag 0: a version-0 group is stale.
                  vertx.eventBus().publish(LearnerVerticle.SCORED, group("stale", 0));
                  vertx.eventBus().publish(LearnerVerticle.SCORED, group("c", 1));
                  vertx.eventBus().publish(LearnerVerticle.SCORED, group("d", 1));
                }
                if (metrics.size() == 2) {
                  test.completeNow();
                }
              });
      vertx
          .deployVerticle(new LearnerVerticle(learner, 2, 1, 0))
          .onFailure(test::failNow)
          .onSuccess(
              id -> {
                vertx.eventBus().publish(LearnerVerticle.SCORED, group("a", 0));
                vertx.eventBus().publish(LearnerVerticle.SCORED, group("b", 0));
              });
      assertTrue(test.awaitCompletion(60, TimeUnit.SECONDS));
      if (test.failed()) {
        throw test.causeOfFailure();
      }
      assertEquals(1, metrics.get(0).getInteger("step"));
      assertEquals(2, metrics.get(1).getInteger("step"));
      assertEquals(1L, metrics.get(1).getLong("refused_stale_groups"));
      assertEquals(2, updates.size());
      assertEquals(2, updates.get(1).version());
      assertEquals(adapter.parameters().size(), updates.get(1).tensors().size());
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }
}
