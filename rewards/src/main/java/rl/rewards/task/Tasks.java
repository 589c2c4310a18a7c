package rl.rewards.task;

import java.util.List;
import java.util.Map;
import rl.rewards.RewardConfigException;

/** The synthetic tasks by name. */
public final class Tasks {
  /** The task names, sorted. */
  public static final List<String> NAMES = List.of(ArithmeticTask.NAME, CountdownTask.NAME);

  private Tasks() {}

  /** The generator called {@code name}, configured with {@code params}. */
  public static ProblemGenerator generator(String name, Map<String, Object> params) {
    return switch (name) {
      case ArithmeticTask.NAME -> ArithmeticTask.fromParams(params);
      case CountdownTask.NAME -> CountdownTask.fromParams(params);
      default ->
          throw new RewardConfigException(
              "unknown task '" + name + "'; available: " + String.join(", ", NAMES));
    };
  }
}
