package rl.core.tensor;

import java.util.ServiceLoader;
import java.util.function.Consumer;
import rl.core.config.ModelConfig.Backend;

/**
 * Chooses the tensor backend for {@code model.backend}: {@code nd4j} is the CPU; {@code cuda} is
 * the GPU backend when its module is on the class path and a GPU is present, an error otherwise;
 * {@code auto} takes CUDA when it can run and ND4J otherwise. The choice and its reason go to
 * {@code log}. The system property {@code rl.backend} overrides {@code auto} (benchmarks and device
 * checks).
 */
public final class Backends {
  private Backends() {}

  public static Ops create(Backend backend, Consumer<String> log) {
    Backend wanted = backend;
    String property = System.getProperty("rl.backend", "");
    if (backend == Backend.AUTO && !property.isEmpty()) {
      wanted = parse(property);
    }
    if (wanted == Backend.ND4J) {
      log.accept("backend: nd4j (CPU, as configured)");
      return new Nd4jOps();
    }
    OpsProvider cuda = provider("cuda");
    String why =
        cuda == null
            ? "the CUDA backend (module rl-cuda) is not on the class path"
            : cuda.unavailable().orElse(null);
    if (why == null) {
      log.accept(
          "backend: cuda on "
              + cuda.device()
              + (wanted == Backend.AUTO ? " (auto: a GPU is present)" : " (as configured)"));
      return cuda.create();
    }
    if (wanted == Backend.CUDA) {
      throw new IllegalArgumentException("model.backend: cuda was asked for, but " + why);
    }
    log.accept("backend: nd4j (CPU; auto: " + why + ")");
    return new Nd4jOps();
  }

  /** {@code auto}, {@code nd4j} or {@code cuda}, case-insensitive. */
  public static Backend parse(String name) {
    return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "auto" -> Backend.AUTO;
      case "nd4j" -> Backend.ND4J;
      case "cuda" -> Backend.CUDA;
      default ->
          throw new IllegalArgumentException(
              "backend '" + name + "' is unknown, expected auto, nd4j or cuda");
    };
  }

  private static OpsProvider provider(String name) {
    for (OpsProvider p : ServiceLoader.load(OpsProvider.class)) {
      if (p.name().equals(name)) {
        return p;
      }
    }
    return null;
  }
}
