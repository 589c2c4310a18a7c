package rl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.cli.CliTest.Result;
import rl.core.config.ConfigLoader;
import rl.core.model.Decoder;
import rl.core.tensor.Nd4jOps;
import rl.core.tokenizer.PromptEncoder;
import rl.core.tokenizer.ToyTokenizer;
import rl.run.SftConfig;
import rl.run.TrainConfig;

/** {@code rl sft} and {@code rl eval} end to end on a tiny model, and their input errors. */
class SftCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path REPO = Path.of(System.getProperty("rl.repo", ".."));
  private static final Pattern LOSS = Pattern.compile("(?m)^step (\\d+)/\\d+  loss (\\S+)");
  private static final Pattern PASS =
      Pattern.compile("pass@1 (\\d\\.\\d+) \\((\\d+)/(\\d+) greedy");

  @TempDir static Path shared;
  private static Path model;
  private static Result sft;

  /** A tiny SFT run: one-digit additions, 25 steps, a 1-layer model of width 16. */
  static String tinyConfig(Path output) {
    return "output: "
        + output
        + "\n"
        + """
        seed: 1
        init: random
        tokenizer: toy
        model: {hidden: 16, layers: 1, heads: 2, kv_heads: 1, intermediate: 32, max_positions: 64}
        task:
          name: arithmetic
          params: {digits: 1, operators: [+], template: "{expression} ="}
          train_size: 40
          eval_size: 5
        optimizer: {lr: 1.0e-2, schedule: constant}
        training: {steps: 25, batch_size: 16, log_every: 5}
        eval: {problems: 5, max_tokens: 4, every: 10}
        """;
  }

  @BeforeAll
  static void trainTinyModel() throws Exception {
    model = shared.resolve("model");
    Path config = Files.writeString(shared.resolve("sft.yaml"), tinyConfig(model));
    sft = CliTest.rl("sft", config.toString());
  }

  @Test
  void sftWritesALoadableCheckpointWithItsTokenizerAndLowersTheLoss() throws Exception {
    assertEquals(0, sft.exitCode(), sft.err() + sft.out());
    for (String file :
        List.of(
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json",
            "sft.yaml")) {
      assertTrue(Files.isRegularFile(model.resolve(file)), file + " missing:\n" + sft.out());
    }
    Decoder decoder = Decoder.load(model, new Nd4jOps());
    assertEquals(ToyTokenizer.VOCAB_SIZE, decoder.config().vocabSize());
    assertEquals(16, decoder.config().hiddenSize());
    assertEquals(List.of(258), decoder.config().eosTokenIds()); // <|im_end|>
    try (PromptEncoder encoder = PromptEncoder.load(model)) {
      assertTrue(encoder.hasChatTemplate());
    }
    // The saved config is the resolved one and loads again.
    SftConfig saved = ConfigLoader.load(model.resolve("sft.yaml"), SftConfig.DEFAULTS, List.of());
    assertEquals(25, saved.training().steps());

    List<Double> losses = new ArrayList<>();
    Matcher m = LOSS.matcher(sft.out());
    while (m.find()) {
      losses.add(Double.parseDouble(m.group(2)));
    }
    assertTrue(losses.size() >= 3, sft.out());
    assertTrue(losses.getFirst() > 5.0, "a random model starts near ln(259): " + sft.out());
    assertTrue(losses.getLast() < 0.7 * losses.getFirst(), "the loss fell: " + sft.out());
    // Evaluated at step 10, 20 and the end.
    assertEquals(3, sft.out().split("eval step ", -1).length - 1, sft.out());
    assertTrue(sft.out().contains("eval step 25: pass@1 "), sft.out());
  }

  private static String[] evalArgs(String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "eval",
                "--model",
                model.toString(),
                "--task",
                "arithmetic",
                "--param",
                "digits=1",
                "--param",
                "operators=[+]",
                "--param",
                "template={expression} =",
                "--problems",
                "5",
                "--max-tokens",
                "4",
                "--seed",
                "1"));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  @Test
  void evalPrintsTheGreedyPassAtOneOfTheSftRunsHeldOutProblems() {
    Result result = CliTest.rl(evalArgs());
    assertEquals(0, result.exitCode(), result.err());
    Matcher m = PASS.matcher(result.out());
    assertTrue(m.find(), result.out());
    double pass = Double.parseDouble(m.group(1));
    assertTrue(pass >= 0 && pass <= 1, result.out());
    assertEquals("5", m.group(3));
    // The same held-out problems (same task settings and seed) as the SFT run's evaluation.
    Matcher fromSft = Pattern.compile("eval step 25: pass@1 (\\S+)").matcher(sft.out());
    assertTrue(fromSft.find(), sft.out());
    assertEquals(fromSft.group(1), m.group(1));
  }

  @Test
  void evalWithSamplesReportsPassAtKAndWritesPerProblemRows() throws Exception {
    Path rows = shared.resolve("eval.jsonl");
    Result result = CliTest.rl(evalArgs("--samples", "3", "--output", rows.toString()));
    assertEquals(0, result.exitCode(), result.err());
    assertTrue(PASS.matcher(result.out()).find(), result.out());
    assertTrue(result.out().contains("sampled (k=3): mean reward "), result.out());
    assertTrue(result.out().contains("pass@3 "), result.out());
    List<String> lines = Files.readAllLines(rows);
    assertEquals(5, lines.size());
    JsonNode first = JSON.readTree(lines.getFirst());
    assertTrue(first.get("id").asText().startsWith("arithmetic:"), lines.getFirst());
    assertEquals(3, first.get("samples").size());
    assertEquals(3, first.get("sample_rewards").size());
    assertTrue(first.has("greedy_reward"), lines.getFirst());
  }

  @Test
  void sftWithLoraFromACheckpointWritesTheAdapterAndTheMergedModel() throws Exception {
    Path output = shared.resolve("lora");
    String config =
        tinyConfig(output)
                .replace("init: random", "init: checkpoint")
                .replace("tokenizer: toy", "tokenizer: ''")
                .replace(
                    "model: {hidden: 16, layers: 1, heads: 2, kv_heads: 1, intermediate: 32,"
                        + " max_positions: 64}",
                    "model: {path: " + model + "}")
            + "lora: {rank: 2}\n";
    Path file = Files.writeString(shared.resolve("lora.yaml"), config);
    Result result =
        CliTest.rl(
            "sft",
            file.toString(),
            "--set",
            "training.full_finetune=false",
            "--set",
            "training.steps=3");
    assertEquals(0, result.exitCode(), result.err() + result.out());
    assertTrue(result.out().contains("LoRA weights (rank 2)"), result.out());
    assertTrue(Files.isRegularFile(output.resolve("adapter/adapter_config.json")));
    assertTrue(Files.isRegularFile(output.resolve("tokenizer.json")));
    Decoder.load(output, new Nd4jOps());
  }

  // ---- bad input: one line, exit code 2 ----

  private static void assertInputError(Result result, String... fragments) {
    assertEquals(2, result.exitCode(), result.out() + result.err());
    assertTrue(result.err().startsWith("rl: "), result.err());
    assertEquals(1, result.err().strip().lines().count(), result.err());
    for (String fragment : fragments) {
      assertTrue(result.err().contains(fragment), "'" + fragment + "' in: " + result.err());
    }
  }

  @Test
  void evalOfAMissingModelDirectoryIsAnInputError(@TempDir Path dir) {
    Path missing = dir.resolve("nope");
    assertInputError(
        CliTest.rl("eval", "--model", missing.toString(), "--task", "arithmetic"),
        "--model " + missing + ": no such directory");
  }

  @Test
  void evalOfAnUnknownTaskListsTheAvailableOnes() {
    assertInputError(
        CliTest.rl("eval", "--model", model.toString(), "--task", "arithmetik"),
        "unknown task 'arithmetik'",
        "arithmetic, countdown");
  }

  @Test
  void evalWithAnUnknownRewardListsTheAvailableOnes() {
    assertInputError(
        CliTest.rl(
            "eval", "--model", model.toString(), "--task", "arithmetic", "--reward", "maths"),
        "unknown reward function 'maths'",
        "math",
        "exact");
  }

  @Test
  void evalWithABadTaskParameterNamesIt() {
    assertInputError(
        CliTest.rl(
            "eval", "--model", model.toString(), "--task", "arithmetic", "--param", "digitz=2"),
        "digitz");
  }

  @Test
  void evalNeedsExactlyOneOfConfigAndTask() {
    assertInputError(
        CliTest.rl("eval", "--model", model.toString()), "--config RUN.yaml or --task NAME");
  }

  @Test
  void sftConfigWithoutOutputIsAMissingKey(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("sft.yaml"), "seed: 1\n");
    assertInputError(CliTest.rl("sft", file.toString()), "missing required key 'output'");
  }

  @Test
  void sftConfigWithAMisspelledKeyNamesTheValidOnes(@TempDir Path dir) throws Exception {
    Path file =
        Files.writeString(dir.resolve("sft.yaml"), "output: out\ntraining:\n  batchsize: 3\n");
    assertInputError(
        CliTest.rl("sft", file.toString()), "unknown key 'batchsize' in 'training'", "batch_size");
  }

  @Test
  void sftFromAMissingCheckpointIsAnInputError(@TempDir Path dir) throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("sft.yaml"),
            "output: out\ninit: checkpoint\nmodel: {path: " + dir.resolve("none") + "}\n");
    assertInputError(CliTest.rl("sft", file.toString()), "model.path", "no such directory");
  }

  @Test
  void sftWithAnUnknownRewardFailsBeforeTraining(@TempDir Path dir) throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("sft.yaml"),
            tinyConfig(dir.resolve("out")) + "rewards: {functions: [{name: nope}]}\n");
    Result result = CliTest.rl("sft", file.toString());
    assertInputError(result, "unknown reward function 'nope'", "math");
    assertFalse(result.out().contains("step 1/"), result.out());
    assertFalse(Files.exists(dir.resolve("out")));
  }

  // ---- the demo ----

  @Test
  void theDemoConfigsLoadAndAskTheSameProblemsInAnotherPhrasing() {
    SftConfig sftConfig =
        ConfigLoader.load(
            REPO.resolve("examples/arithmetic/sft.yaml"), SftConfig.DEFAULTS, List.of());
    assertEquals("examples/arithmetic/base", sftConfig.output());
    TrainConfig rl =
        ConfigLoader.load(
            REPO.resolve("examples/arithmetic/rl.yaml"), TrainConfig.DEFAULTS, List.of());
    assertEquals("examples/arithmetic/base", rl.model().path());
    assertEquals(1, rl.lora().rank());
    for (String key : List.of("digits", "operators")) {
      assertEquals(sftConfig.task().params().get(key), rl.task().params().get(key), key);
    }
    assertEquals("{expression} =", sftConfig.task().params().get("template"));
    assertEquals("Compute {expression} =", rl.task().params().get("template"));
    assertEquals(sftConfig.seed(), rl.seed()); // the same held-out problems
  }

  @Test
  void theCommittedBaseModelEvaluates() {
    Result result =
        CliTest.rl(
            "eval",
            "--config",
            REPO.resolve("examples/arithmetic/rl.yaml").toString(),
            "--model",
            REPO.resolve("examples/arithmetic/base").toString(),
            "--problems",
            "20");
    assertEquals(0, result.exitCode(), result.err());
    assertTrue(PASS.matcher(result.out()).find(), result.out());
  }
}
