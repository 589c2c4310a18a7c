package rl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code ./rl} shell launcher, run with controlled environments. */
class LauncherScriptTest {
  private static final Path LAUNCHER = Path.of(System.getProperty("rl.repo", "..")).resolve("rl");

  /** A fake JDK whose {@code java -version} reports {@code version}. */
  private static Path fakeJdk(Path dir, String name, String version) throws IOException {
    Path bin = Files.createDirectories(dir.resolve(name).resolve("bin"));
    Path java = bin.resolve("java");
    Files.writeString(
        java, "#!/bin/sh\necho 'openjdk version \"" + version + "\" 2025-01-01' >&2\n");
    java.toFile().setExecutable(true);
    return dir.resolve(name);
  }

  /**
   * A PATH of just the tools the launcher uses, so a java installed on this machine cannot be found
   * by accident.
   */
  private static String toolsOnly(Path dir) throws IOException {
    Path tools = Files.createDirectories(dir.resolve("tools"));
    for (String tool : List.of("sed", "head", "dirname", "find", "touch", "mktemp", "tail", "rm")) {
      for (String place : List.of("/usr/bin/", "/bin/")) {
        Path real = Path.of(place + tool);
        if (Files.isExecutable(real) && !Files.exists(tools.resolve(tool))) {
          Files.createSymbolicLink(tools.resolve(tool), real);
        }
      }
    }
    return tools.toString();
  }

  private static Process launch(Map<String, String> env) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(List.of("/bin/sh", LAUNCHER.toString(), "--help"));
    builder.environment().clear();
    builder.environment().putAll(env);
    builder.redirectErrorStream(true);
    return builder.start();
  }

  @Test
  void withoutJdk25ExplainsInOneLineWhatItFoundAndFails(@TempDir Path dir) throws Exception {
    Path jdk17 = fakeJdk(dir, "jdk-17", "17.0.15");
    Path jdk21 = fakeJdk(dir, "jdk-21", "21.0.2");
    Process process =
        launch(
            Map.of(
                "JAVA_HOME", jdk17.toString(),
                "PATH", toolsOnly(dir),
                "RL_JDK_DIRS", jdk21 + " " + dir.resolve("missing")));
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "launcher hung");
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(1, process.exitValue(), output);
    List<String> lines = output.lines().toList();
    assertEquals(1, lines.size(), output);
    String line = lines.getFirst();
    assertTrue(line.startsWith("rl: needs a JDK 25 or newer, found "), line);
    assertTrue(line.contains("JAVA_HOME: " + jdk17 + "/bin/java (version 17)"), line);
    assertTrue(line.contains(jdk21 + "/bin/java (version 21)"), line);
  }

  @Test
  void picksTheFirstJdk25FromTheSearchDirectories(@TempDir Path dir) throws Exception {
    Path jdk17 = fakeJdk(dir, "jdk-17", "17.0.15");
    // A fake JDK 25 whose java prints its arguments, so the launcher's final exec is visible.
    Path jdk25 = fakeJdk(dir, "jdk-25", "25.0.1");
    Path java = jdk25.resolve("bin/java");
    Files.writeString(
        java,
        "#!/bin/sh\n"
            + "if [ \"$1\" = -version ]; then echo 'openjdk version \"25.0.1\"' >&2; exit 0; fi\n"
            + "echo \"ran: $*\"\n");
    Path repoCopy = dir.resolve("repo");
    Files.createDirectories(repoCopy.resolve("app/target/lib"));
    Files.copy(LAUNCHER, repoCopy.resolve("rl"));
    Files.writeString(repoCopy.resolve("app/target/lib/.built"), "");
    ProcessBuilder builder =
        new ProcessBuilder(List.of("/bin/sh", repoCopy.resolve("rl").toString(), "--help"));
    builder.environment().clear();
    builder
        .environment()
        .putAll(
            Map.of(
                "JAVA_HOME", jdk17.toString(),
                "PATH", toolsOnly(dir),
                "RL_JDK_DIRS", jdk25.toString()));
    builder.redirectErrorStream(true);
    Process process = builder.start();
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "launcher hung");
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, process.exitValue(), output);
    assertTrue(output.startsWith("ran: --enable-native-access=ALL-UNNAMED"), output);
    assertTrue(output.contains("rl.cli.Main --help"), output);
  }
}
