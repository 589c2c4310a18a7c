package rl.rewards.task;

import java.util.List;
import rl.rewards.Problem;

/** Generates synthetic problems, reproducibly. */
public interface ProblemGenerator {
  /** The task's name: {@code arithmetic}, {@code countdown}. */
  String name();

  /**
   * {@code count} distinct problems of {@code split}: the same list for the same seed and settings,
   * and never a problem of the other split.
   *
   * @throws DatasetException when the settings allow fewer distinct problems of the split than
   *     {@code count}
   */
  List<Problem> generate(Split split, int count, long seed);
}
