package rl.rewards.task;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import rl.rewards.Problem;

/** Draws problems until it has enough distinct ones of a split; shared by the generators. */
final class DistinctDraws {
  /** Draws allowed per wanted problem before concluding the space is too small. */
  private static final int DRAWS_PER_PROBLEM = 200;

  /** A drawn problem and its canonical key (what makes two problems the same). */
  record Draw(String key, Problem problem) {}

  private DistinctDraws() {}

  static List<Problem> draw(
      String task,
      String settings,
      Split split,
      int count,
      long seed,
      double evalFraction,
      Function<SplittableRandom, Draw> drawOne) {
    if (count < 0) {
      throw new DatasetException("task '" + task + "': count must be at least 0, found " + count);
    }
    // One stream per split, so the train list does not depend on how many eval problems exist.
    SplittableRandom random = new SplittableRandom(seed * 31 + split.ordinal());
    List<Problem> problems = new ArrayList<>(count);
    Set<String> seen = new HashSet<>();
    long budget = (long) count * DRAWS_PER_PROBLEM + 1000;
    for (long draws = 0; problems.size() < count; draws++) {
      if (draws == budget) {
        throw new DatasetException(
            "task '"
                + task
                + "': found only "
                + problems.size()
                + " distinct "
                + split.key()
                + " problems in "
                + budget
                + " draws, "
                + count
                + " were asked for; the settings ("
                + settings
                + ", eval_fraction "
                + evalFraction
                + ") allow too few. Ask for fewer or widen them");
      }
      Draw draw = drawOne.apply(random);
      if (Split.of(draw.key(), evalFraction) == split && seen.add(draw.key())) {
        problems.add(draw.problem());
      }
    }
    return List.copyOf(problems);
  }
}
