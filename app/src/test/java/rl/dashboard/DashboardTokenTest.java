package rl.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.dashboard.DashboardFixtures.TOKEN;
import static rl.dashboard.DashboardFixtures.await;
import static rl.dashboard.DashboardFixtures.deploy;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.config.ConfigException;
import rl.core.config.ConfigLoader;
import rl.run.TrainConfig;

/**
 * A dashboard bound beyond loopback needs a token, and then every request must carry it. The server
 * listens on 0.0.0.0, but the test only ever connects to 127.0.0.1.
 */
class DashboardTokenTest {
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
                    new DashboardConfig(0, "0.0.0.0", TOKEN), DashboardFixtures.run(root), 10, 0))
            .port();
  }

  @AfterAll
  static void stop() throws Exception {
    await(vertx.close());
  }

  @Test
  void aNonLoopbackHostNeedsALongEnoughToken() {
    String missing =
        assertThrows(IllegalArgumentException.class, () -> new DashboardConfig(0, "0.0.0.0", ""))
            .getMessage();
    assertTrue(missing.contains("0.0.0.0") && missing.contains("token"), missing);
    for (String host : List.of("192.168.1.5", "example.com", "::", "10.0.0.1")) {
      assertThrows(IllegalArgumentException.class, () -> new DashboardConfig(0, host, ""), host);
    }
    String shortToken =
        assertThrows(IllegalArgumentException.class, () -> new DashboardConfig(0, "0.0.0.0", "abc"))
            .getMessage();
    assertTrue(shortToken.contains("at least 16"), shortToken);
    for (String host : List.of("127.0.0.1", "127.0.0.5", "localhost", "::1", "[::1]")) {
      assertEquals(host, new DashboardConfig(0, host, "").host());
    }
    assertFalse(new DashboardConfig(0, "0.0.0.0", TOKEN).toString().contains(TOKEN));
    // Through a run config: the error names the section's key.
    String fromConfig =
        assertThrows(
                ConfigException.class,
                () ->
                    ConfigLoader.read(
                        "model: {path: m}\ndashboard: {host: 0.0.0.0}\n",
                        "run.yaml",
                        TrainConfig.DEFAULTS,
                        List.of()))
            .getMessage();
    assertTrue(fromConfig.contains("dashboard") && fromConfig.contains("token"), fromConfig);
    TrainConfig withToken =
        ConfigLoader.read(
            "model: {path: m}\n",
            "run.yaml",
            TrainConfig.DEFAULTS,
            List.of("dashboard.host=0.0.0.0", "dashboard.token=" + TOKEN, "dashboard.port=0"));
    assertEquals("0.0.0.0", withToken.dashboard().host());
    assertEquals(DashboardConfig.DEFAULTS, TrainConfig.DEFAULTS.dashboard());
    assertEquals(8321, DashboardConfig.DEFAULTS.port());
    assertEquals("127.0.0.1", DashboardConfig.DEFAULTS.host());
  }

  @Test
  void everyRequestWithoutTheTokenIsRefused() throws Exception {
    for (String target :
        List.of(
            "/",
            "/index.html",
            "/dashboard.js",
            "/vendor/chart.umd.min.js",
            "/api/history",
            "/api/config",
            "/api/samples",
            "/api/status",
            "/eventbus/info",
            "/api/history?token=",
            "/api/history?token=wrong-token-0123456789",
            "/api/history?token=" + TOKEN.substring(1))) {
      RawHttp.Response response = RawHttp.get(port, target);
      assertEquals(401, response.status(), target);
      assertFalse(response.body().contains("eval_pass_at_1"), target);
    }
    assertEquals(401, RawHttp.get(port, "/api/history", "X-RL-Token: " + TOKEN + "x").status());
    assertEquals(
        401,
        RawHttp.get(port, "/api/history", "Cookie: rl_token_" + port + "=" + TOKEN + "x").status());
  }

  @Test
  void theTokenWorksAsHeaderQueryOrTheCookieThePageSets() throws Exception {
    assertEquals(200, RawHttp.get(port, "/api/history", "X-RL-Token: " + TOKEN).status());
    assertEquals(200, RawHttp.get(port, "/api/history", "Authorization: Bearer " + TOKEN).status());
    RawHttp.Response page = RawHttp.get(port, "/?token=" + TOKEN);
    assertEquals(200, page.status());
    String cookie = page.header("Set-Cookie");
    assertTrue(cookie.startsWith("rl_token_" + port + "=" + TOKEN), cookie);
    assertTrue(
        cookie.toLowerCase(java.util.Locale.ROOT).contains("httponly")
            && cookie.contains("SameSite=Strict"),
        cookie);
    RawHttp.Response script =
        RawHttp.get(port, "/vendor/chart.umd.min.js", "Cookie: rl_token_" + port + "=" + TOKEN);
    assertEquals(200, script.status());
    RawHttp.Response history = RawHttp.get(port, "/api/history?token=" + TOKEN);
    assertEquals(200, history.status());
    assertTrue(history.body().contains("eval_pass_at_1"));
    assertEquals(200, RawHttp.get(port, "/eventbus/info?token=" + TOKEN).status());
  }

  @Test
  void theBridgeNeedsTheTokenToo() throws Exception {
    AssertionError refused = null;
    try (BridgeClient client = BridgeClient.connect(vertx, port, "")) {
      // reaching here would be the failure
    } catch (Exception expected) {
      assertTrue(expected.toString().contains("401"), expected.toString());
      refused = new AssertionError("refused as it should be");
    }
    assertTrue(refused != null, "a WebSocket without the token was accepted");
    try (BridgeClient client = BridgeClient.connect(vertx, port, "?token=" + TOKEN)) {
      client.register(RunEvents.RUN_METRICS);
      Thread.sleep(200);
      vertx.eventBus().publish(RunEvents.RUN_METRICS, new JsonObject().put("step", 1));
      JsonObject frame = client.await(f -> "rec".equals(f.getString("type")));
      assertEquals(1, frame.getJsonObject("body").getInteger("step"));
    }
  }
}
