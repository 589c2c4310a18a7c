package rl.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import rl.core.config.ConfigLoader;
import rl.run.TrainConfig;

/** {@code rl config}: checks run configurations and shows them fully resolved. */
@Command(
    name = "config",
    description = "Check a run config and show it with every default filled in.",
    mixinStandardHelpOptions = true,
    subcommands = {ConfigCommand.Show.class})
final class ConfigCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "show",
      description = "Print the fully resolved config (defaults, file, then --set overrides).",
      mixinStandardHelpOptions = true)
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "The run config, YAML.")
    Path file;

    @Option(
        names = "--set",
        paramLabel = "KEY=VALUE",
        description = "Override a key, e.g. --set optimizer.lr=3e-4 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
      TrainConfig config = ConfigLoader.load(file, TrainConfig.DEFAULTS, overrides);
      String yaml = ConfigLoader.toYaml(config);
      spec.commandLine().getOut().print(yaml.endsWith("\n") ? yaml : yaml + "\n");
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
