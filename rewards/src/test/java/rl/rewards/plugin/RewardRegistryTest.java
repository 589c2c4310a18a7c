package rl.rewards.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.rewards.Inputs.input;
import static rl.rewards.Inputs.score;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.rewards.RewardConfigException;
import rl.rewards.RewardFunction;

class RewardRegistryTest {
  @TempDir Path work;

  private static final List<String> BUILT_INS =
      List.of("countdown", "exact", "length", "math", "regex");

  @Test
  void theBuiltInsAreOnTheClassPath() {
    try (RewardRegistry registry = RewardRegistry.classPath()) {
      assertEquals(BUILT_INS, registry.names());
      assertEquals(RewardRegistry.CLASS_PATH, registry.origin("math"));
      assertEquals(List.of(), registry.problems());
      registry.descriptions().values().forEach(d -> assertTrue(!d.isBlank()));
    }
  }

  @Test
  void anUnknownNameListsTheAvailableOnes() {
    try (RewardRegistry registry = RewardRegistry.classPath()) {
      RewardConfigException e =
          assertThrows(RewardConfigException.class, () -> registry.create("maths", Map.of()));
      assertEquals(
          "unknown reward function 'maths'; available: countdown, exact, length, math, regex",
          e.getMessage());
    }
  }

  @Test
  void aMissingPluginDirectoryIsAnError() {
    Path missing = work.resolve("nope");
    RewardConfigException e =
        assertThrows(RewardConfigException.class, () -> RewardRegistry.load(missing));
    assertEquals(
        "plug-in directory " + missing.toAbsolutePath() + " does not exist", e.getMessage());
  }

  @Test
  void eachPluginJarIsFoundAndLoadedInItsOwnClassLoader() throws Exception {
    Path plugins = Files.createDirectories(work.resolve("plugins"));
    PluginJars.build(
        work,
        plugins.resolve("one.jar"),
        PluginJars.constantFactory("p.one", "one", 1),
        PluginJars.services("p.one.ConstFactory"));
    PluginJars.build(
        work,
        plugins.resolve("two.jar"),
        PluginJars.constantFactory("p.two", "two", 2),
        PluginJars.services("p.two.ConstFactory"));
    Files.writeString(plugins.resolve("README.txt"), "not a plug-in");
    try (RewardRegistry registry = RewardRegistry.load(plugins)) {
      assertEquals(
          List.of("countdown", "exact", "length", "math", "one", "regex", "two"), registry.names());
      assertEquals(List.of(), registry.problems());
      assertEquals(plugins.resolve("one.jar").toString(), registry.origin("one"));
      RewardFunction one = registry.create("one", Map.of());
      RewardFunction two = registry.create("two", Map.of());
      assertEquals(1.0, score(one, input("x", "")).score());
      assertEquals(2.0, score(two, input("x", "")).score());
      ClassLoader oneLoader = registry.factory("one").getClass().getClassLoader();
      ClassLoader twoLoader = registry.factory("two").getClass().getClassLoader();
      assertNotSame(oneLoader, twoLoader);
      assertEquals(RewardFunction.class.getClassLoader(), oneLoader.getParent());
      // A plug-in's parameters are checked by the plug-in's factory.
      RewardConfigException e =
          assertThrows(RewardConfigException.class, () -> registry.create("one", Map.of("x", 1)));
      assertEquals("reward 'one': unknown parameter 'x'. It takes no parameters.", e.getMessage());
    }
  }

  @Test
  void pluginsDoNotSeeEachOthersClasses() throws Exception {
    // Both plug-ins ship a class p.Helper with different answers; each must get its own.
    Path plugins = Files.createDirectories(work.resolve("plugins"));
    for (int version : new int[] {1, 2}) {
      Map<String, String> sources = new HashMap<>();
      sources.put(
          "p/Helper.java",
          "package p; public final class Helper { public static double value() { return "
              + version
              + "; } }");
      sources.put(
          "p/v" + version + "/Factory.java",
          """
          package p.v%1$d;

          import java.util.Map;
          import rl.rewards.*;

          public final class Factory implements RewardFunctionFactory {
            public String name() { return "helper%1$d"; }

            public RewardFunction create(Map<String, Object> params) {
              return new SyncRewardFunction(name()) {
                protected RewardResult scoreSync(RewardInput input) {
                  return RewardResult.of(p.Helper.value());
                }
              };
            }
          }
          """
              .formatted(version));
      PluginJars.build(
          work,
          plugins.resolve("helper" + version + ".jar"),
          sources,
          PluginJars.services("p.v" + version + ".Factory"));
    }
    try (RewardRegistry registry = RewardRegistry.load(plugins)) {
      assertEquals(1.0, score(registry.create("helper1", Map.of()), input("x", "")).score());
      assertEquals(2.0, score(registry.create("helper2", Map.of()), input("x", "")).score());
    }
  }

