package rl.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.dashboard.DashboardFixtures.SECRET;
import static rl.dashboard.DashboardFixtures.await;
import static rl.dashboard.DashboardFixtures.deploy;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dashboard's HTTP side on a run's files: the API, the assets, and what it refuses. */
class DashboardHttpTest {
  @TempDir static Path root;
  static Vertx vertx;
  static Path run;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    run = DashboardFixtures.run(root);
    vertx = Vertx.vertx();
    port =
        deploy(vertx, DashboardVerticle.ofFiles(new DashboardConfig(0, "127.0.0.1", ""), run, 10))
            .port();
  }

  @AfterAll
  static void stop() throws Exception {
    await(vertx.close());
  }

  @Test
  void historyIsTheRunsMetricsAsAJsonArray() throws Exception {
    RawHttp.Response response = RawHttp.get(port, "/api/history");
    assertEquals(200, response.status(), response.body());
    assertEquals("application/json", response.header("Content-Type"));
    JsonArray history = new JsonArray(response.body());
    // The baseline eval and three steps; the line still being written is left out.
    assertEquals(4, history.size(), history.encode());
    for (int i = 0; i < 4; i++) {
      assertEquals(i, history.getJsonObject(i).getInteger("step"));
    }
    assertEquals(0.25, history.getJsonObject(0).getDouble("eval_pass_at_1"));
    assertEquals(0.5, history.getJsonObject(1).getDouble("loss"));
  }

  @Test
  void historyTakesNoPathAndNoRequestReadsOutsideTheRun() throws Exception {
    for (String target :
        List.of(
            "/api/history?run=../..",
            "/api/history?run=..%2F..%2Fsecret.txt",
            "/api/history?run=%2e%2e%2f%2e%2e%2fsecret.txt",
            "/api/history?file=/etc/passwd",
            "/api/history?path=../secret.txt",
            "/api/samples?limit=5&file=../secret.txt",
            "/api/config?run=..")) {
      RawHttp.Response response = RawHttp.get(port, target);
      assertEquals(400, response.status(), target + ": " + response.body());
      assertTrue(response.body().contains("unknown parameter"), target + ": " + response.body());
      assertFalse(response.body().contains(SECRET), target);
    }
    for (String target :
        List.of(
            "/api/history/../../secret.txt",
            "/api/history/..%2F..%2Fsecret.txt",
            "/api/history%2F..%2F..%2Fsecret.txt",
            "/api/%2e%2e/%2e%2e/secret.txt",
            "/../secret.txt",
            "/..%2Fsecret.txt",
            "/%2e%2e/%2e%2e/secret.txt",
            "/%2e%2e%2f%2e%2e%2fsecret.txt",
            "/..%5c..%5csecret.txt",
            "/vendor/..%2F..%2F..%2Fsecret.txt",
            "/vendor/../../../../../../etc/passwd",
            "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "//etc/passwd",
            "/metrics.jsonl",
            "/config.yaml",
            "/runs/secret.txt",
            "/secret.txt",
            "/META-INF/resources/webjars/chart.js/4.5.1/package.json",
            "/rl/dashboard/index.html")) {
      RawHttp.Response response = RawHttp.get(port, target);
      assertNotEquals(200, response.status(), target + " must not be served");
      assertFalse(response.body().contains(SECRET), target);
      assertFalse(response.body().contains("root:x:"), target);
    }
  }

  @Test
  void aRunFileThatLinksOutOfTheRunIsRefused(@TempDir Path other) throws Exception {
    Path linked = other.resolve("linked");
    Files.createDirectories(linked);
    Files.createSymbolicLink(linked.resolve("metrics.jsonl"), root.resolve("secret.txt"));
    Files.writeString(linked.resolve("config.yaml"), "name: linked\n");
    int linkedPort =
        deploy(vertx, DashboardVerticle.ofFiles(new DashboardConfig(0, "127.0.0.1", ""), linked, 3))
            .port();
    RawHttp.Response response = RawHttp.get(linkedPort, "/api/history");
    assertEquals(403, response.status(), response.body());
    assertFalse(response.body().contains(SECRET));
  }

  @Test
  void samplesAreTheLastGroupsOldestFirstAndLimitIsChecked() throws Exception {
    JsonArray all = new JsonArray(RawHttp.get(port, "/api/samples").body());
    assertEquals(5, all.size());
    JsonArray last2 = new JsonArray(RawHttp.get(port, "/api/samples?limit=2").body());
    assertEquals(
        List.of("what is 4 + 1?", "what is 5 + 1?"),
        List.of(
            last2.getJsonObject(0).getString("prompt"),
            last2.getJsonObject(1).getString("prompt")));
    for (String bad : List.of("0", "-1", "abc", "501", "1e3", "")) {
      RawHttp.Response response = RawHttp.get(port, "/api/samples?limit=" + bad);
      assertEquals(400, response.status(), bad);
      assertTrue(response.body().contains("limit must be"), response.body());
    }
  }

  @Test
  void samplesTailReadsOnlyCompleteLines(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("s.jsonl");
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 5000; i++) {
      text.append("{\"i\":")
          .append(i)
          .append(",\"pad\":\"")
          .append("x".repeat(i % 97))
          .append("\"}\n");
    }
    text.append("{\"i\":5000,"); // being written
    Files.writeString(file, text);
    List<String> tail = RunFiles.tailLines(file, 3);
    assertEquals(3, tail.size());
    assertEquals(4997, new JsonObject(tail.get(0)).getInteger("i"));
    assertEquals(4999, new JsonObject(tail.get(2)).getInteger("i"));
    assertEquals(5000, RunFiles.tailLines(file, 100_000).size());
    Files.writeString(file, "{\"only\":1}");
    assertEquals(List.of(), RunFiles.tailLines(file, 3));
  }

  @Test
  void configIsTheRunsResolvedConfigWithItsTokenHidden() throws Exception {
    RawHttp.Response response = RawHttp.get(port, "/api/config");
    assertEquals(200, response.status());
    JsonObject config = new JsonObject(response.body());
    assertEquals("tiny", config.getString("name"));
    assertEquals(10, config.getJsonObject("training").getInteger("steps"));
    assertEquals("***", config.getJsonObject("dashboard").getString("token"));
    assertFalse(response.body().contains(DashboardFixtures.TOKEN));
  }

  @Test
  void statusOfARunServedFromItsFiles() throws Exception {
    JsonObject status = new JsonObject(RawHttp.get(port, "/api/status").body());
    assertEquals(false, status.getBoolean("live"));
    assertEquals("stopped", status.getString("state"));
    assertEquals(3, status.getInteger("step"));
    assertEquals(10, status.getInteger("steps"));
    assertEquals("tiny", status.getString("run"));
  }

  @Test
  void pageAndLibrariesComeFromTheClassPath() throws Exception {
    RawHttp.Response page = RawHttp.get(port, "/");
    assertEquals(200, page.status());
    assertTrue(page.header("Content-Type").startsWith("text/html"));
    assertTrue(page.body().contains("dashboard.js"));
    assertTrue(page.header("Content-Security-Policy").contains("default-src 'self'"));
    RawHttp.Response chart = RawHttp.get(port, "/vendor/chart.umd.min.js");
    assertEquals(200, chart.status());
    assertTrue(chart.body().contains("Chart.js v4"), "the webjar's UMD build");
    RawHttp.Response sockjs = RawHttp.get(port, "/vendor/sockjs.min.js");
    assertTrue(sockjs.body().contains("sockjs-client"));
    for (String asset :
        List.of("/dashboard.js", "/dashboard.css", "/eventbus-client.js", "/favicon.svg")) {
      assertEquals(200, RawHttp.get(port, asset).status(), asset);
    }
    assertEquals(404, RawHttp.get(port, "/nope.js").status());
  }

  @Test
  void aRunServedFromFilesHasNoBridge() throws Exception {
    assertEquals(404, RawHttp.get(port, "/eventbus/info").status());
  }

  @Test
  void otherSitesAndOtherHostNamesAreRefused() throws Exception {
    RawHttp.Response crossSite = RawHttp.get(port, "/api/history", "Origin: http://evil.example");
    assertEquals(403, crossSite.status());
    assertTrue(crossSite.body().contains("cross-origin"));
    // DNS rebinding: a name of the attacker's that resolves to 127.0.0.1.
    RawHttp.Response rebound = RawHttp.get(port, "/api/history", "Host: evil.example:" + port);
    assertEquals(403, rebound.status());
    // Same origin, and an SSH tunnel's other port, are fine.
    assertEquals(
        200, RawHttp.get(port, "/api/history", "Origin: http://127.0.0.1:" + port).status());
    assertEquals(200, RawHttp.get(port, "/api/history", "Host: localhost:9999").status());
    assertEquals(200, RawHttp.get(port, "/api/history", "Host: [::1]:9999").status());
  }
}
