package rl.rewards.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.rewards.Inputs.input;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import rl.rewards.RewardConfigException;
import rl.rewards.pipeline.CallPolicy;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.pipeline.ScoredCompletion;

class RewardsConfigTest {
  @Test
  void keysLeftOutTakeTheirDefaults() throws Exception {
    RewardsConfig config = Configs.rewards("functions:\n  - name: math\n");
    assertEquals(RewardsConfig.DEFAULTS, config);
    RewardSpec math = config.functions().getFirst();
    assertEquals("math", math.label());
    assertEquals(1.0, math.weight());
    assertEquals(Map.of(), math.params());
    assertEquals(new CallPolicy(Duration.ofSeconds(30), 8, 0), math.policy());
    assertEquals(RewardsConfig.DEFAULTS, Configs.rewards("{}"));
  }

  @Test
  void everyKeyIsRead() throws Exception {
    RewardsConfig config =
        Configs.rewards(
            """
            plugins: plugins/
            cache_entries: 0
            functions:
              - name: regex
                label: format
                weight: 0.2
                params: {pattern: 'a+', match: find}
                timeout_seconds: 1.5
                max_concurrency: 2
                fallback: -1
            """);
    RewardSpec spec = config.functions().getFirst();
    assertEquals("format", spec.label());
    assertEquals(0.2, spec.weight());
    assertEquals(Map.of("pattern", "a+", "match", "find"), spec.params());
    assertEquals(new CallPolicy(Duration.ofMillis(1500), 2, -1), spec.policy());
    assertEquals(java.nio.file.Path.of("plugins/"), config.pluginDirectory().orElseThrow());
    assertEquals(0, config.cacheEntries());
  }

  @Test
  void itWritesBackTheSameKeysItReads() throws Exception {
    JsonNode written = Configs.JSON.valueToTree(RewardsConfig.DEFAULTS);
    assertEquals(
        List.of(
            "name", "label", "weight", "params", "timeout_seconds", "max_concurrency", "fallback"),
        iterable(written.get("functions").get(0).fieldNames()));
    assertEquals(RewardsConfig.DEFAULTS, Configs.JSON.treeToValue(written, RewardsConfig.class));
  }

  private static List<String> iterable(java.util.Iterator<String> names) {
    List<String> list = new java.util.ArrayList<>();
    names.forEachRemaining(list::add);
    return list;
  }

  @Test
  void unknownKeysAndBadValuesAreErrors() {
    JsonMappingException unknown =
        assertThrows(
            JsonMappingException.class,
            () -> Configs.rewards("functions:\n  - name: math\n    timeout: 5\n"));
    assertTrue(unknown.getMessage().contains("\"timeout\""), unknown.getMessage());
    assertMessage(
        "timeout_seconds must be in (0, 86400], found 0.0",
        "functions:\n  - name: math\n    timeout_seconds: 0\n");
    assertMessage(
        "max_concurrency must be in [1, 10000], found 0",
        "functions:\n  - name: math\n    max_concurrency: 0\n");
    assertMessage("name is required: the reward function to use", "functions:\n  - weight: 2\n");
    assertMessage(
        "functions[0] and functions[1] are both labelled 'regex'; give each a distinct label",
        "functions:\n  - name: regex\n  - name: regex\n");
    assertMessage("functions must list at least one reward function", "functions: []\n");
    assertMessage(
        "label must be letters, digits, '_', '-' or '.', found \"a b\"",
        "functions:\n  - {name: math, label: a b}\n");
  }

  private static void assertMessage(String expected, String yaml) {
    JsonMappingException e = assertThrows(JsonMappingException.class, () -> Configs.rewards(yaml));
    Throwable cause = e.getCause();
    assertEquals(expected, cause == null ? e.getOriginalMessage() : cause.getMessage());
  }

  @Test
  void aConfiguredPipelineSumsWeightedScores() throws Exception {
    RewardsConfig config =
        Configs.rewards(
            """
            functions:
              - name: math
              - name: regex
                label: format
                weight: 0.5
                params: {pattern: '<think>.+</think>.*'}
              - name: length
                weight: 2
                params: {budget: 1, unit: chars, penalty: 0.01}
            """);
    try (RewardPipeline pipeline = RewardPipeline.create(config)) {
      ScoredCompletion scored = pipeline.score(input("<think>7*6</think> \\boxed{42}", "42")).get();
      int over = "<think>7*6</think> \\boxed{42}".length() - 1;
      assertEquals(1.0 + 0.5 * 1.0 + 2 * -0.01 * over, scored.score(), 1e-12);
      assertEquals(List.of("math", "format", "length"), pipeline.labels());
      assertEquals(1.0, scored.components().get("format"));
      assertEquals((double) over, scored.components().get("length/over_budget"));
    }
  }

  @Test
  void aBadFunctionInTheConfigStopsBeforeAnythingRuns() throws Exception {
    RewardsConfig config = Configs.rewards("functions:\n  - name: math\n  - name: regex\n");
    RewardConfigException e =
        assertThrows(RewardConfigException.class, () -> RewardPipeline.create(config));
    assertEquals("reward 'regex': parameter 'pattern' is required (a string)", e.getMessage());
  }
}
