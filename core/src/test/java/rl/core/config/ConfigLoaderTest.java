package rl.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  private static final String MINIMAL = "model:\n  path: /models/tiny\n";

  private static RunConfig read(String yaml, String... overrides) {
    return ConfigLoader.read(yaml, "run.yaml", RunConfig.DEFAULTS, List.of(overrides));
  }

  private static String error(String yaml, String... overrides) {
    return assertThrows(ConfigException.class, () -> read(yaml, overrides)).getMessage();
  }

  @Test
  void fillsEveryDefaultAroundWhatTheFileSets() {
    RunConfig config = read(MINIMAL + "optimizer:\n  lr: 3.0e-4\ntraining:\n  group_size: 4\n");
    assertEquals("/models/tiny", config.model().path());
    assertEquals(3e-4, config.optimizer().lr());
    assertEquals(4, config.training().groupSize());
    assertEquals(OptimizerConfig.DEFAULTS.beta2(), config.optimizer().beta2());
    assertEquals(TrainingConfig.DEFAULTS.groupsPerStep(), config.training().groupsPerStep());
    assertEquals(LoraConfig.DEFAULTS, config.lora());
  }

  @Test
  void numbersInExponentNotationWithoutADotAreNumbers() {
    assertEquals(1e-4, read(MINIMAL + "optimizer:\n  lr: 1e-4\n").optimizer().lr());
  }

  @Test
  void resolvedConfigRoundTripsThroughYaml() {
    RunConfig config =
        read(MINIMAL + "lora:\n  rank: 4\n  init: b-random\nobjective:\n  loss: ppo\n");
    String yaml = ConfigLoader.toYaml(config);
    assertTrue(yaml.contains("init: b-random"), yaml);
    assertTrue(yaml.contains("aggregation: token-mean"), yaml);
    assertEquals(config, read(yaml));
  }

  @Test
  void unknownKeyNamesLinePathSuggestionAndValidKeys() {
    String message = error(MINIMAL + "optimizer:\n  lr: 1.0e-4\n  weight_decy: 0.1\n");
    assertEquals(
        "run.yaml:5:3: unknown key 'weight_decy' in 'optimizer'; did you mean 'weight_decay'?"
            + " Valid keys here: beta1, beta2, eps, grad_clip, lora_plus_ratio, lr, schedule,"
            + " warmup_steps, weight_decay",
        message);
  }

  @Test
  void unknownTopLevelKeyWithoutANearNameListsValidKeys() {
    String message = error(MINIMAL + "completely_unrelated: 1\n");
    assertTrue(
        message.startsWith("run.yaml:3:1: unknown key 'completely_unrelated' at the top level."),
        message);
    assertTrue(message.contains("Valid keys here: lora, model, name, objective"), message);
  }

  @Test
  void wrongTypeNamesPathValueAndExpectedType() {
    assertEquals(
        "run.yaml:4:3: optimizer.lr: expected a number, found 'fast'",
        error(MINIMAL + "optimizer:\n  lr: fast\n"));
    assertEquals(
        "run.yaml:4:3: training.group_size: expected an integer, found 2.5",
        error(MINIMAL + "training:\n  group_size: 2.5\n"));
    assertEquals(
        "run.yaml:4:3: lora.rslora: expected true or false, found 'yes please'",
        error(MINIMAL + "lora:\n  rslora: yes please\n"));
    assertEquals(
        "run.yaml:4:3: objective.loss: expected one of importance_sampling, ppo, cispo,"
            + " found 'reinforce'",
        error(MINIMAL + "objective:\n  loss: reinforce\n"));
    assertEquals(
        "run.yaml:3:1: sampling: expected a mapping of keys, found 'greedy'",
        error(MINIMAL + "sampling: greedy\n"));
  }

  @Test
  void missingRequiredKeyNamesItsSection() {
    assertEquals(
        "run.yaml:1:1: missing required key 'path' in 'model'",
        error("model:\n  adapter: /adapters/a\n"));
    assertEquals("run.yaml: missing required key 'path' in 'model'", error("seed: 3\n"));
  }

  @Test
  void malformedYamlGivesLineAndColumnOnOneLine() {
    String message = error("model:\n  path: [unclosed\n  other: 1\n");
    assertTrue(message.startsWith("run.yaml:3:8: malformed YAML: expected ',' or ']'"), message);
    assertTrue(message.contains("while parsing a flow sequence at line 2, column 9"), message);
    assertEquals(1, message.lines().count(), message);
  }

  @Test
  void duplicateKeyIsAnError() {
    String message = error(MINIMAL + "seed: 1\nseed: 2\n");
    assertTrue(message.contains("run.yaml:4:") && message.contains("seed"), message);
  }

  @Test
  void outOfRangeValuePointsAtTheKey() {
    assertEquals(
        "run.yaml:4:3: training.group_size must be at least 2, found 1",
        error(MINIMAL + "training:\n  group_size: 1\n"));
    assertEquals(
        "run.yaml:4:3: lora.targets: unknown projection 'qkv_proj', expected some of q_proj,"
            + " k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj",
        error(MINIMAL + "lora:\n  targets: [q_proj, qkv_proj]\n"));
  }

  @Test
  void setOverridesFileValuesAndCreatesSections() {
    RunConfig config =
        read(
            MINIMAL + "optimizer:\n  lr: 1.0e-4\n",
            "optimizer.lr=3e-4",
            "training.group_size=16",
            "lora.targets=[q_proj, v_proj]",
            "name=smoke");
    assertEquals(3e-4, config.optimizer().lr());
    assertEquals(16, config.training().groupSize());
    assertEquals(List.of("q_proj", "v_proj"), config.lora().targets());
    assertEquals("smoke", config.name());
    assertEquals("/other", read("", "model.path=/other").model().path());
    assertEquals(
        List.of("q_proj", "v_proj"),
        read(MINIMAL, "lora.targets=[q_proj, k_proj]", "lora.targets.1=v_proj").lora().targets());
    assertEquals(
        "--set lora.targets.1=v_proj: lora.targets: a projection is listed twice: [q_proj, v_proj,"
            + " v_proj, o_proj, gate_proj, up_proj, down_proj]",
        error(MINIMAL, "lora.targets.1=v_proj"));
  }

  @Test
  void badOverridesNameTheArgument() {
    assertEquals(
        "--set optimizer.lr=slow: optimizer.lr: expected a number, found 'slow'",
        error(MINIMAL, "optimizer.lr=slow"));
    assertTrue(
        error(MINIMAL, "optimizer.lrr=1")
            .startsWith(
                "--set optimizer.lrr=1: unknown key 'lrr' in 'optimizer'; did you mean 'lr'?"));
    assertEquals(
        "--set optimizer: expected path.to.key=value, for example optimizer.lr=1e-4",
        error(MINIMAL, "optimizer"));
    assertEquals(
        "--set seed.x=1: seed is the value 0, so it has no key 'x'", error(MINIMAL, "seed.x=1"));
  }

  @Test
  void emptyFileIsAllDefaultsAndAScalarDocumentIsRejected() {
    assertEquals("run.yaml: missing required key 'path' in 'model'", error(""));
    assertEquals(
        "run.yaml: expected a mapping of keys at the top level, found the value \"hello\"",
        error("hello\n"));
  }

  @Test
  void loadNamesAMissingFile(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("nope.yaml");
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> ConfigLoader.load(missing, RunConfig.DEFAULTS, List.of()));
    assertEquals(missing + ": config file not found", e.getMessage());
    Path file = Files.writeString(dir.resolve("run.yaml"), MINIMAL + "seed: 7\n");
    assertEquals(7, ConfigLoader.load(file, RunConfig.DEFAULTS, List.of()).seed());
  }

  @Test
  void suggestionsComeFromEditDistance() {
    assertEquals(0, ConfigLoader.editDistance("lr", "lr"));
    assertEquals(3, ConfigLoader.editDistance("kitten", "sitting"));
    assertEquals("group_size", ConfigLoader.closest("grop_size", List.of("group_size", "steps")));
    assertEquals(null, ConfigLoader.closest("zzzzzz", List.of("group_size", "steps")));
  }
}
