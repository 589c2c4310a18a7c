package rl.rewards.task;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import rl.rewards.Message;
import rl.rewards.Params;
import rl.rewards.Problem;
import rl.rewards.RewardConfigException;
import rl.rewards.task.DistinctDraws.Draw;

/**
 * Synthetic countdown puzzles, scored by the {@code countdown} reward: reach a target from a few
 * numbers with {@code + - * /}.
 *
 * <p>Every puzzle is solvable by construction: the target is the value of a random expression that
 * uses each number exactly once with positive-integer intermediate results, so it is solvable under
 * the strictest rules ({@code use_all}, {@code integer_intermediates}). The expression is kept in
 * the metadata as {@code solution}.
 *
 * <p>Parameters: {@code numbers} (how many, 2 to 8; default 4), {@code max_number} (numbers are
 * drawn from 1 to this; default 100), {@code min_target} and {@code max_target} (default 10 and
 * 1000), {@code eval_fraction} (default 0.1), {@code template} (the user message, with {@code
 * {numbers}} and {@code {target}}).
 */
public final class CountdownTask implements ProblemGenerator {
  public static final String NAME = "countdown";
  public static final String DEFAULT_TEMPLATE =
      "Using the numbers {numbers}, write an arithmetic expression equal to {target}. You may"
          + " use + - * / and parentheses, and each number at most once. Reason first, then give"
          + " only the expression inside <answer></answer>, for example <answer>(6 - 2) * 5</answer>.";

  /** Attempts at an expression whose value lands in the target range, per puzzle. */
  private static final int TRIES = 1000;

  /** The generator's settings; see the class notes. */
  public record Settings(
      int numbers,
      int maxNumber,
      int minTarget,
      int maxTarget,
      double evalFraction,
      String template) {
    public Settings {
      if (numbers < 2 || numbers > 8) {
        throw new IllegalArgumentException("numbers must be in [2, 8], found " + numbers);
      }
      if (maxNumber < 1 || maxNumber > 1_000_000) {
        throw new IllegalArgumentException(
            "max_number must be in [1, 1000000], found " + maxNumber);
      }
      if (minTarget < 1 || maxTarget < minTarget) {
        throw new IllegalArgumentException(
            "targets must satisfy 1 <= min_target <= max_target, found "
                + minTarget
                + " and "
                + maxTarget);
      }
      if (!(evalFraction >= 0 && evalFraction <= 1)) {
        throw new IllegalArgumentException(
            "eval_fraction must be in [0, 1], found " + evalFraction);
      }
      List<String> names = Template.of(template).names();
      if (!names.contains("numbers")
          || !names.contains("target")
          || !List.of("numbers", "target").containsAll(names)) {
        throw new IllegalArgumentException(
            "template must contain {numbers} and {target} and no other placeholder, found \""
                + template
                + "\"");
      }
    }
  }

  private final Settings settings;

  public CountdownTask(Settings settings) {
    this.settings = settings;
  }

