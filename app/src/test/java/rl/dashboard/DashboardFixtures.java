package rl.dashboard;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A run directory written by hand, and helpers to start dashboards on it. */
final class DashboardFixtures {
  static final String SECRET = "TOP-SECRET-NOT-PART-OF-ANY-RUN";
  static final String TOKEN = "s3cret-token-0123456789";

  private DashboardFixtures() {}

  /**
   * {@code root/runs/tiny}: three steps of ten, a baseline eval, five groups; secrets beside it.
   */
  static Path run(Path root) throws IOException {
    Path run = root.resolve("runs").resolve("tiny");
    Files.createDirectories(run);
    StringBuilder metrics = new StringBuilder();
    metrics
        .append(new JsonObject().put("step", 0).put("eval_pass_at_1", 0.25).encode())
        .append('\n');
    for (int step = 1; step <= 3; step++) {
      metrics
          .append(
              new JsonObject()
                  .put("step", step)
                  .put("loss", 0.5 / step)
                  .put("reward_mean", 0.1 * step)
                  .put("reward_std", 0.05)
                  .put("reward_errors", 0)
                  .encode())
          .append('\n');
    }
    metrics.append("{\"step\": 4, \"lo"); // a line still being written
    Files.writeString(run.resolve("metrics.jsonl"), metrics);
    StringBuilder samples = new StringBuilder();
    for (int g = 1; g <= 5; g++) {
      samples.append(group(g)).append('\n');
    }
    Files.writeString(run.resolve("samples.jsonl"), samples);
    Files.writeString(
        run.resolve("config.yaml"),
        """
        name: tiny
        training:
          steps: 10
          group_size: 2
        dashboard:
          port: 8321
          host: 0.0.0.0
          token: %s
        """
            .formatted(TOKEN));
    Files.writeString(root.resolve("runs").resolve("secret.txt"), SECRET);
    Files.writeString(root.resolve("secret.txt"), SECRET);
    return run;
  }

  static String group(int g) {
    return new JsonObject()
        .put("step", (g + 1) / 2)
        .put("prompt", "what is " + g + " + 1?")
        .put("answer", String.valueOf(g + 1))
        .put("completions", new JsonArray().add(String.valueOf(g + 1)).add("no idea"))
        .put("rewards", new JsonArray().add(1.0).add(0.0))
        .encode();
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static DashboardVerticle deploy(Vertx vertx, DashboardVerticle dashboard) throws Exception {
    await(vertx.deployVerticle(dashboard));
    return dashboard;
  }
}
