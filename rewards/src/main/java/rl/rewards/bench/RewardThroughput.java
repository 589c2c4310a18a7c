package rl.rewards.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import rl.rewards.Problem;
import rl.rewards.RewardFunction;
import rl.rewards.RewardInput;
import rl.rewards.countdown.CountdownReward;
import rl.rewards.math.MathReward;
import rl.rewards.pipeline.CallPolicy;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.pipeline.ScoredCompletion;
import rl.rewards.task.ArithmeticTask;
import rl.rewards.task.CountdownTask;
import rl.rewards.task.Split;
import rl.rewards.task.Tasks;

/**
 * Scoring throughput of the {@code math} and {@code countdown} verifiers, in completions per
 * second, on 10,000 generated completions each: directly on one thread, and through a {@link
 * RewardPipeline} (own threads, time-outs, bookkeeping; cache off so every completion is scored).
 *
 * <p>Completions look like a model's: a few hundred characters of reasoning, then an answer in one
 * of the formats the verifiers accept; about half are right. Each measurement is the median of
 * several timed passes after a warm-up pass.
 *
 * <p>Run: {@code java -cp <rewards classes and their dependencies>
 * rl.rewards.bench.RewardThroughput [completions] [passes]}.
 */
public final class RewardThroughput {
  private RewardThroughput() {}

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int passes = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    int threads = Runtime.getRuntime().availableProcessors();
    System.out.printf(
        "rewards throughput: %d completions per verifier, median of %d passes, %d CPUs, Java %s%n",
        count, passes, threads, Runtime.version());

    List<RewardInput> math = mathCompletions(count);
    List<RewardInput> countdown = countdownCompletions(count);
    RewardFunction mathReward = new MathReward.Factory().create(Map.of());
    RewardFunction countdownReward = new CountdownReward.Factory().create(Map.of());

    report("math", "direct, 1 thread", direct(mathReward, math, passes), count);
    report(
        "math",
        "pipeline, " + threads + " threads",
        piped(mathReward, math, passes, threads),
        count);
    report("countdown", "direct, 1 thread", direct(countdownReward, countdown, passes), count);
    report(
        "countdown",
        "pipeline, " + threads + " threads",
        piped(countdownReward, countdown, passes, threads),
        count);
  }

  private static void report(String verifier, String mode, double seconds, int count) {
    System.out.printf(
        "%-10s %-22s %10.0f completions/s  (%.1f ms per pass)%n",
        verifier, mode, count / seconds, seconds * 1e3);
  }

  /** Median seconds per pass, calling the function on this thread. */
  private static double direct(RewardFunction function, List<RewardInput> inputs, int passes) {
    double[] seconds = new double[passes + 1];
    double checksum = 0;
    for (int pass = 0; pass <= passes; pass++) { // pass 0 warms up
      long start = System.nanoTime();
      for (RewardInput input : inputs) {
        checksum += function.score(input).toCompletableFuture().join().score();
      }
      seconds[pass] = (System.nanoTime() - start) / 1e9;
    }
    System.out.printf(
        "  (%s: mean score %.3f)%n", function.name(), checksum / inputs.size() / (passes + 1));
    return median(Arrays.copyOfRange(seconds, 1, seconds.length));
  }

  /** Median seconds per pass through a pipeline with {@code threads} concurrent calls. */
  private static double piped(
      RewardFunction function, List<RewardInput> inputs, int passes, int threads) {
    double[] seconds = new double[passes + 1];
    CallPolicy policy = new CallPolicy(CallPolicy.DEFAULTS.timeout(), threads, 0);
    try (RewardPipeline pipeline =
        RewardPipeline.builder()
            .add(function.name(), function, 1, policy)
            .cacheEntries(0)
            .build()) {
      for (int pass = 0; pass <= passes; pass++) {
        long start = System.nanoTime();
        List<CompletableFuture<ScoredCompletion>> futures = new ArrayList<>(inputs.size());
        for (RewardInput input : inputs) {
          futures.add(pipeline.score(input));
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
        seconds[pass] = (System.nanoTime() - start) / 1e9;
      }
      long errors = pipeline.metrics().getFirst().errors();
      if (errors > 0) {
        throw new IllegalStateException(function.name() + ": " + errors + " reward errors");
      }
    }
    return median(Arrays.copyOfRange(seconds, 1, seconds.length));
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static final String REASONING =
      "Let me work through this carefully. First I restate the problem in my own words and note"
          + " which quantities are given. Then I set up the computation step by step, keeping"
          + " track of intermediate results so that I can check each one again at the end. After"
          + " a first pass I double-check the arithmetic column by column, and compare the"
          + " result with a rough estimate to make sure the order of magnitude is right. ";

  /** Arithmetic problems answered in rotating formats, every other one wrong. */
  static List<RewardInput> mathCompletions(int count) {
    List<Problem> problems =
        Tasks.generator(
                ArithmeticTask.NAME, Map.of("digits", 3, "operators", List.of("+", "-", "*", "/")))
            .generate(Split.TRAIN, count, 1);
    List<RewardInput> inputs = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Problem problem = problems.get(i);
      long answer = Long.parseLong(problem.answer()) + (i % 2 == 0 ? 0 : 1);
      String expression = (String) problem.metadata().get("expression");
      String body = REASONING + "We need " + expression + ". ";
      String completion =
          switch (i % 5) {
            case 0 -> body + "So the result is $\\boxed{" + answer + "}$.";
            case 1 -> body + "The answer is " + String.format("%,d", answer) + ".";
            case 2 -> body + "Final computation done.\n#### " + answer;
            case 3 -> body + "Hence $x = \\boxed{\\frac{" + 2 * answer + "}{2}}$.";
            default -> body + "I conclude that it comes to " + answer + " in total";
          };
      inputs.add(RewardInput.of(problem, completion));
    }
    return inputs;
  }

  /** Countdown puzzles answered with their solution, a wrong expression, or a misuse of numbers. */
  static List<RewardInput> countdownCompletions(int count) {
    List<Problem> problems =
        Tasks.generator(CountdownTask.NAME, Map.of()).generate(Split.TRAIN, count, 1);
    List<RewardInput> inputs = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Problem problem = problems.get(i);
      String solution = (String) problem.metadata().get("solution");
      List<?> numbers = (List<?>) problem.metadata().get("numbers");
      String answer =
          switch (i % 4) {
            case 0, 1 -> solution;
            case 2 -> solution.replaceFirst("\\+", "-").replaceFirst("\\*", "+");
            default -> numbers.get(0) + " * " + numbers.get(0) + " + " + numbers.get(1);
          };
      String completion = "<think>" + REASONING + "</think>\n<answer>" + answer + "</answer>";
      inputs.add(RewardInput.of(problem, completion));
    }
    return inputs;
  }
}