  /** A generator from config parameters, checked like a reward's. */
  public static CountdownTask fromParams(Map<String, Object> params) {
    Params p = Params.about("task '" + NAME + "'", params);
    int numbers = p.integer("numbers", 4, 2, 8);
    int maxNumber = p.integer("max_number", 100, 1, 1_000_000);
    int minTarget = p.integer("min_target", 10, 1, Integer.MAX_VALUE);
    int maxTarget = p.integer("max_target", 1000, 1, Integer.MAX_VALUE);
    double evalFraction = p.number("eval_fraction", 0.1, 0);
    String template = p.string("template", DEFAULT_TEMPLATE);
    p.rejectUnknown();
    try {
      return new CountdownTask(
          new Settings(numbers, maxNumber, minTarget, maxTarget, evalFraction, template));
    } catch (IllegalArgumentException e) {
      throw new RewardConfigException("task '" + NAME + "': " + e.getMessage(), e);
    }
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public List<Problem> generate(Split split, int count, long seed) {
    return DistinctDraws.draw(
        NAME,
        settings.numbers()
            + " numbers up to "
            + settings.maxNumber()
            + ", targets "
            + settings.minTarget()
            + "-"
            + settings.maxTarget(),
        split,
        count,
        seed,
        settings.evalFraction(),
        this::drawOne);
  }

  /** A sub-expression under construction: its exact integer value and its text. */
  private record Part(long value, String text, boolean compound) {
    String operand() {
      return compound ? "(" + text + ")" : text;
    }
  }

  private Draw drawOne(SplittableRandom random) {
    for (int attempt = 0; attempt < TRIES; attempt++) {
      long[] numbers = new long[settings.numbers()];
      for (int i = 0; i < numbers.length; i++) {
        numbers[i] = random.nextLong(1, settings.maxNumber() + 1L);
      }
      Part solution = combine(numbers, random);
      if (solution != null
          && solution.value() >= settings.minTarget()
          && solution.value() <= settings.maxTarget()) {
        return puzzle(numbers, solution);
      }
    }
    throw new DatasetException(
        "task '"
            + NAME
            + "': no expression of "
            + settings.numbers()
            + " numbers up to "
            + settings.maxNumber()
            + " reached a target in ["
            + settings.minTarget()
            + ", "
            + settings.maxTarget()
            + "] in "
            + TRIES
            + " tries; widen the target range");
  }

  /**
   * Combines all numbers into one expression: repeatedly two random parts with a random operator
   * whose result is a positive integer. Null if it gets stuck (every operator invalid) or
   * overflows.
   */
  private static Part combine(long[] numbers, SplittableRandom random) {
    List<Part> parts = new ArrayList<>();
    for (long n : numbers) {
      parts.add(new Part(n, Long.toString(n), false));
    }
    while (parts.size() > 1) {
      Part a = parts.remove(random.nextInt(parts.size()));
      Part b = parts.remove(random.nextInt(parts.size()));
      Part combined = null;
      int first = random.nextInt(4);
      for (int k = 0; k < 4 && combined == null; k++) {
        combined = apply("+-*/".charAt((first + k) % 4), a, b);
      }
      if (combined == null) {
        return null;
      }
      parts.add(combined);
    }
    return parts.getFirst();
  }

  /** {@code a op b} (or {@code b op a} where that keeps it positive), or null if not allowed. */
  private static Part apply(char op, Part a, Part b) {
    try {
      return switch (op) {
        case '+' -> join(Math.addExact(a.value(), b.value()), a, " + ", b);
        case '*' -> join(Math.multiplyExact(a.value(), b.value()), a, " * ", b);
        case '-' -> {
          if (a.value() == b.value()) {
            yield null; // zero intermediates make the rest of the expression pointless
          }
          Part big = a.value() > b.value() ? a : b;
          Part small = big == a ? b : a;
          yield join(big.value() - small.value(), big, " - ", small);
        }
        default -> {
          Part big = a.value() >= b.value() ? a : b;
          Part small = big == a ? b : a;
          if (small.value() <= 1 || big.value() % small.value() != 0) {
            yield null; // dividing by 1 is a wasted number; inexact division is not allowed
          }
          yield join(big.value() / small.value(), big, " / ", small);
        }
      };
    } catch (ArithmeticException overflow) {
      return null;
    }
  }

  private static Part join(long value, Part left, String op, Part right) {
    return new Part(value, left.operand() + op + right.operand(), true);
  }

  private Draw puzzle(long[] numbers, Part solution) {
    long[] sorted = numbers.clone();
    Arrays.sort(sorted);
    String key = NAME + ":" + Arrays.toString(sorted).replace(" ", "") + "=" + solution.value();
    List<Integer> shown = new ArrayList<>();
    for (long n : numbers) {
      shown.add((int) n);
    }
    String prompt =
        Template.of(settings.template())
            .render(Map.of("numbers", shown.toString(), "target", Long.toString(solution.value())));
    Problem problem =
        new Problem(
            key,
            List.of(Message.user(prompt)),
            Long.toString(solution.value()),
            Map.of(
                "numbers", shown, "target", (int) solution.value(), "solution", solution.text()));
    return new Draw(key, problem);
  }
}
