package rl.cli;

import picocli.CommandLine;
import rl.core.config.ConfigException;

/** Entry point of the {@code rl} command line. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (0 ok, 1 failure, 2 bad input). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new RlCommand());
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.setExecutionExceptionHandler(
        (exception, cmd, parseResult) -> {
          if (exception instanceof ConfigException) {
            cmd.getErr().println("rl: " + exception.getMessage());
            return 2;
          }
          throw exception;
        });
    return commandLine;
  }
}
