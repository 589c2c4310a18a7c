package rl.rewards.plugin;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import rl.rewards.RewardConfigException;
import rl.rewards.RewardFunction;
import rl.rewards.RewardFunctionFactory;

/**
 * The reward functions available to a run, by name.
 *
 * <p>Factories come from the class path (the built-ins, registered in {@code
 * META-INF/services/rl.rewards.RewardFunctionFactory}) and from a plug-in directory: each {@code
 * *.jar} directly in it is one plug-in, and each sub-directory is one plug-in made of all the jars
 * in it (for plug-ins with dependencies of their own). Every plug-in gets its own class loader.
 *
 * <p>A plug-in that cannot be loaded does not stop the others: its problem is kept in {@link
 * #problems()} (log them) and repeated in the error for a name that cannot be found. A name that
 * two sources provide is an error when it is used, naming both.
 */
public final class RewardRegistry implements AutoCloseable {
  /** Where factories without a plug-in directory come from. */
  public static final String CLASS_PATH = "class path";

  private final SortedMap<String, List<Source>> factories = new TreeMap<>();
  private final List<String> problems = new ArrayList<>();
  private final List<URLClassLoader> loaders = new ArrayList<>();

  private record Source(RewardFunctionFactory factory, String origin) {}

  private RewardRegistry() {}

  /** The functions on the class path: the built-ins and any plug-in added to it. */
  public static RewardRegistry classPath() {
    RewardRegistry registry = new RewardRegistry();
    registry.discover(RewardFunctionFactory.class.getClassLoader(), CLASS_PATH, false);
    return registry;
  }

  /**
   * The class path's functions plus the plug-ins in {@code pluginDirectory}.
   *
   * @throws RewardConfigException when the directory does not exist or cannot be listed
   */
  public static RewardRegistry load(Path pluginDirectory) {
    RewardRegistry registry = classPath();
    try {
      registry.loadPlugins(pluginDirectory);
    } catch (RuntimeException e) {
      registry.close();
      throw e;
    }
    return registry;
  }

  /** The available names, sorted. */
  public List<String> names() {
    return List.copyOf(factories.keySet());
  }

  /** Problems met while loading plug-ins, one line each; empty when all went well. */
  public List<String> problems() {
    return Collections.unmodifiableList(problems);
  }

  /** Where {@code name} comes from: {@link #CLASS_PATH} or a plug-in's path. */
  public String origin(String name) {
    return sources(name).getFirst().origin();
  }

  /** The factory registered as {@code name}. */
  public RewardFunctionFactory factory(String name) {
    return sources(name).getFirst().factory();
  }

  /** A description of each function by name, sorted: {@code name -> description (origin)}. */
  public Map<String, String> descriptions() {
    Map<String, String> descriptions = new LinkedHashMap<>();
    factories.forEach(
        (name, sources) -> {
          Source source = sources.getFirst();
          String description;
          try {
            description = source.factory().description();
          } catch (RuntimeException e) {
            description = "(description failed: " + e + ")";
          }
          descriptions.put(
              name,
              description
                  + (source.origin().equals(CLASS_PATH) ? "" : " [" + source.origin() + "]"));
        });
    return descriptions;
  }

  /**
   * Creates function {@code name} with {@code params}. The factory's own errors (bad parameters)
   * come through as they are; anything else it throws is wrapped with the function's name.
   */
  public RewardFunction create(String name, Map<String, Object> params) {
    Source source = sources(name).getFirst();
    RewardFunction function;
    try {
      function = source.factory().create(params);
    } catch (RewardConfigException e) {
      throw e;
    } catch (RuntimeException | LinkageError e) {
      throw new RewardConfigException(
          "reward '" + name + "' (" + source.origin() + ") failed to start: " + e, e);
    }
    if (function == null) {
      throw new RewardConfigException(
          "reward '" + name + "' (" + source.origin() + "): its factory returned null");
    }
    return function;
  }

  private List<Source> sources(String name) {
    List<Source> sources = factories.get(name);
    if (sources == null) {
      StringBuilder message =
          new StringBuilder("unknown reward function '").append(name).append("'");
      if (factories.isEmpty()) {
        message.append("; none are available");
      } else {
        message.append("; available: ").append(String.join(", ", factories.keySet()));
      }
      if (!problems.isEmpty()) {
        message.append(". Plug-ins that failed to load: ").append(String.join("; ", problems));
      }
      throw new RewardConfigException(message.toString());
    }
    if (sources.size() > 1) {
      throw new RewardConfigException(
          "reward function '"
              + name
              + "' is provided by more than one source: "
              + String.join(", ", sources.stream().map(Source::origin).toList())
              + "; remove all but one");
    }
    return sources;
  }

