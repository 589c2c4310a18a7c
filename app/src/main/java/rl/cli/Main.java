package rl.cli;

import picocli.CommandLine;
import rl.core.config.ConfigException;
import rl.core.lora.AdapterFormatException;
import rl.core.model.ModelConfigException;
import rl.core.safetensors.SafetensorsException;
import rl.core.tokenizer.TokenizerException;

/** Entry point of the {@code rl} command line. */
public final class Main {
  private Main() {}

  /**
   * Bad input a command found while it ran (an option's value, a data file, a directory): printed
   * as one line {@code rl: MESSAGE}, exit code 2. The message names the file, line or option, the
   * value found and what was expected.
   */
  static final class InputException extends RuntimeException {
    InputException(String message) {
      super(message);
    }
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (0 ok, 1 failure, 2 bad input). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /** Whether {@code exception} reports bad user input (its message says what), not a bug. */
  static boolean isInputError(Exception exception) {
    return exception instanceof InputException
        || exception instanceof ConfigException
        || exception instanceof SafetensorsException
        || exception instanceof ModelConfigException
        || exception instanceof AdapterFormatException
        || exception instanceof TokenizerException;
  }

  static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new RlCommand());
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.setExecutionExceptionHandler(
        (exception, cmd, parseResult) -> {
          if (isInputError(exception)) {
            cmd.getErr().println("rl: " + exception.getMessage());
            return 2;
          }
          throw exception;
        });
    return commandLine;
  }
}
