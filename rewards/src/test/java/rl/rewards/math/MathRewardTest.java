package rl.rewards.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.rewards.Inputs.input;
import static rl.rewards.Inputs.score;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import rl.rewards.RewardConfigException;
import rl.rewards.RewardFunction;
import rl.rewards.RewardResult;

class MathRewardTest {
  private static final RewardFunction MATH = new MathReward.Factory().create(Map.of());

  /** completion, reference answer, whether they are the same answer. */
  static Stream<Arguments> cases() {
    return Stream.of(
        // --- equivalent: number formats ---
        same("\\boxed{0.5}", "\\frac{1}{2}"),
        same("The answer is 1,000.", "1000"),
        same("\\boxed{\\frac{3}{4}}", "0.75"),
        same("\\boxed{2}", "2.0"),
        same("\\boxed{\\dfrac{1}{2}}", "1/2"),
        same("\\boxed{\\tfrac12}", "0.5"),
        same("\\boxed{.5}", "1/2"),
        same("\\boxed{0.50}", "0.5"),
        same("\\boxed{3.}", "3"),
        same("\\boxed{+7}", "7"),
        same("\\boxed{-3}", "-3"),
        same("\\boxed{\u22123}", "-3"),
        same("\\boxed{\\frac{-3}{4}}", "-0.75"),
        same("\\boxed{1.5e3}", "1500"),
        same("\\boxed{1e-2}", "0.01"),
        same("\\boxed{1.5 \\times 10^{3}}", "1500"),
        same("\\boxed{2.5\\times10^{-3}}", "0.0025"),
        same("\\boxed{10^{3}}", "1000"),
        same("\\boxed{1{,}000{,}000}", "10^6"),
        same("\\boxed{1\\,000}", "1000"),
        same("\\boxed{2\\frac{1}{2}}", "5/2"),
        same("The answer is 2 1/2", "2.5"),
        same("\\boxed{-1\\frac{1}{4}}", "-1.25"),
        same("\\boxed{\\left(2\\right)}", "2"),
        same("\\boxed{\\left( \\frac{1}{2} \\right)}", "0.5"),
        same("\\boxed{\\frac{\\frac{1}{2}}{2}}", "1/4"),
        same("\\boxed{\\sqrt{4}}", "2"),
        same("\\boxed{\\sqrt[3]{27}}", "3"),
        // --- equivalent: units, currency, percent, degrees, assignments ---
        same("\\boxed{50\\%}", "0.5"),
        same("\\boxed{50\\%}", "50"),
        same("\\boxed{\\$5}", "5"),
        same("\\boxed{5 \\text{ cm}}", "5"),
        same("The answer is 12 apples.", "12"),
        same("\\boxed{90^\\circ}", "90"),
        same("\\boxed{x = 4}", "4"),
        // --- equivalent: irrational values, compared with the tolerance ---
        same("\\boxed{\\sqrt{2}/2}", "\\frac{\\sqrt{2}}{2}"),
        same("\\boxed{0.7071068}", "\\frac{\\sqrt{2}}{2}"),
        same("\\boxed{2\\pi}", "6.283185307"),
        // --- equivalent: tuples, intervals, text ---
        same("\\boxed{(1, 2)}", "(1,2)"),
        same("\\boxed{(\\frac{1}{2}, 3)}", "(0.5, 3)"),
        same("\\boxed{[0, 1)}", "[0,1)"),
        same("\\boxed{\\text{Yes}}", "yes"),
        same("\\boxed{\\frac{x}{2}}", "\\frac x2"),
        // --- equivalent: where the answer is found ---
        same("First \\boxed{3}, but correcting myself: \\boxed{4}", "4"),
        same("\\fbox{7}", "7"),
        same("$\\boxed{12}$", "12"),
        same("She pays 3 * 6 = 18 dollars.\n#### 18", "18"),
        same("The final answer is $\\frac{7}{8}$. I hope it is correct.", "0.875"),
        same("**Answer:** 15", "15"),
        same("I think it is 42", "42"),
        same("so the total comes to 1,234", "1234"),
        same("\\boxed{5}", "Solving gives $x = \\boxed{5}$."),
        same("\\boxed{18}", "16 - 3 - 4 = 9 eggs, 9 * 2 = 18.\n#### 18"),
        // --- not equivalent ---
        different("\\boxed{2.0001}", "2"),
        different("\\boxed{0.333333}", "\\frac{1}{3}"),
        different("\\boxed{1.4142}", "\\sqrt{2}"),
        different("\\boxed{3}", "-3"),
        different("\\boxed{5x}", "5"),
        different("\\boxed{(1, 2)}", "(2, 1)"),
        different("\\boxed{(1, 2)}", "[1, 2]"),
        different("\\boxed{\\frac{1}{2}}", "\\frac{1}{3}"),
        different("\\boxed{1,001}", "1000"),
        different("\\boxed{\\text{No}}", "yes"),
        different("The answer is 7, not 8", "8"),
        different("\\boxed{}", "3"),
        different("\\boxed{1/0}", "0"),
        different("\\boxed{\\sqrt{-1}}", "1"),
        different("\\boxed{2^{1000}}", "2"),
        different("\\boxed{1e999999}", "1"),
        different("no number at all", "4"),
        // An unclosed box is no box: the last number, \frac{1}{2}, is the answer.
        different("\\boxed{\\frac{1}{2}", "2"));
  }

