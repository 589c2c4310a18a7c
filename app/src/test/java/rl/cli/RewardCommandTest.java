package rl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.cli.CliTest.Result;
import rl.rewards.RewardFunction;

/** {@code rl reward} end to end: rows in, scored rows out, errors as one line. */
class RewardCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private Path jsonl(String... lines) throws IOException {
    return Files.writeString(dir.resolve("rows.jsonl"), String.join("\n", lines) + "\n");
  }

  private static List<JsonNode> rows(String jsonl) throws IOException {
    List<JsonNode> rows = new ArrayList<>();
    for (String line : jsonl.split("\n")) {
      if (!line.isBlank()) {
        rows.add(JSON.readTree(line));
      }
    }
    return rows;
  }

  /** One line on standard error, {@code rl: MESSAGE}, exit code 2; returns MESSAGE. */
  private static String inputError(Result result) {
    assertEquals(2, result.exitCode(), result.err());
    assertEquals("", result.out());
    assertEquals(1, result.err().lines().count(), result.err());
    return result.err().strip().substring("rl: ".length());
  }

  @Test
  void mathRowsComeBackScoredWithTheirOwnFields() throws Exception {
    Path input =
        jsonl(
            "{\"id\": \"q1\", \"completion\": \"so \\\\boxed{\\\\frac{1}{2}}\", \"answer\": 0.5, \"source\": \"mine\"}",
            "", "{\"completion\": \"The answer is 1,001.\", \"answer\": \"1000\"}");
    Result result = CliTest.rl("reward", "--name", "math", "--input", input.toString());
    assertEquals(0, result.exitCode(), result.err());
    List<JsonNode> rows = rows(result.out());
    assertEquals(2, rows.size());
    JsonNode right = rows.get(0);
    assertEquals("q1", right.get("id").asText());
    assertEquals("mine", right.get("source").asText());
    assertEquals(1.0, right.get("score").asDouble());
    assertEquals("\\frac{1}{2}", right.get("info").get("extracted").asText());
    assertEquals("boxed", right.get("info").get("method").asText());
    assertTrue(right.get("error").isNull());
    assertEquals(0.0, rows.get(1).get("score").asDouble());
    assertEquals("rl: scored 2 rows with math: mean score 0.5000, 0 errors\n", result.err());
  }

  @Test
  void paramsAreTypedAndRowFieldsReachTheFunction() throws Exception {
    Path input =
        jsonl(
            "{\"completion\": \"<answer>(4 - 2) * 3</answer>\", \"numbers\": [2, 3, 4], \"target\": 6}",
            "{\"completion\": \"<answer>2 * 3</answer>\", \"numbers\": [2, 3, 4], \"target\": 6}");
    Result result =
        CliTest.rl(
            "reward",
            "--name",
            "countdown",
            "--param",
            "use_all=true",
            "--input",
            input.toString());
    assertEquals(0, result.exitCode(), result.err());
    List<JsonNode> rows = rows(result.out());
    assertEquals(1.0, rows.get(0).get("score").asDouble());
    assertEquals(0.0, rows.get(1).get("score").asDouble());
    assertTrue(rows.get(1).get("info").get("reason").asText().contains("leaves [4] unused"));

    // A regex is taken as written, even where YAML would read it differently.
    Path text = jsonl("{\"completion\": \"#### 42\"}", "{\"completion\": \"42\"}");
    Result regex =
        CliTest.rl(
            "reward",
            "--name",
            "regex",
            "--param",
            "pattern=#### [0-9]+",
            "--input",
            text.toString());
    assertEquals(0, regex.exitCode(), regex.err());
    List<JsonNode> scored = rows(regex.out());
    assertEquals(1.0, scored.get(0).get("score").asDouble());
    assertEquals(0.0, scored.get(1).get("score").asDouble());
  }

  @Test
  void tokenIdsAndOutputFileAreHonoured() throws Exception {
    Path input =
        jsonl(
            "{\"completion\": \"abc\", \"completion_tokens\": [1, 2, 3, 4, 5], \"finish_reason\": \"length\"}");
    Path output = dir.resolve("out/scored.jsonl");
    Result result =
        CliTest.rl(
            "reward",
            "--name",
            "length",
            "--param",
            "budget=3",
            "--param",
            "penalty=0.25",
            "--input",
            input.toString(),
            "--output",
            output.toString());
    assertEquals(0, result.exitCode(), result.err());
    assertEquals("", result.out());
    JsonNode row = rows(Files.readString(output)).getFirst();
    assertEquals(-0.5, row.get("score").asDouble());
    assertEquals(5.0, row.get("components").get("length").asDouble());
  }

  @Test
  void aFailingRowIsRecordedAndTheOthersStillScored() throws Exception {
    Path input =
        jsonl(
            "{\"completion\": \"\\\\boxed{3}\", \"answer\": \"3\"}",
            "{\"completion\": \"\\\\boxed{3}\"}", "{\"completion\": \"four\"}");
    Result result = CliTest.rl("reward", "--name", "math", "--input", input.toString());
    assertEquals(0, result.exitCode(), result.err());
    List<JsonNode> rows = rows(result.out());
    assertEquals(1.0, rows.get(0).get("score").asDouble());
    JsonNode error = rows.get(1).get("error");
    assertEquals("exception", error.get("kind").asText());
    assertTrue(error.get("message").asText().contains("has no reference answer"), error.toString());
    assertEquals(0.0, rows.get(1).get("score").asDouble());
    assertEquals("exception", rows.get(2).get("error").get("kind").asText());
    assertEquals(
        "rl: scored 3 rows with math: mean score 0.3333, 2 errors (2 exception)\n", result.err());
  }

  @Test
  void listShowsEveryBuiltIn() {
    Result result = CliTest.rl("reward", "--list");
    assertEquals(0, result.exitCode(), result.err());
    for (String name : List.of("countdown", "exact", "length", "math", "regex")) {
      assertTrue(result.out().matches("(?s)(.*\\n)?" + name + "\\s+\\S.*"), result.out());
    }
  }

  @Test
  void badInputIsOneClearLine() throws Exception {
    Path input =
        jsonl("{\"completion\": \"x\", \"answer\": \"1\"}", "{\"completion\": 5}", "{not json");
    assertEquals(
        "unknown reward function 'maths'; available: countdown, exact, length, math, regex",
        inputError(CliTest.rl("reward", "--name", "maths", "--input", input.toString())));
    assertEquals(
        "reward 'math': unknown parameter 'tolerence'; did you mean 'tolerance'?"
            + " Valid parameters: last_number, percent, tolerance",
        inputError(
            CliTest.rl(
                "reward",
                "--name",
                "math",
                "--param",
                "tolerence=0.1",
                "--input",
                input.toString())));
    assertEquals(
        "--param tolerance: expected KEY=VALUE",
        inputError(
            CliTest.rl(
                "reward", "--name", "math", "--param", "tolerance", "--input", input.toString())));
    assertEquals(
        input + ":2: a row needs \"completion\" (a string); found \"completion\": 5",
        inputError(CliTest.rl("reward", "--name", "math", "--input", input.toString())));
    Path malformed = jsonl("{\"completion\": \"x\"}", "{not json");
    assertTrue(
        inputError(CliTest.rl("reward", "--name", "math", "--input", malformed.toString()))
            .startsWith(malformed + ":2: malformed JSON: "));
    Path missing = dir.resolve("none.jsonl");
    assertEquals(
        "--input " + missing + ": no such file",
        inputError(CliTest.rl("reward", "--name", "math", "--input", missing.toString())));
    assertEquals(
        "--plugins: plug-in directory " + dir.resolve("plugins") + " does not exist",
        inputError(CliTest.rl("reward", "--list", "--plugins", dir.resolve("plugins").toString())));
    assertEquals(
        "--name is required (or --list to see the functions)",
        inputError(CliTest.rl("reward", "--input", input.toString())));
  }

  /** The example plug-in project, compiled and jarred here, used through {@code --plugins}. */
  @Test
  void theExamplePluginScoresThroughTheCommandLine() throws Exception {
    Path project =
        Path.of(System.getProperty("rl.repo", ".."))
            .resolve("examples/reward-plugin")
            .toAbsolutePath();
    Path plugins = Files.createDirectories(dir.resolve("plugins"));
    buildPlugin(project, plugins.resolve("keyword-reward.jar"));
    Path input =
        jsonl(
            "{\"completion\": \"Carry the one.\"}",
            "{\"completion\": \"Carry, then the remainder.\"}");
    Result result =
        CliTest.rl(
            "reward",
            "--plugins",
            plugins.toString(),
            "--name",
            "keyword",
            "--param",
            "keywords=[carry, remainder]",
            "--input",
            input.toString());
    assertEquals(0, result.exitCode(), result.err());
    List<JsonNode> rows = rows(result.out());
    assertEquals(0.5, rows.get(0).get("score").asDouble());
    assertEquals("remainder", rows.get(0).get("info").get("missing").asText());
    assertEquals(1.0, rows.get(1).get("score").asDouble());
    Result list = CliTest.rl("reward", "--plugins", plugins.toString(), "--list");
    assertTrue(
        list.out().matches("(?s).*\\nkeyword +share of the configured keywords.*"), list.out());
    assertTrue(list.out().contains("[" + plugins.resolve("keyword-reward.jar") + "]"), list.out());
  }

  private void buildPlugin(Path project, Path jar) throws Exception {
    Path classes = Files.createDirectories(dir.resolve("classes"));
    List<String> args = new ArrayList<>();
    String api =
        Path.of(RewardFunction.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            .toString();
    args.addAll(List.of("-classpath", api, "-d", classes.toString(), "-proc:none"));
    try (Stream<Path> files = Files.walk(project.resolve("src/main/java"))) {
      files.filter(f -> f.toString().endsWith(".java")).forEach(f -> args.add(f.toString()));
    }
    ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
    int status =
        ToolProvider.getSystemJavaCompiler()
            .run(null, null, diagnostics, args.toArray(String[]::new));
    assertEquals(0, status, diagnostics.toString(StandardCharsets.UTF_8));
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      for (Path root : List.of(classes, project.resolve("src/main/resources"))) {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
          files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path file : files) {
          out.putNextEntry(new JarEntry(root.relativize(file).toString()));
          out.write(Files.readAllBytes(file));
          out.closeEntry();
        }
      }
    }
  }
}
