package rl.run;

import java.util.Objects;
import rl.core.config.LoraConfig;
import rl.core.config.ModelConfig;
import rl.core.config.ObjectiveConfig;
import rl.core.config.OptimizerConfig;
import rl.core.config.SamplingConfig;
import rl.core.config.TrainingConfig;
import rl.dashboard.DashboardConfig;
import rl.rewards.config.RewardsConfig;

/**
 * A training run as written in its YAML file: the model-side sections of DESIGN.md plus the task,
 * the rewards, evaluation, where runs are written and the monitoring dashboard. Every default lives
 * in the section records.
 *
 * @param name the run's directory under {@code runs_dir}; empty derives it from the file name
 * @param runsDir where run directories are created
 */
public record TrainConfig(
    String name,
    long seed,
    String runsDir,
    ModelConfig model,
    LoraConfig lora,
    SamplingConfig sampling,
    ObjectiveConfig objective,
    OptimizerConfig optimizer,
    TrainingConfig training,
    TaskConfig task,
    RewardsConfig rewards,
    EvalConfig eval,
    DashboardConfig dashboard) {

  public static final TrainConfig DEFAULTS =
      new TrainConfig(
          "",
          0,
          "runs",
          ModelConfig.DEFAULTS,
          LoraConfig.DEFAULTS,
          SamplingConfig.DEFAULTS,
          ObjectiveConfig.DEFAULTS,
          OptimizerConfig.DEFAULTS,
          TrainingConfig.DEFAULTS,
          TaskConfig.DEFAULTS,
          RewardsConfig.DEFAULTS,
          EvalConfig.DEFAULTS,
          DashboardConfig.DEFAULTS);

  public TrainConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(runsDir, "runs_dir");
  }
}
