package rl.rewards.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import rl.rewards.Problem;
import rl.rewards.RewardConfigException;
import rl.rewards.RewardFunction;
import rl.rewards.RewardInput;
import rl.rewards.countdown.CountdownReward;
import rl.rewards.math.MathReward;

class TasksTest {
  private static Set<String> ids(List<Problem> problems) {
    Set<String> ids = new HashSet<>();
    problems.forEach(p -> ids.add(p.id()));
    return ids;
  }

  @Test
  void generationIsReproducibleAndSeedDependent() {
    ProblemGenerator arithmetic = Tasks.generator("arithmetic", Map.of());
    assertEquals(arithmetic.generate(Split.TRAIN, 50, 7), arithmetic.generate(Split.TRAIN, 50, 7));
    assertNotEquals(
        arithmetic.generate(Split.TRAIN, 50, 7), arithmetic.generate(Split.TRAIN, 50, 8));
    ProblemGenerator countdown = Tasks.generator("countdown", Map.of());
    assertEquals(countdown.generate(Split.EVAL, 20, 7), countdown.generate(Split.EVAL, 20, 7));
  }

  @Test
  void trainAndEvalNeverShareAProblem() {
    for (String task : Tasks.NAMES) {
      // A small problem space, so that a leak would show: 2-digit addition has 8100 problems.
      Map<String, Object> params =
          task.equals("arithmetic")
              ? Map.of("digits", 2, "operators", List.of("+"))
              : Map.of("numbers", 3, "max_number", 10);
      ProblemGenerator generator = Tasks.generator(task, params);
      Set<String> eval = new HashSet<>();
      Set<String> train = new HashSet<>();
      for (long seed = 0; seed < 3; seed++) {
        eval.addAll(ids(generator.generate(Split.EVAL, 100, seed)));
        train.addAll(ids(generator.generate(Split.TRAIN, 1000, seed)));
      }
      assertTrue(eval.size() >= 100 && train.size() >= 1000, task);
      Set<String> shared = new HashSet<>(eval);
      shared.retainAll(train);
      assertEquals(Set.of(), shared, task + ": problems in both splits");
    }
  }

  @Test
  void aSplitHasDistinctProblemsAndTooSmallASpaceIsAnError() {
    ProblemGenerator tiny =
        Tasks.generator(
            "arithmetic", Map.of("digits", 1, "operators", List.of("+"), "carry", "none"));
    // 1-digit additions without a carry: 55 problems in all, about 50 of them train.
    List<Problem> train = tiny.generate(Split.TRAIN, 30, 1);
    assertEquals(30, ids(train).size());
    DatasetException e =
        assertThrows(DatasetException.class, () -> tiny.generate(Split.TRAIN, 100, 1));
    assertTrue(e.getMessage().startsWith("task 'arithmetic': found only "), e.getMessage());
    assertTrue(e.getMessage().contains("100 were asked for"), e.getMessage());
  }

  @Test
  void arithmeticAnswersAreRightAndMathScoresThem() {
    RewardFunction math = new MathReward.Factory().create(Map.of());
    ProblemGenerator generator =
        Tasks.generator(
            "arithmetic", Map.of("digits", 4, "operators", List.of("+", "-", "*", "/")));
    for (Problem problem : generator.generate(Split.TRAIN, 200, 3)) {
      BigInteger a = new BigInteger((String) problem.metadata().get("a"));
      BigInteger b = new BigInteger((String) problem.metadata().get("b"));
      BigInteger expected =
          switch ((String) problem.metadata().get("operator")) {
            case "+" -> a.add(b);
            case "-" -> a.subtract(b);
            case "*" -> a.multiply(b);
            default -> {
              assertEquals(BigInteger.ZERO, a.mod(b), problem.id());
              yield a.divide(b);
            }
          };
      assertEquals(expected.toString(), problem.answer(), problem.id());
      assertTrue(expected.signum() >= 0, problem.id());
      assertTrue(problem.prompt().getFirst().content().contains("\\boxed{}"), problem.id());
      RewardInput right = RewardInput.of(problem, "\\boxed{" + expected + "}");
      assertEquals(1.0, math.score(right).toCompletableFuture().join().score(), problem.id());
    }
  }

  @Test
  void carryDifficultyIsWhatItSays() {
    for (String op : List.of("+", "-")) {
      for (String carry : List.of("none", "required")) {
        ProblemGenerator generator =
            Tasks.generator(
                "arithmetic", Map.of("digits", 6, "operators", List.of(op), "carry", carry));
        for (Problem problem : generator.generate(Split.TRAIN, 200, 11)) {
          long a = Long.parseLong((String) problem.metadata().get("a"));
          long b = Long.parseLong((String) problem.metadata().get("b"));
          assertEquals(6, Long.toString(a).length(), problem.id());
          assertEquals(6, Long.toString(b).length(), problem.id());
          assertEquals(
              carry.equals("required"), ArithmeticTask.carries(a, b, op.equals("-")), problem.id());
        }
      }
    }
    // Checked against hand-worked columns.
    assertTrue(ArithmeticTask.carries(15, 7, false));
    assertTrue(ArithmeticTask.carries(20, 1, true));
    assertTrue(!ArithmeticTask.carries(45, 23, true));
    assertTrue(!ArithmeticTask.carries(45, 54, false));
  }

  @Test
  void everyCountdownPuzzleIsSolvableUnderTheStrictestRules() {
    RewardFunction strict =
        new CountdownReward.Factory()
            .create(Map.of("use_all", true, "integer_intermediates", true));
    ProblemGenerator generator =
        Tasks.generator("countdown", Map.of("numbers", 5, "min_target", 100, "max_target", 999));
    for (Problem problem : generator.generate(Split.TRAIN, 200, 5)) {
      int target = (Integer) problem.metadata().get("target");
      assertTrue(target >= 100 && target <= 999, problem.id());
      assertEquals(5, ((List<?>) problem.metadata().get("numbers")).size());
      String solution = (String) problem.metadata().get("solution");
      RewardInput input = RewardInput.of(problem, "<answer>" + solution + "</answer>");
      assertEquals(
          1.0,
          strict.score(input).toCompletableFuture().join().score(),
          problem.id() + " " + solution);
    }
  }

  @Test
  void badTaskSettingsAreConfigErrors() {
    assertEquals(
        "unknown task 'algebra'; available: arithmetic, countdown",
        assertThrows(RewardConfigException.class, () -> Tasks.generator("algebra", Map.of()))
            .getMessage());
    assertEquals(
        "task 'arithmetic': parameter 'operators' must be a list of + - * /, found \"^\"",
        assertThrows(
                RewardConfigException.class,
                () -> Tasks.generator("arithmetic", Map.of("operators", List.of("+", "^"))))
            .getMessage());
    assertEquals(
        "task 'arithmetic': carry: none applies to + and -, which operators [*] lack",
        assertThrows(
                RewardConfigException.class,
                () ->
                    Tasks.generator(
                        "arithmetic", Map.of("operators", List.of("*"), "carry", "none")))
            .getMessage());
    assertEquals(
        "task 'countdown': targets must satisfy 1 <= min_target <= max_target, found 50 and 10",
        assertThrows(
                RewardConfigException.class,
                () -> Tasks.generator("countdown", Map.of("min_target", 50, "max_target", 10)))
            .getMessage());
    assertTrue(
        assertThrows(
                RewardConfigException.class,
                () -> Tasks.generator("countdown", Map.of("template", "Reach {target}.")))
            .getMessage()
            .contains("must contain {numbers} and {target}"));
  }
}
