package rl.sampler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import rl.core.config.LoraConfig;
import rl.core.lora.LoraAdapter;
import rl.core.messages.AdapterUpdate;
import rl.core.messages.FinishReason;
import rl.core.messages.MessageCodecs;
import rl.core.messages.RolloutGroup;
import rl.core.messages.SampleRequest;
import rl.core.messages.SamplingParams;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.model.Parameter;
import rl.core.safetensors.FloatTensor;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;

class SamplerVerticleTest {
  @Test
  void requestsInRolloutsOutUpdateAppliedEventLoopNeverBlocked() throws Throwable {
    List<String> blockedWarnings = Collections.synchronizedList(new ArrayList<>());
    Logger vertxLog = Logger.getLogger("io.vertx");
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord record) {
            String message = String.valueOf(record.getMessage());
            if (message.contains("has been blocked")) {
              blockedWarnings.add(message);
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    vertxLog.addHandler(capture);
    Vertx vertx =
        Vertx.vertx(
            new VertxOptions()
                .setBlockedThreadCheckInterval(50)
                .setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(200)
                .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
    VertxTestContext test = new VertxTestContext();
    try {
      MessageCodecs.register(vertx.eventBus());
      Decoder model =
          Decoder.random(HfModelConfig.llama(32, 48, 2, 4, 2, 31), new Nd4jOps(), 1, 0.3);
      LoraAdapter adapter =
          LoraAdapter.create(
              model,
              new LoraConfig(1, 8, LoraConfig.ALL_TARGETS, LoraConfig.Init.STANDARD, false),
              2);
      Map<String, FloatTensor> next = new LinkedHashMap<>();
      for (Parameter p : adapter.parameters()) {
        float[] v = model.ops().download(p.value());
        for (int i = 0; i < v.length; i++) {
          v[i] += 0.05f;
        }
        next.put(p.name(), new FloatTensor(v, new long[] {p.value().rows(), p.value().cols()}));
      }
      GenerationEngine engine = new GenerationEngine(model, 8, 64, 64, new int[0], null);
      List<RolloutGroup> received = Collections.synchronizedList(new ArrayList<>());
      List<JsonObject> metrics = Collections.synchronizedList(new ArrayList<>());
      vertx.eventBus().<JsonObject>consumer(SamplerVerticle.METRICS, m -> metrics.add(m.body()));
      vertx
          .eventBus()
          .<RolloutGroup>consumer(
              SamplerVerticle.ROLLOUTS,
              m -> {
                received.add(m.body());
                if (received.size() == 1) {
                  // After the first group, sync a new adapter, then ask for more.
                  vertx
                      .eventBus()
                      .publish(SamplerVerticle.ADAPTER_UPDATES, new AdapterUpdate(1, next));
                  vertx.setTimer(
                      200,
                      t -> vertx.eventBus().send(SamplerVerticle.REQUESTS, request("after", 5)));
                }
                if (received.size() == 3) {
                  test.completeNow();
                }
              });
      vertx
          .deployVerticle(new SamplerVerticle(engine))
          .onFailure(test::failNow)
          .onSuccess(
              id -> {
                vertx.eventBus().send(SamplerVerticle.REQUESTS, request("a", 1));
                vertx.eventBus().send(SamplerVerticle.REQUESTS, request("b", 2));
              });
      assertTrue(test.awaitCompletion(60, TimeUnit.SECONDS), "three rollout groups arrive");
      if (test.failed()) {
        throw test.causeOfFailure();
      }
      RolloutGroup after =
          received.stream().filter(g -> g.requestId().equals("after")).findFirst().orElseThrow();
      assertEquals(4, after.completions().size());
      after.completions().forEach(c -> assertEquals(1, c.versions()[0], "drawn after the update"));
      RolloutGroup first = received.getFirst();
      assertEquals(0, first.completions().getFirst().versions()[0]);
      Thread.sleep(1200);
      assertFalse(metrics.isEmpty(), "metrics are published");
      assertTrue(metrics.getLast().containsKey("busy_fraction"));
      assertTrue(
          metrics.stream().anyMatch(m -> m.getDouble("decode_tokens_per_s", 0.0) > 0),
          "a positive decode rate while it decoded: " + metrics);
      assertTrue(
          metrics.stream()
              .filter(m -> m.containsKey("decode_host_share"))
              .anyMatch(
                  m ->
                      m.getDouble("decode_host_share") >= 0
                          && m.getDouble("decode_host_share") < 1),
          "a decode host share while it decoded: " + metrics);
      assertTrue(blockedWarnings.isEmpty(), "blocked-thread warnings: " + blockedWarnings);
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
      vertxLog.removeHandler(capture);
    }
  }

  /**
   * A fault on every step: each failed step's requests end aborted, and after MAX_FAILED_STEPS in a
   * row the sampler stops and hands the fault to its give-up handler (a run then ends with it).
   */
  @Test
  void aFaultOnEveryStepEndsInTheGiveUpHandler() throws Exception {
    Ops real = new Nd4jOps();
    Ops broken =
        WatchedOps.of(
            real,
            (name, args) -> {
              if (name.startsWith("attention")) {
                throw new IllegalStateException("kernel launch failed (test)");
              }
            });
    Decoder model = Decoder.random(HfModelConfig.llama(32, 48, 2, 4, 2, 31), broken, 1, 0.3);
    GenerationEngine engine = new GenerationEngine(model, 8, 64, 64, new int[0], null);
    java.util.concurrent.CompletableFuture<RuntimeException> gaveUp =
        new java.util.concurrent.CompletableFuture<>();
    Vertx vertx = Vertx.vertx();
    try {
      MessageCodecs.register(vertx.eventBus());
      java.util.concurrent.BlockingQueue<RolloutGroup> rollouts =
          new java.util.concurrent.LinkedBlockingQueue<>();
      vertx
          .eventBus()
          .<RolloutGroup>consumer(SamplerVerticle.ROLLOUTS, m -> rollouts.add(m.body()))
          .completion()
          .await(10, TimeUnit.SECONDS);
      vertx
          .deployVerticle(new SamplerVerticle(engine, gaveUp::complete))
          .await(10, TimeUnit.SECONDS);
      for (int step = 0; step < SamplerVerticle.MAX_FAILED_STEPS; step++) {
        assertFalse(gaveUp.isDone(), "gave up after " + step + " failed steps");
        vertx.eventBus().send(SamplerVerticle.REQUESTS, request("r" + step, step));
        RolloutGroup group = rollouts.poll(30, TimeUnit.SECONDS);
        assertEquals("r" + step, group.requestId());
        group.completions().forEach(c -> assertEquals(FinishReason.ABORTED, c.finishReason()));
      }
      RuntimeException fault = gaveUp.get(30, TimeUnit.SECONDS);
      assertTrue(fault.getMessage().contains("kernel launch failed"), fault.getMessage());
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static SampleRequest request(String id, long seed) {
    return new SampleRequest(
        id, new int[] {1, 2, 3, 4}, 4, new SamplingParams(1.0, 1, 0, 0, 24, List.of(), seed));
  }
}
