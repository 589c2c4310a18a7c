package rl.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import rl.run.TrainRun;

/** {@code rl train}: an RLVR run end to end. */
@Command(
    name = "train",
    description = "Train a policy with RL on verifiable rewards (sampler, rewards, learner).",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true,
    footer = {
      "",
      "Writes runs/NAME/: config.yaml, metrics.jsonl, samples.jsonl, checkpoints/step-N/.",
      "Ctrl-C finishes the step in progress, writes a checkpoint and exits; --resume continues."
    })
final class TrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(arity = "0..1", paramLabel = "CONFIG", description = "The run config, YAML.")
  Path config;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description = "Override a config key (repeatable).")
  List<String> overrides = new ArrayList<>();

  @Option(
      names = "--resume",
      paramLabel = "RUN_DIR",
      description = "Continue the run in RUN_DIR from its last checkpoint.")
  Path resume;

  @Override
  public Integer call() throws Exception {
    if ((config == null) == (resume == null)) {
      throw new Main.InputException(
          "rl train needs a CONFIG file or --resume RUN_DIR (one of them)");
    }
    TrainRun run;
    try {
      run =
          resume != null
              ? TrainRun.resume(resume, System.out)
              : TrainRun.fresh(config, overrides, System.out);
    } catch (IllegalArgumentException e) {
      throw new Main.InputException(e.getMessage());
    }
    CountDownLatch done = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              System.err.println("rl: stopping after the current step (checkpointing)...");
              run.requestStop();
              try {
                done.await(10, TimeUnit.MINUTES);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      run.run();
    } catch (IllegalArgumentException e) {
      throw new Main.InputException(e.getMessage());
    } finally {
      done.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // Already in shutdown: the hook is running and waits for the latch above.
      }
    }
    return 0;
  }
}
