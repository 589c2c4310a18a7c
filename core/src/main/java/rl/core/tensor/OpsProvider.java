package rl.core.tensor;

import java.util.Optional;

/**
 * A tensor backend found at run time through {@link java.util.ServiceLoader} (the CUDA backend
 * lives in its own module and registers one). {@link Backends} picks among them.
 */
public interface OpsProvider {
  /** The name a config uses for it, e.g. {@code cuda}. */
  String name();

  /** Empty when the backend can run on this machine, else the reason it cannot. */
  Optional<String> unavailable();

  /** A new backend instance; call only when {@link #unavailable()} is empty. */
  Ops create();

  /** What it runs on, for logs: e.g. {@code NVIDIA H100 80GB HBM3 (sm_90)}. */
  String device();
}
