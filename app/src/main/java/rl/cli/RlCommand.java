package rl.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The top-level {@code rl} command: lists its subcommands when run alone. */
@Command(
    name = "rl",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Reinforcement learning with verifiable rewards for language models, on the JVM.",
    subcommands = {
      ConfigCommand.class,
      LogprobsCommand.class,
      GenerateCommand.class,
      RewardCommand.class,
      TrainCommand.class,
      SftCommand.class,
      EvalCommand.class,
      DashboardCommand.class,
      BenchCommand.class,
      RandomModelCommand.class,
      CurveCommand.class,
      TestCommand.class
    },
    usageHelpAutoWidth = true)
public final class RlCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
