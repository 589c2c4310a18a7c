package rl.learner;

import rl.core.config.OptimizerConfig;

/** The learning rate at a step: linear warm-up from 0, then constant, linear or cosine decay. */
final class LearningRate {
  private LearningRate() {}

  /**
   * @param step 0-based step
   * @param totalSteps the run's steps; decay reaches 0 at the last
   */
  static double at(OptimizerConfig config, int step, int totalSteps) {
    int warmup = config.warmupSteps();
    if (step < warmup) {
      return config.lr() * (step + 1) / warmup;
    }
    double span = Math.max(1, totalSteps - warmup);
    double progress = Math.min(1, (step - warmup) / span);
    return switch (config.schedule()) {
      case CONSTANT -> config.lr();
      case LINEAR -> config.lr() * (1 - progress);
      case COSINE -> config.lr() * 0.5 * (1 + Math.cos(Math.PI * progress));
    };
  }
}
