package rl.cuda;

import java.util.Optional;
import rl.core.tensor.Ops;
import rl.core.tensor.OpsProvider;

/** Registers {@link CudaOps} as backend {@code cuda} for {@link rl.core.tensor.Backends}. */
public final class CudaOpsProvider implements OpsProvider {
  private Cuda cuda;
  private String reason;

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public synchronized Optional<String> unavailable() {
    if (cuda == null && reason == null) {
      StringBuilder why = new StringBuilder();
      try {
        cuda = Cuda.open(why).orElse(null);
      } catch (RuntimeException | LinkageError e) {
        why.append("CUDA failed to start: ").append(e);
      }
      if (cuda == null) {
        reason = why.toString();
      }
    }
    return Optional.ofNullable(reason);
  }

  @Override
  public synchronized Ops create() {
    unavailable()
        .ifPresent(
            why -> {
              throw new IllegalStateException(why);
            });
    return new CudaOps(cuda);
  }

  @Override
  public String device() {
    return cuda == null
        ? "no device"
        : cuda
            + ", "
            + CudaOps.configuredPrecision()
            + " weights and KV caches, "
            + CudaOps.configuredMath()
            + " float32 products";
  }
}
