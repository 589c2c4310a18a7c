package rl.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code rl test}: the whole test suite, through the project's Maven Wrapper, on the JDK that runs
 * this command. Extra arguments go to Maven, e.g. {@code rl test -pl core -Dtest=ConfigLoaderTest}.
 */
@Command(
    name = "test",
    description = "Run the whole test suite (extra arguments are passed to Maven).",
    mixinStandardHelpOptions = true)
final class TestCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Unmatched List<String> mavenArguments = new ArrayList<>();

  @Override
  public Integer call() throws IOException, InterruptedException {
    Path root = sourceCheckout();
    List<String> command = new ArrayList<>();
    command.add(root.resolve("mvnw").toString());
    command.add("--batch-mode");
    command.add("--no-transfer-progress");
    command.add("verify");
    command.addAll(mavenArguments);
    ProcessBuilder builder = new ProcessBuilder(command).directory(root.toFile()).inheritIO();
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    return builder.start().waitFor();
  }

  /** The checkout the launcher runs from; the tests need the sources, not only the jars. */
  private Path sourceCheckout() {
    String home = System.getProperty("rl.home");
    if (home == null || !Files.isRegularFile(Path.of(home, "mvnw"))) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(),
          "rl test runs from a source checkout through the ./rl launcher; rl.home is "
              + (home == null ? "not set" : "'" + home + "', which has no mvnw"));
    }
    return Path.of(home);
  }
}
