package rl.cli;

import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import rl.core.config.ConfigLoader;
import rl.dashboard.DashboardConfig;
import rl.dashboard.DashboardVerticle;
import rl.run.TrainConfig;

/** {@code rl dashboard}: the monitoring dashboard of a finished or stopped run, from its files. */
@Command(
    name = "dashboard",
    description =
        "Serve the monitoring dashboard of a run from its files (rl train serves it live).",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true,
    footer = {
      "",
      "Reads RUN_DIR/metrics.jsonl, samples.jsonl and config.yaml; runs until Ctrl-C.",
      "Host, port and token default to the run's dashboard section (127.0.0.1:8321, no token)."
    })
final class DashboardCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "RUN_DIR", description = "The run directory, e.g. runs/NAME.")
  Path runDir;

  @Option(names = "--port", paramLabel = "N", description = "Port to listen on (0: any free).")
  Integer port;

  @Option(
      names = "--host",
      paramLabel = "ADDRESS",
      description = "Address to bind; any but loopback needs --token.")
  String host;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description = "Access token every request must carry (at least 16 characters).")
  String token;

  @Override
  public Integer call() throws Exception {
    Path configFile = runDir.resolve("config.yaml");
    if (!Files.isRegularFile(configFile)) {
      throw new Main.InputException(runDir + " is not a run directory (no config.yaml)");
    }
    TrainConfig run = ConfigLoader.load(configFile, TrainConfig.DEFAULTS, List.of());
    DashboardConfig saved = run.dashboard();
    DashboardConfig config;
    try {
      config =
          new DashboardConfig(
              port != null ? port : saved.port(),
              host != null ? host : saved.host(),
              token != null ? token : saved.token());
    } catch (IllegalArgumentException e) {
      throw new Main.InputException("dashboard: " + e.getMessage());
    }
    Vertx vertx = Vertx.vertx();
    DashboardVerticle dashboard = DashboardVerticle.ofFiles(config, runDir, run.training().steps());
    try {
      vertx
          .deployVerticle(dashboard)
          .toCompletionStage()
          .toCompletableFuture()
          .get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      vertx.close();
      throw new Main.InputException(
          "dashboard not started: " + DashboardVerticle.describe(e.getCause(), config));
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  vertx.close().toCompletionStage().toCompletableFuture().join();
                  stopped.countDown();
                }));
    spec.commandLine()
        .getOut()
        .println("rl: dashboard of " + runDir + " at " + dashboard.url() + " (Ctrl-C stops)");
    spec.commandLine().getOut().flush();
    stopped.await();
    return 0;
  }
}
