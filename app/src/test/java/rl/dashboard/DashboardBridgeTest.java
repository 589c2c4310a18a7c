package rl.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.dashboard.DashboardFixtures.await;
import static rl.dashboard.DashboardFixtures.deploy;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.learner.LearnerVerticle;
import rl.sampler.SamplerVerticle;

/**
 * The event-bus bridge, through a raw WebSocket: nothing a client sends reaches the bus, and only
 * the run's metrics, samples and status addresses ever reach a client.
 */
class DashboardBridgeTest {
  private static final List<String> PERMITTED =
      List.of(
          RunEvents.RUN_METRICS,
          RunEvents.RUN_SAMPLES,
          RunEvents.RUN_STATUS,
          RunEvents.SAMPLER_METRICS);

  /** Real addresses of the run, and look-alikes of the permitted ones. */
  private static final List<String> FORBIDDEN =
      List.of(
          LearnerVerticle.ADAPTER_UPDATES,
          LearnerVerticle.METRICS,
          LearnerVerticle.CHECKPOINT,
          LearnerVerticle.SCORED,
          SamplerVerticle.ROLLOUTS,
          SamplerVerticle.BATCHES,
          "rl.samples",
          "rl.secret",
          "rl.run.metricsX",
          "rl.run.metrics.x",
          "xrl.run.metrics",
          "rl.run.status\n",
          "rl_run_metrics");

  @TempDir static Path root;
  static Vertx vertx;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    port =
        deploy(
                vertx,
                DashboardVerticle.live(
                    new DashboardConfig(0, "127.0.0.1", ""), DashboardFixtures.run(root), 10, 0))
            .port();
  }

  @AfterAll
  static void stop() throws Exception {
    await(vertx.close());
  }

  @Test
  void theOutboundRegexMatchesExactlyTheRunsAddresses() {
    for (String address : PERMITTED) {
      assertTrue(RunEvents.OUTBOUND.matcher(address).matches(), address);
    }
    for (String address : FORBIDDEN) {
      assertFalse(RunEvents.OUTBOUND.matcher(address).matches(), address);
    }
  }

  @Test
  void everyInboundSendAndPublishIsRefusedAndNeverReachesTheBus() throws Exception {
    AtomicInteger delivered = new AtomicInteger();
    List<String> targets =
        List.of(
            RunEvents.RUN_METRICS, // permitted outbound: that grants nothing inbound
            LearnerVerticle.CHECKPOINT,
            SamplerVerticle.BATCHES,
            "rl.secret");
    for (String address : targets) {
      vertx.eventBus().consumer(address, m -> delivered.incrementAndGet());
    }
    try (BridgeClient client = BridgeClient.connect(vertx, port, "")) {
      client.register(RunEvents.RUN_METRICS);
      JsonObject injected = new JsonObject().put("step", 999).put("injected", true);
      for (String address : targets) {
        client.send(
            new JsonObject().put("type", "publish").put("address", address).put("body", injected));
        client.send(
            new JsonObject()
                .put("type", "send")
                .put("address", address)
                .put("body", injected)
                .put("replyAddress", "f8f4a5a0-0000-4000-8000-000000000000"));
      }
      for (int i = 0; i < 2 * targets.size(); i++) {
        JsonObject error = client.await(f -> "err".equals(f.getString("type")));
        assertEquals("rejected", error.getString("body"), error.encode());
      }
      // A barrier: a message published here after the attempts arrives after anything they
      // could have caused.
      vertx.eventBus().publish(RunEvents.RUN_METRICS, new JsonObject().put("step", 1));
      client.await(f -> "rec".equals(f.getString("type")));
      Thread.sleep(300);
      for (JsonObject frame : client.seen()) {
        assertFalse(frame.encode().contains("injected"), "came back: " + frame);
      }
    }
    // The barrier itself reached the rl.run.metrics consumer; nothing from the client did.
    assertEquals(1, delivered.get(), "only the server's own message was delivered on the bus");
  }

  @Test
  void onlyTheRunsAddressesReachAClient() throws Exception {
    try (BridgeClient client = BridgeClient.connect(vertx, port, "")) {
      for (String address : FORBIDDEN) {
        client.register(address);
        JsonObject error = client.await(f -> "err".equals(f.getString("type")));
        assertTrue(
            Set.of("rejected", "access_denied").contains(error.getString("body")), error.encode());
      }
      for (String address : PERMITTED) {
        client.register(address);
      }
      // Let the registrations land, then publish everywhere: forbidden first, permitted last.
      Thread.sleep(300);
      for (String address : FORBIDDEN) {
        vertx.eventBus().publish(address, new JsonObject().put("leak", address));
      }
      for (String address : PERMITTED) {
        vertx.eventBus().publish(address, new JsonObject().put("marker", address));
      }
      for (String address : PERMITTED) {
        JsonObject frame =
            client.await(
                f ->
                    "rec".equals(f.getString("type"))
                        && f.getJsonObject("body").getString("marker", "").equals(address));
        assertEquals(address, frame.getString("address"));
      }
      Thread.sleep(300);
      for (JsonObject frame : client.seen()) {
        if ("rec".equals(frame.getString("type"))) {
          assertTrue(PERMITTED.contains(frame.getString("address")), "leaked: " + frame);
        }
        assertFalse(frame.encode().contains("\"leak\""), "leaked: " + frame);
      }
    }
  }

  @Test
  void aRecordedStepReachesAClientWithTheRunStatus() throws Exception {
    try (BridgeClient client = BridgeClient.connect(vertx, port, "")) {
      for (String address : PERMITTED) {
        client.register(address);
      }
      Thread.sleep(300);
      JsonObject line = new JsonObject().put("step", 4).put("loss", 0.1).put("reward_mean", 0.5);
      JsonArray groups = new JsonArray().add(new JsonObject(DashboardFixtures.group(7)));
      RunEvents.publisher(vertx).accept(line, groups);
      JsonObject metrics = client.await(f -> RunEvents.RUN_METRICS.equals(f.getString("address")));
      assertEquals(line, metrics.getJsonObject("body"));
      JsonObject samples = client.await(f -> RunEvents.RUN_SAMPLES.equals(f.getString("address")));
      assertEquals(4, samples.getJsonObject("body").getInteger("step"));
      assertEquals(groups, samples.getJsonObject("body").getJsonArray("groups"));
      JsonObject status =
          client.await(
              f ->
                  RunEvents.RUN_STATUS.equals(f.getString("address"))
                      && f.getJsonObject("body").getInteger("step") == 4);
      assertEquals("running", status.getJsonObject("body").getString("state"));
      assertEquals(10, status.getJsonObject("body").getInteger("steps"));
    }
  }
}
