package rl.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.cli.Main;
import rl.core.config.ConfigLoader;
import rl.run.TrainConfig;

/** {@code rl dashboard}'s refusals, and a live dashboard whose port is taken. */
class DashboardCommandTest {
  @Test
  void refusesWhatIsNotARunAndBadBindings(@TempDir Path dir) throws Exception {
    assertEquals(2, Main.run("dashboard", dir.resolve("nope").toString()));
    assertEquals(2, Main.run("dashboard", dir.toString()), "no config.yaml");
    Path run = Files.createDirectories(dir.resolve("runs/done"));
    TrainConfig config =
        ConfigLoader.read("model: {path: m}\n", "run.yaml", TrainConfig.DEFAULTS, List.of());
    Files.writeString(run.resolve("config.yaml"), ConfigLoader.toYaml(config));
    assertEquals(2, Main.run("dashboard", run.toString(), "--host", "0.0.0.0"), "no token");
    assertEquals(2, Main.run("dashboard", run.toString(), "--port", "70000"));
    assertEquals(2, Main.run("dashboard", run.toString(), "--token", "short"));
  }

  @Test
  void aLiveDashboardWhosePortIsTakenLetsTheRunGoOn(@TempDir Path root) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpServer squatter =
          DashboardFixtures.await(
              vertx
                  .createHttpServer()
                  .requestHandler(r -> r.response().end())
                  .listen(0, "127.0.0.1"));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      DashboardVerticle.startLive(
          vertx,
          new DashboardConfig(squatter.actualPort(), "127.0.0.1", ""),
          DashboardFixtures.run(root),
          10,
          0,
          new PrintStream(out, true, StandardCharsets.UTF_8));
      String console = out.toString(StandardCharsets.UTF_8);
      assertTrue(console.contains("rl: dashboard not started"), console);
      assertTrue(console.contains("127.0.0.1:" + squatter.actualPort()), console);
      assertTrue(console.contains("the run goes on"), console);
    } finally {
      DashboardFixtures.await(vertx.close());
    }
  }
}