  @Test
  void aSubdirectoryIsOnePluginMadeOfAllItsJars() throws Exception {
    Path library = work.resolve("lib.jar");
    PluginJars.build(
        work,
        library,
        Map.of(
            "lib/Scores.java",
            "package lib; public final class Scores { public static double best() { return 7; } }"),
        Map.of());
    Path plugin = Files.createDirectories(work.resolve("plugins/withlib"));
    Files.copy(library, plugin.resolve("lib.jar"));
    PluginJars.build(
        work,
        plugin.resolve("main.jar"),
        Map.of(
            "q/Factory.java",
            """
            package q;

            import java.util.Map;
            import rl.rewards.*;

            public final class Factory implements RewardFunctionFactory {
              public String name() { return "withlib"; }

              public RewardFunction create(Map<String, Object> params) {
                return new SyncRewardFunction(name()) {
                  protected RewardResult scoreSync(RewardInput input) {
                    return RewardResult.of(lib.Scores.best());
                  }
                };
              }
            }
            """),
        PluginJars.services("q.Factory"),
        library);
    try (RewardRegistry registry = RewardRegistry.load(work.resolve("plugins"))) {
      assertEquals(7.0, score(registry.create("withlib", Map.of()), input("x", "")).score());
    }
  }

  @Test
  void aBrokenPluginIsReportedAndTheOthersStillLoad() throws Exception {
    Path plugins = Files.createDirectories(work.resolve("plugins"));
    PluginJars.build(
        work,
        plugins.resolve("good.jar"),
        PluginJars.constantFactory("p.good", "good", 1),
        PluginJars.services("p.good.ConstFactory"));
    PluginJars.build(
        work, plugins.resolve("broken.jar"), Map.of(), PluginJars.services("p.missing.Factory"));
    PluginJars.build(
        work,
        plugins.resolve("empty.jar"),
        PluginJars.constantFactory("p.empty", "empty", 1),
        Map.of());
    try (RewardRegistry registry = RewardRegistry.load(plugins)) {
      assertEquals(1.0, score(registry.create("good", Map.of()), input("x", "")).score());
      List<String> problems = registry.problems();
      assertEquals(2, problems.size(), problems.toString());
      assertTrue(problems.get(0).startsWith(plugins.resolve("broken.jar") + ": "), problems.get(0));
      assertTrue(problems.get(0).contains("p.missing.Factory"), problems.get(0));
      assertEquals(
          plugins.resolve("empty.jar")
              + ": registers no reward function (expected META-INF/services/rl.rewards.RewardFunctionFactory)",
          problems.get(1));
      RewardConfigException e =
          assertThrows(RewardConfigException.class, () -> registry.create("missing", Map.of()));
      assertTrue(
          e.getMessage().contains("Plug-ins that failed to load: " + plugins.resolve("broken.jar")),
          e.getMessage());
    }
  }

  @Test
  void aNameFromTwoSourcesIsAnErrorWhenUsed() throws Exception {
    Path plugins = Files.createDirectories(work.resolve("plugins"));
    PluginJars.build(
        work,
        plugins.resolve("a.jar"),
        PluginJars.constantFactory("p.a", "math", 1),
        PluginJars.services("p.a.ConstFactory"));
    try (RewardRegistry registry = RewardRegistry.load(plugins)) {
      RewardConfigException e =
          assertThrows(RewardConfigException.class, () -> registry.create("math", Map.of()));
      assertEquals(
          "reward function 'math' is provided by more than one source: class path, "
              + plugins.resolve("a.jar")
              + "; remove all but one",
          e.getMessage());
      assertEquals(0.0, score(registry.create("exact", Map.of()), input("x", "y")).score());
    }
  }

  @Test
  void aFactoryThatCrashesIsAConfigErrorNamingIt() throws Exception {
    Path plugins = Files.createDirectories(work.resolve("plugins"));
    PluginJars.build(
        work,
        plugins.resolve("crash.jar"),
        Map.of(
            "c/Factory.java",
            """
            package c;

            import java.util.Map;
            import rl.rewards.*;

            public final class Factory implements RewardFunctionFactory {
              public String name() { return "crash"; }

              public RewardFunction create(Map<String, Object> params) {
                throw new IllegalStateException("no licence key");
              }
            }
            """),
        PluginJars.services("c.Factory"));
    try (RewardRegistry registry = RewardRegistry.load(plugins)) {
      RewardConfigException e =
          assertThrows(RewardConfigException.class, () -> registry.create("crash", Map.of()));
      assertEquals(
          "reward 'crash' ("
              + plugins.resolve("crash.jar")
              + ") failed to start: java.lang.IllegalStateException: no licence key",
          e.getMessage());
    }
  }
}
