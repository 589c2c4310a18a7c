package rl.rewards.countdown;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.rewards.Inputs.input;
import static rl.rewards.Inputs.score;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import rl.rewards.RewardConfigException;
import rl.rewards.RewardFunction;
import rl.rewards.RewardResult;

class CountdownRewardTest {
  private static final Map<String, Object> PUZZLE =
      Map.of("numbers", List.of(25, 50, 75, 100, 3, 6), "target", 952);
  private static final RewardFunction COUNTDOWN = create(Map.of());

  private static RewardFunction create(Map<String, Object> params) {
    return new CountdownReward.Factory().create(params);
  }

  private static RewardResult countdown(
      RewardFunction function, String completion, Map<String, Object> puzzle) {
    return score(function, input("p1", completion, puzzle));
  }

  private static RewardResult countdown(String completion) {
    return countdown(COUNTDOWN, completion, PUZZLE);
  }

  /** Asserts a score of 0 with a reason containing {@code reason}. */
  private static void rejected(String completion, String reason) {
    RewardResult result = countdown(completion);
    assertEquals(0.0, result.score(), completion);
    assertTrue(
        result.info().getOrDefault("reason", "").contains(reason),
        () -> "expected reason containing '" + reason + "', got " + result.info());
  }

  @Test
  void theClassicSolutionInEverySpelling() {
    String solution = "((100 + 6) * 3 * 75 - 50) / 25"; // 23800 / 25 = 952
    assertEquals(1.0, countdown("<answer>" + solution + "</answer>").score());
    assertEquals(1.0, countdown("<answer>((100+6)×3×75−50)÷25</answer>").score());
    assertEquals(
        1.0, countdown("<answer>((100 + 6) \\times 3 \\cdot 75 - 50) \\div 25</answer>").score());
    assertEquals(1.0, countdown("<answer>" + solution + " = 952</answer>").score());
    assertEquals(1.0, countdown("<answer>952 = " + solution + "</answer>").score());
    assertEquals(1.0, countdown("Working...\nThe result: \\boxed{" + solution + "}").score());
    assertEquals(1.0, countdown("thinking\n" + solution + "\n").score());
  }

  @Test
  void theLastAnswerBlockCountsAndExtractionCanRequireIt() {
    String text = "<answer>1 + 2</answer> no wait <answer>((100 + 6) * 3 * 75 - 50) / 25</answer>";
    assertEquals(1.0, countdown(text).score());
    RewardFunction tagOnly = create(Map.of("extract", "tag"));
    RewardResult result = countdown(tagOnly, "((100 + 6) * 3 * 75 - 50) / 25", PUZZLE);
    assertEquals(0.0, result.score());
    assertEquals("no <answer>...</answer> block", result.info().get("reason"));
  }

  @Test
  void wrongValueGetsTheFormatScoreIfSet() {
    rejected("<answer>100 + 6</answer>", "equals 106, the target is 952");
    RewardFunction withFormat = create(Map.of("format_score", 0.1));
    assertEquals(0.1, countdown(withFormat, "<answer>100 + 6</answer>", PUZZLE).score());
    // An invalid expression gets nothing, format score or not.
    assertEquals(0.0, countdown(withFormat, "<answer>100 + 7</answer>", PUZZLE).score());
  }

  @Test
  void aFalseClaimIsWrongEvenIfTheExpressionIsRight() {
    rejected("<answer>((100 + 6) * 3 * 75 - 50) / 25 = 951</answer>", "claims 951");
  }

  @Test
  void numbersUsedTwiceOrNotGivenAreRejected() {
    rejected("<answer>100 + 100</answer>", "uses 100 more often than given");
    rejected("<answer>7 * 136</answer>", "uses 7, which is not among the numbers");
    Map<String, Object> twoFives = Map.of("numbers", List.of(5, 5, 2), "target", 27);
    assertEquals(1.0, countdown(COUNTDOWN, "<answer>5 * 5 + 2</answer>", twoFives).score());
  }

  @Test
  void useAllRequiresEveryNumber() {
    Map<String, Object> puzzle = Map.of("numbers", List.of(2, 3, 4), "target", 6);
    assertEquals(1.0, countdown(COUNTDOWN, "<answer>2 * 3</answer>", puzzle).score());
    RewardResult strict =
        countdown(create(Map.of("use_all", true)), "<answer>2 * 3</answer>", puzzle);
    assertEquals(0.0, strict.score());
    assertTrue(strict.info().get("reason").contains("leaves [4] unused"), strict.info().toString());
    assertEquals(
        1.0,
        countdown(create(Map.of("use_all", true)), "<answer>(4 - 2) * 3</answer>", puzzle).score());
  }

  @Test
  void divisionByZeroIsRejectedNotThrown() {
    Map<String, Object> puzzle = Map.of("numbers", List.of(5, 3, 3, 1), "target", 5);
    RewardResult result = countdown(COUNTDOWN, "<answer>5 / (3 - 3)</answer>", puzzle);
    assertEquals(0.0, result.score());
    assertTrue(
        result.info().get("reason").startsWith("division by zero"), result.info().toString());
  }

