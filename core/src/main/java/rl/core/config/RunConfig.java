package rl.core.config;

import java.util.Objects;

/**
 * One RL run, as written in its YAML file. Each section's defaults live in its own record's {@code
 * DEFAULTS}; {@link ConfigLoader} lays the file over them.
 *
 * @param name the run's directory name under {@code runs/}; empty means derived from the file
 * @param seed seeds every random choice of the run (sampling, prompt order, LoRA init)
 */
public record RunConfig(
    String name,
    long seed,
    ModelConfig model,
    LoraConfig lora,
    SamplingConfig sampling,
    ObjectiveConfig objective,
    OptimizerConfig optimizer,
    TrainingConfig training) {

  public static final RunConfig DEFAULTS =
      new RunConfig(
          "",
          0,
          ModelConfig.DEFAULTS,
          LoraConfig.DEFAULTS,
          SamplingConfig.DEFAULTS,
          ObjectiveConfig.DEFAULTS,
          OptimizerConfig.DEFAULTS,
          TrainingConfig.DEFAULTS);

  public RunConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(lora, "lora");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(objective, "objective");
    Objects.requireNonNull(optimizer, "optimizer");
    Objects.requireNonNull(training, "training");
  }
}