  private static Arguments same(String completion, String reference) {
    return Arguments.of(completion, reference, true);
  }

  private static Arguments different(String completion, String reference) {
    return Arguments.of(completion, reference, false);
  }

  @ParameterizedTest(name = "{0}  vs  {1}  ->  {2}")
  @MethodSource("cases")
  void mathTable(String completion, String reference, boolean equal) {
    RewardResult result = score(MATH, input(completion, reference));
    assertEquals(equal ? 1.0 : 0.0, result.score(), () -> "info: " + result.info());
  }

  @Test
  void theTableHasAtLeastSixtyCases() {
    assertTrue(cases().count() >= 60, "cases: " + cases().count());
  }

  @Test
  void percentFollowsTheConfiguredRule() {
    String fifty = "\\boxed{50\\%}";
    assertEquals(0.0, math(Map.of("percent", "strip"), fifty, "0.5"));
    assertEquals(1.0, math(Map.of("percent", "strip"), fifty, "50"));
    assertEquals(1.0, math(Map.of("percent", "divide"), fifty, "0.5"));
    assertEquals(0.0, math(Map.of("percent", "divide"), fifty, "50"));
    assertEquals(1.0, math(Map.of("percent", "either"), fifty, "0.5"));
    assertEquals(1.0, math(Map.of("percent", "either"), fifty, "50"));
    // The reference's percent sign follows the same rule.
    assertEquals(1.0, math(Map.of("percent", "divide"), "\\boxed{0.25}", "25%"));
  }

  @Test
  void toleranceAppliesOnlyWhenAValueIsIrrational() {
    assertEquals(0.0, math(Map.of(), "\\boxed{3.1416}", "\\pi"));
    assertEquals(1.0, math(Map.of("tolerance", 1e-4), "\\boxed{3.1416}", "\\pi"));
    // Both rational: exact, whatever the tolerance.
    assertEquals(0.0, math(Map.of("tolerance", 1e-2), "\\boxed{0.333}", "1/3"));
  }

  @Test
  void lastNumberFallbackCanBeTurnedOff() {
    assertEquals(1.0, math(Map.of(), "it is 42", "42"));
    RewardResult result = score(create(Map.of("last_number", false)), input("it is 42", "42"));
    assertEquals(0.0, result.score());
    assertEquals("no final answer found", result.info().get("reason"));
  }

  @Test
  void infoSaysWhatWasExtractedAndHow() {
    RewardResult result = score(MATH, input("so \\boxed{\\dfrac{1}{2}}.", "0.5"));
    assertEquals("\\frac{1}{2}", result.info().get("extracted"));
    assertEquals("boxed", result.info().get("method"));
    assertEquals("exact", result.info().get("compared_as"));
    assertEquals(
        "approximate", score(MATH, input("\\boxed{\\pi}", "3.14159265")).info().get("compared_as"));
  }

  @Test
  void aProblemWithoutReferenceIsAnErrorNotAZero() {
    CompletionException e =
        assertThrows(CompletionException.class, () -> score(MATH, input("\\boxed{1}", " ")));
    assertTrue(e.getCause().getMessage().contains("has no reference answer"), e.getMessage());
  }

  @Test
  void badParametersNameTheFunctionKeyValueAndExpectation() {
    RewardConfigException unknown =
        assertThrows(RewardConfigException.class, () -> create(Map.of("tolerence", 1e-3)));
    assertEquals(
        "reward 'math': unknown parameter 'tolerence'; did you mean 'tolerance'?"
            + " Valid parameters: last_number, percent, tolerance",
        unknown.getMessage());
    RewardConfigException percent =
        assertThrows(RewardConfigException.class, () -> create(Map.of("percent", "half")));
    assertEquals(
        "reward 'math': parameter 'percent' must be one of strip, divide, either, found \"half\"",
        percent.getMessage());
    RewardConfigException tolerance =
        assertThrows(RewardConfigException.class, () -> create(Map.of("tolerance", "small")));
    assertEquals(
        "reward 'math': parameter 'tolerance' must be a number >= 0, found \"small\"",
        tolerance.getMessage());
  }

  private static RewardFunction create(Map<String, Object> params) {
    return new MathReward.Factory().create(params);
  }

  private static double math(Map<String, Object> params, String completion, String reference) {
    return score(create(params), input(completion, reference)).score();
  }

  @Test
  void extractorPrefersTheBoxOverPhrasesAndNumbers() {
    var extracted =
        AnswerExtractor.extract("The answer is 3. Check: \\boxed{4} and 5", true).orElseThrow();
    assertEquals("4", extracted.text());
    assertEquals(AnswerExtractor.Method.BOXED, extracted.method());
    assertEquals(
        List.of("5", "LAST_NUMBER"),
        AnswerExtractor.extract("x is 3 or 5", true)
            .map(e -> List.of(e.text(), e.method().name()))
            .orElseThrow());
  }
}