  @Test
  void nonIntegerIntermediatesAreExactAndOptionallyForbidden() {
    // In doubles 1 / 49 * 49 is 0.9999999999999999; in rationals it is 1.
    Map<String, Object> ones = Map.of("numbers", List.of(1, 49, 49), "target", 1);
    assertEquals(1.0, countdown(COUNTDOWN, "<answer>1 / 49 * 49</answer>", ones).score());
    Map<String, Object> puzzle = Map.of("numbers", List.of(7, 3, 3), "target", 7);
    assertEquals(1.0, countdown(COUNTDOWN, "<answer>7 / 3 * 3</answer>", puzzle).score());
    Map<String, Object> thirds = Map.of("numbers", List.of(1, 3, 1, 3, 1, 3), "target", 1);
    assertEquals(1.0, countdown(COUNTDOWN, "<answer>1/3 + 1/3 + 1/3</answer>", thirds).score());
    RewardResult strict =
        countdown(
            create(Map.of("integer_intermediates", true)), "<answer>7 / 3 * 3</answer>", puzzle);
    assertEquals(0.0, strict.score());
    assertTrue(strict.info().get("reason").contains("7/3"), strict.info().toString());
  }

  @Test
  void hugeNumbersAreRejectedBeforeArithmetic() {
    rejected("<answer>" + "9".repeat(900) + " * 100</answer>", "more than 18 digits");
    rejected("<answer>999999999999999999 * 100</answer>", "not among the numbers");
  }

  @Test
  void deepNestingIsRejected() {
    rejected(
        "<answer>" + "(".repeat(200) + "100" + ")".repeat(200) + "</answer>",
        "nested deeper than 32");
    assertEquals(
        0.0,
        countdown("<answer>" + "(".repeat(100_000) + "</answer>").score(),
        "a long run of parentheses is over the length limit");
  }

  @Test
  void unicodeThatIsNotAnAcceptedOperatorIsRejectedByName() {
    rejected("<answer>１００ + 6</answer>", "unexpected '１' (U+FF11) at column 1");
    rejected("<answer>100 ➕ 6</answer>", "(U+2795)");
    rejected("<answer>100 ⁄ 25</answer>", "(U+2044)"); // fraction slash is not division
  }

  @Test
  void unaryMinusImplicitMultiplicationPowersAndDecimalsAreRejected() {
    rejected("<answer>-3 + 6</answer>", "unary '-'");
    rejected("<answer>3(6 + 25)</answer>", "unexpected '('");
    rejected("<answer>3 ^ 6</answer>", "unexpected '^'");
    rejected("<answer>2.5 * 6</answer>", "not an integer");
    rejected("<answer>100 +</answer>", "expression ends");
    rejected("<answer>(100 + 6</answer>", "never closed");
    rejected("<answer>100 + 6)</answer>", "unexpected ')' at column 8");
    rejected("<answer>1 = 2 = 3</answer>", "more than one '='");
    rejected("<answer></answer>", "empty answer");
  }

  @Test
  void tenKilobytesOfGarbageIsRejectedQuickly() {
    Random random = new Random(5);
    StringBuilder garbage = new StringBuilder();
    while (garbage.length() < 10_240) {
      garbage.appendCodePoint(32 + random.nextInt(0x3000));
    }
    String text = garbage.toString();
    assertEquals(0.0, countdown(text).score());
    assertEquals(0.0, countdown("<answer>" + text + "</answer>").score());
    RewardResult long1 = countdown("<answer>" + "1+".repeat(5000) + "1</answer>");
    assertTrue(long1.info().get("reason").contains("the limit is 1000"), long1.info().toString());
  }

  @Test
  void aBadPuzzleIsAnErrorNamingTheProblemAndKey() {
    CompletionException missing =
        assertThrows(
            CompletionException.class,
            () ->
                countdown(
                    COUNTDOWN, "<answer>1</answer>", Map.of("nums", List.of(1), "target", 1)));
    assertTrue(
        missing
            .getCause()
            .getMessage()
            .startsWith(
                "problem 'p1': metadata 'numbers' must be a non-empty list of integers, found"
                    + " nothing (metadata keys: ["),
        missing.getCause().getMessage());
    CompletionException fraction =
        assertThrows(
            CompletionException.class,
            () ->
                countdown(
                    COUNTDOWN,
                    "<answer>1</answer>",
                    Map.of("numbers", List.of(1), "target", new java.math.BigDecimal("2.5"))));
    assertTrue(fraction.getCause().getMessage().contains("'target' must be an integer, found 2.5"));
    // Renamed keys, as in datasets that call them nums.
    RewardFunction renamed = create(Map.of("numbers_key", "nums"));
    assertEquals(
        1.0,
        countdown(renamed, "<answer>1</answer>", Map.of("nums", List.of(1), "target", 1)).score());
  }

  @Test
  void badParametersAreConfigErrors() {
    RewardConfigException e =
        assertThrows(RewardConfigException.class, () -> create(Map.of("max_depth", 0)));
    assertEquals(
        "reward 'countdown': parameter 'max_depth' must be a whole number in [1, 1000], found 0",
        e.getMessage());
    assertThrows(RewardConfigException.class, () -> create(Map.of("answer_tag", "<answer>")));
    assertThrows(RewardConfigException.class, () -> create(Map.of("use_al", true)));
  }
}
