package rl.rewards.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.rewards.Inputs.input;
import static rl.rewards.Inputs.score;
import static rl.rewards.Inputs.tokens;

import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import rl.rewards.RewardConfigException;
import rl.rewards.RewardFunction;
import rl.rewards.RewardResult;

class TextRewardsTest {
  private static RewardFunction exact(Map<String, Object> params) {
    return new ExactReward.Factory().create(params);
  }

  private static RewardFunction regex(Map<String, Object> params) {
    return new RegexReward.Factory().create(params);
  }

  private static RewardFunction length(Map<String, Object> params) {
    return new LengthReward.Factory().create(params);
  }

  @Test
  void exactComparesTrimmedTextWithCollapsedWhitespace() {
    RewardFunction plain = exact(Map.of());
    assertEquals(1.0, score(plain, input("  Paris \n", "Paris")).score());
    assertEquals(1.0, score(plain, input("New   York", "New York")).score());
    assertEquals(0.0, score(plain, input("paris", "Paris")).score());
    assertEquals(
        1.0, score(exact(Map.of("case_sensitive", false)), input("paris", "Paris")).score());
    assertEquals(
        0.0, score(exact(Map.of("collapse_whitespace", false)), input("Paris ", "Paris")).score());
  }

  @Test
  void exactCanExtractTheLastMatchOfAPattern() {
    RewardFunction tagged = exact(Map.of("extract", "<answer>(.*?)</answer>"));
    assertEquals(
        1.0,
        score(tagged, input("<answer>Rome</answer> hmm <answer>Paris</answer>", "Paris")).score());
    RewardResult none = score(tagged, input("Paris", "Paris"));
    assertEquals(0.0, none.score());
    assertEquals("extract pattern found no answer", none.info().get("reason"));
  }

  @Test
  void regexRewardsAThinkBlockBeforeTheAnswer() {
    RewardFunction format =
        regex(Map.of("pattern", "<think>.+?</think>\\s*<answer>.+?</answer>\\s*"));
    assertEquals(
        1.0, score(format, input("<think>a\nb</think>\n<answer>4</answer>\n", "")).score());
    assertEquals(0.0, score(format, input("<answer>4</answer>", "")).score());
    assertEquals(0.0, score(format, input("<think></think><answer>4</answer>", "")).score());
    // "full" needs the whole completion to match; "find" anywhere.
    assertEquals(0.0, score(format, input("x <think>a</think><answer>4</answer>", "")).score());
    RewardFunction find =
        regex(Map.of("pattern", "<answer>.+?</answer>", "match", "find", "miss_score", -1.0));
    assertEquals(1.0, score(find, input("x <answer>4</answer> y", "")).score());
    assertEquals(-1.0, score(find, input("x", "")).score());
  }

  @Test
  void regexErrorsShowWhereThePatternIsBroken() {
    RewardConfigException e =
        assertThrows(RewardConfigException.class, () -> regex(Map.of("pattern", "<think>(.*")));
    assertTrue(
        e.getMessage()
            .startsWith(
                "reward 'regex': parameter 'pattern' must be a Java regular"
                    + " expression (Unclosed group near index"),
        e.getMessage());
    RewardConfigException missing =
        assertThrows(RewardConfigException.class, () -> regex(Map.of()));
    assertEquals(
        "reward 'regex': parameter 'pattern' is required (a string)", missing.getMessage());
  }

  @Test
  void lengthPenalisesLinearlyBeyondTheBudgetUpToTheCap() {
    RewardFunction dapo = length(Map.of("budget", 100, "penalty", 0.01));
    assertEquals(0.0, score(dapo, tokens("x", 100)).score());
    assertEquals(-0.5, score(dapo, tokens("x", 150)).score(), 1e-12);
    assertEquals(-1.0, score(dapo, tokens("x", 1000)).score());
    RewardResult result = score(dapo, tokens("x", 150));
    assertEquals(Map.of("length", 150.0, "over_budget", 50.0), result.components());
    // The default penalty reaches the cap at twice the budget.
    RewardFunction defaults = length(Map.of("budget", 10, "max_penalty", 2.0));
    assertEquals(-1.0, score(defaults, tokens("x", 15)).score(), 1e-12);
    assertEquals(-2.0, score(defaults, tokens("x", 20)).score(), 1e-12);
  }

  @Test
  void lengthInTokensNeedsTokenIdsOrCountsCharacters() {
    CompletionException e =
        assertThrows(
            CompletionException.class, () -> score(length(Map.of("budget", 3)), input("four", "")));
    assertTrue(e.getCause().getMessage().contains("set unit: chars"), e.getMessage());
    RewardFunction chars = length(Map.of("budget", 3, "unit", "chars", "penalty", 0.5));
    assertEquals(-0.5, score(chars, input("four", "")).score());
    assertEquals(0.0, score(chars, input("été", "")).score(), "code points, not UTF-16 units");
  }

  @Test
  void parameterTypesAreChecked() {
    assertEquals(
        "reward 'length': parameter 'budget' is required (a whole number in [0, 2147483647])",
        assertThrows(RewardConfigException.class, () -> length(Map.of())).getMessage());
    assertEquals(
        "reward 'length': parameter 'budget' must be a whole number in [0, 2147483647], found \"100\"",
        assertThrows(RewardConfigException.class, () -> length(Map.of("budget", "100")))
            .getMessage());
    assertEquals(
        "reward 'length': parameter 'budget' must be a whole number in [0, 2147483647], found 1.5",
        assertThrows(RewardConfigException.class, () -> length(Map.of("budget", 1.5)))
            .getMessage());
    assertEquals(
        "reward 'exact': parameter 'case_sensitive' must be true or false, found \"no\"",
        assertThrows(RewardConfigException.class, () -> exact(Map.of("case_sensitive", "no")))
            .getMessage());
    assertEquals(
        "reward 'regex': parameter 'match' must be one of full, find, found \"all\"",
        assertThrows(
                RewardConfigException.class, () -> regex(Map.of("pattern", "x", "match", "all")))
            .getMessage());
    assertEquals(
        "reward 'exact': unknown parameter 'ignore_case'. Valid parameters: case_sensitive,"
            + " collapse_whitespace, extract",
        assertThrows(RewardConfigException.class, () -> exact(Map.of("ignore_case", true)))
            .getMessage());
  }
}