  private void loadPlugins(Path directory) {
    if (!Files.isDirectory(directory)) {
      throw new RewardConfigException(
          "plug-in directory "
              + directory.toAbsolutePath()
              + (Files.exists(directory) ? " is not a directory" : " does not exist"));
    }
    List<Path> entries;
    try (Stream<Path> list = Files.list(directory)) {
      entries = list.sorted().toList();
    } catch (IOException e) {
      throw new RewardConfigException(
          "cannot list plug-in directory " + directory + ": " + e.getMessage(), e);
    }
    for (Path entry : entries) {
      if (Files.isDirectory(entry)) {
        List<Path> jars;
        try (Stream<Path> list = Files.list(entry)) {
          jars = list.filter(RewardRegistry::isJar).sorted().toList();
        } catch (IOException e) {
          problems.add(entry + ": cannot list: " + e.getMessage());
          continue;
        }
        if (jars.isEmpty()) {
          problems.add(entry + ": a plug-in directory with no .jar files");
          continue;
        }
        loadPlugin(entry, jars);
      } else if (isJar(entry)) {
        loadPlugin(entry, List.of(entry));
      }
      // Other files (a README, a checksum) are not plug-ins, by design.
    }
  }

  private static boolean isJar(Path path) {
    return Files.isRegularFile(path) && path.getFileName().toString().endsWith(".jar");
  }

  private void loadPlugin(Path plugin, List<Path> jars) {
    URL[] urls = new URL[jars.size()];
    try {
      for (int i = 0; i < urls.length; i++) {
        urls[i] = jars.get(i).toUri().toURL();
      }
    } catch (MalformedURLException e) {
      problems.add(plugin + ": " + e.getMessage());
      return;
    }
    URLClassLoader loader =
        new URLClassLoader(
            "reward-plugin-" + plugin.getFileName(),
            urls,
            RewardFunctionFactory.class.getClassLoader());
    loaders.add(loader);
    int problemsBefore = problems.size();
    int found = discover(loader, plugin.toString(), true);
    if (found == 0 && problems.size() == problemsBefore) {
      problems.add(
          plugin
              + ": registers no reward function (expected META-INF/services/"
              + RewardFunctionFactory.class.getName()
              + ")");
    }
  }

  /**
   * Registers the factories {@code loader} provides.
   *
   * @param ownOnly skip factories {@code loader} merely sees through its parent (the built-ins)
   * @return how many were registered
   */
  private int discover(ClassLoader loader, String origin, boolean ownOnly) {
    int found = 0;
    var iterator = ServiceLoader.load(RewardFunctionFactory.class, loader).iterator();
    // After an error the iterator moves on to the next provider; the bound guards against one
    // that keeps failing in place.
    for (int attempt = 0; attempt < 10_000; attempt++) {
      RewardFunctionFactory factory;
      try {
        if (!iterator.hasNext()) {
          break;
        }
        factory = iterator.next();
      } catch (ServiceConfigurationError | LinkageError e) {
        problems.add(origin + ": " + message(e));
        continue;
      }
      if (ownOnly && factory.getClass().getClassLoader() != loader) {
        continue;
      }
      try {
        String name = factory.name();
        if (name == null || name.isBlank()) {
          problems.add(origin + ": " + factory.getClass().getName() + " has no name");
          continue;
        }
        factories.computeIfAbsent(name, n -> new ArrayList<>()).add(new Source(factory, origin));
        found++;
      } catch (RuntimeException | LinkageError e) {
        problems.add(origin + ": " + factory.getClass().getName() + ".name() failed: " + e);
      }
    }
    return found;
  }

  private static String message(Throwable e) {
    String text = e.getMessage() == null ? e.toString() : e.getMessage();
    return e.getCause() == null ? text : text + " (" + e.getCause() + ")";
  }

  /** Closes the plug-ins' class loaders; close the functions created from them first. */
  @Override
  public void close() {
    for (URLClassLoader loader : loaders) {
      try {
        loader.close();
      } catch (IOException e) {
        problems.add("closing " + loader.getName() + ": " + e.getMessage());
      }
    }
    loaders.clear();
  }
}
