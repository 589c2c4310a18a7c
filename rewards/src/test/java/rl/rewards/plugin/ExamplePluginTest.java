package rl.rewards.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.rewards.Inputs.input;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.rewards.RewardConfigException;
import rl.rewards.config.Configs;
import rl.rewards.config.RewardsConfig;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.pipeline.ScoredCompletion;

/**
 * The example plug-in under {@code examples/reward-plugin}, built from its sources the way its
 * Maven project builds it (compiled against the rewards API, services file included), dropped in a
 * plug-in directory and used from a config, end to end.
 */
class ExamplePluginTest {
  @TempDir static Path work;
  private static Path plugins;

  static Path exampleProject() {
    Path repo = Path.of(System.getProperty("rl.repo", "..")).toAbsolutePath().normalize();
    Path project = repo.resolve("examples/reward-plugin");
    assertTrue(Files.isDirectory(project), "no example plug-in at " + project);
    return project;
  }

  @BeforeAll
  static void buildThePlugin() throws Exception {
    Path project = exampleProject();
    plugins = Files.createDirectories(work.resolve("plugins"));
    PluginJars.compileAndJar(
        work,
        plugins.resolve("keyword-reward-1.0.0.jar"),
        project.resolve("src/main/java"),
        project.resolve("src/main/resources"));
  }

  private static RewardsConfig config(String functions) throws Exception {
    return Configs.rewards("plugins: " + plugins + "\nfunctions:\n" + functions);
  }

  @Test
  void theExamplePluginScoresFromAConfig() throws Exception {
    RewardsConfig config =
        config(
            """
              - name: keyword
                weight: 0.5
                params: {keywords: [carry, remainder]}
              - name: math
            """);
    try (RewardPipeline pipeline = RewardPipeline.create(config)) {
      ScoredCompletion full =
          pipeline.score(input("Carry the one, no remainder: \\boxed{12}", "12")).get();
      assertEquals(1.0, full.outcome("keyword").score());
      assertEquals(2.0, full.components().get("keyword/found"));
      assertEquals(0.5 * 1.0 + 1.0, full.score());

      ScoredCompletion half = pipeline.score(input("carry... \\boxed{13}", "12")).get();
      assertEquals(0.5, half.outcome("keyword").score());
      assertEquals("remainder", half.outcome("keyword").result().info().get("missing"));
      assertEquals(0.25, half.score());
      assertNull(half.outcome("keyword").error());
    }
  }

  @Test
  void theExamplePluginChecksItsParameters() throws Exception {
    RewardConfigException missing =
        assertThrows(
            RewardConfigException.class,
            () -> RewardPipeline.create(config("  - name: keyword\n")));
    assertEquals(
        "reward 'keyword': parameter 'keywords' is required (a non-empty list of strings)",
        missing.getMessage());
    RewardConfigException typo =
        assertThrows(
            RewardConfigException.class,
            () ->
                RewardPipeline.create(
                    config(
                        "  - name: keyword\n    params: {keywords: [a], case_sensitiv: true}\n")));
    assertEquals(
        "reward 'keyword': unknown parameter 'case_sensitiv'; did you mean 'case_sensitive'?"
            + " Valid parameters: case_sensitive, keywords",
        typo.getMessage());
  }
}
