package rl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {
  /** Exit code, standard output and standard error of one {@code rl} invocation. */
  record Result(int exitCode, String out, String err) {}

  static Result rl(String... args) {
    CommandLine commandLine = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int exitCode = commandLine.execute(args);
    return new Result(exitCode, out.toString(), err.toString());
  }

  @Test
  void helpListsEverySubcommandWithADescription() {
    Result result = rl("--help");
    assertEquals(0, result.exitCode());
    assertTrue(result.out().contains("Usage: rl"), result.out());
    assertTrue(result.out().matches("(?s).*\\n\\s+config\\s+\\S.*"), result.out());
    assertTrue(result.out().matches("(?s).*\\n\\s+test\\s+\\S.*"), result.out());
  }

  @Test
  void versionNamesTheProjectAndTheJvm() {
    Result result = rl("--version");
    assertEquals(0, result.exitCode());
    assertTrue(result.out().startsWith("rl 0."), result.out());
    assertTrue(result.out().contains("Java " + Runtime.version().feature()), result.out());
  }

  @Test
  void unknownSubcommandIsAUsageError() {
    Result result = rl("trian");
    assertEquals(2, result.exitCode());
    assertTrue(result.err().contains("Unmatched argument at index 0: 'trian'"), result.err());
  }

  @Test
  void configShowPrintsTheResolvedConfigWithOverrides(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("run.yaml"), "model:\n  path: /models/tiny\n");
    Result result = rl("config", "show", file.toString(), "--set", "training.group_size=4");
    assertEquals(0, result.exitCode(), result.err());
    assertTrue(result.out().contains("path: /models/tiny\n"), result.out());
    assertTrue(result.out().contains("group_size: 4\n"), result.out());
    assertTrue(result.out().contains("loss: importance_sampling\n"), result.out());
  }

  @Test
  void configErrorsAreOneClearLineAndExitCodeTwo(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("run.yaml"), "model:\n  path: /m\n  backnd: nd4j\n");
    Result result = rl("config", "show", file.toString());
    assertEquals(2, result.exitCode());
    assertEquals(
        "rl: "
            + file
            + ":3:3: unknown key 'backnd' in 'model'; did you mean 'backend'?"
            + " Valid keys here: adapter, backend, path\n",
        result.err());
  }

  @Test
  void testCommandExplainsWhenNotRunFromACheckout() {
    String saved = System.getProperty("rl.home");
    System.setProperty("rl.home", "/nonexistent");
    try {
      Result result = rl("test");
      assertEquals(2, result.exitCode());
      assertTrue(result.err().contains("rl test runs from a source checkout"), result.err());
    } finally {
      if (saved == null) {
        System.clearProperty("rl.home");
      } else {
        System.setProperty("rl.home", saved);
      }
    }
  }
}
