package rl.run;

/**
 * Evaluation on the held-out problems.
 *
 * @param every evaluate every this many steps (and always before the first and after the last); 0
 *     only at the start and end
 * @param samples completions per problem at the sampling temperature, for mean reward and pass@k
 * @param passThreshold a completion passes when its reward is at least this
 */
public record EvalConfig(int every, int samples, double passThreshold) {
  public static final EvalConfig DEFAULTS = new EvalConfig(10, 1, 1.0);

  public EvalConfig {
    if (every < 0) {
      throw new IllegalArgumentException("every must be >= 0, found " + every);
    }
    if (samples < 0) {
      throw new IllegalArgumentException("samples must be >= 0, found " + samples);
    }
  }
}
