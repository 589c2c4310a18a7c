package rl.rewards.plugin;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import rl.rewards.RewardFunctionFactory;

/** Builds plug-in jars at test time: compiles sources against the rewards API and jars them. */
public final class PluginJars {
  private PluginJars() {}

  /** Where the rewards API classes are, to compile plug-ins against. */
  public static Path apiClasses() {
    try {
      return Path.of(
          RewardFunctionFactory.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Compiles {@code sources} (path relative to the source root -> Java text) into {@code jar}, with
   * {@code resources} (path -> text) added as they are.
   */
  public static Path build(
      Path work,
      Path jar,
      Map<String, String> sources,
      Map<String, String> resources,
      Path... classPath)
      throws IOException {
    Path sourceRoot = Files.createTempDirectory(work, "src");
    for (Map.Entry<String, String> source : sources.entrySet()) {
      Path file = sourceRoot.resolve(source.getKey());
      Files.createDirectories(file.getParent());
      Files.writeString(file, source.getValue());
    }
    Path resourceRoot = Files.createTempDirectory(work, "res");
    for (Map.Entry<String, String> resource : resources.entrySet()) {
      Path file = resourceRoot.resolve(resource.getKey());
      Files.createDirectories(file.getParent());
      Files.writeString(file, resource.getValue());
    }
    return compileAndJar(work, jar, sourceRoot, resourceRoot, classPath);
  }

  /**
   * Compiles every .java file under {@code sourceRoot} and jars the classes with {@code
   * resourceRoot}.
   */
  public static Path compileAndJar(
      Path work, Path jar, Path sourceRoot, Path resourceRoot, Path... classPath)
      throws IOException {
    Path classes = Files.createTempDirectory(work, "classes");
    List<String> arguments = new ArrayList<>();
    StringBuilder path = new StringBuilder(apiClasses().toString());
    for (Path entry : classPath) {
      path.append(File.pathSeparator).append(entry);
    }
    arguments.addAll(
        List.of("-classpath", path.toString(), "-d", classes.toString(), "-proc:none"));
    try (Stream<Path> files = Files.walk(sourceRoot)) {
      files.filter(f -> f.toString().endsWith(".java")).forEach(f -> arguments.add(f.toString()));
    }
    JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
    boolean anySource = arguments.stream().anyMatch(a -> a.endsWith(".java"));
    int status =
        anySource ? compiler.run(null, null, diagnostics, arguments.toArray(String[]::new)) : 0;
    if (status != 0) {
      throw new IllegalStateException(
          "plug-in sources do not compile:\n" + diagnostics.toString(StandardCharsets.UTF_8));
    }
    Files.createDirectories(jar.getParent());
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      addTree(out, classes);
      if (resourceRoot != null && Files.isDirectory(resourceRoot)) {
        addTree(out, resourceRoot);
      }
    }
    return jar;
  }

  private static void addTree(JarOutputStream out, Path root) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root)) {
      files = walk.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path file : files) {
      out.putNextEntry(new JarEntry(root.relativize(file).toString().replace('\\', '/')));
      out.write(Files.readAllBytes(file));
      out.closeEntry();
    }
  }

  /** The services file that registers {@code factoryClasses}. */
  public static Map<String, String> services(String... factoryClasses) {
    return Map.of(
        "META-INF/services/" + RewardFunctionFactory.class.getName(),
        String.join("\n", factoryClasses) + "\n");
  }

  /**
   * Source of a factory {@code pkg.ConstFactory} named {@code name} whose function scores {@code
   * score}.
   */
  public static Map<String, String> constantFactory(String pkg, String name, double score) {
    return Map.of(
        pkg.replace('.', '/') + "/ConstFactory.java",
        """
        package %s;

        import java.util.Map;
        import rl.rewards.*;

        public final class ConstFactory implements RewardFunctionFactory {
          public String name() { return "%s"; }

          public RewardFunction create(Map<String, Object> params) {
            Params.of(name(), params).rejectUnknown();
            return new SyncRewardFunction(name()) {
              protected RewardResult scoreSync(RewardInput input) {
                return RewardResult.of(%s);
              }
            };
          }
        }
        """
            .formatted(pkg, name, Double.toString(score)));
  }
}
