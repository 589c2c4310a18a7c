package rl.rewards.math;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import rl.rewards.Params;
import rl.rewards.RewardFunction;
import rl.rewards.RewardFunctionFactory;
import rl.rewards.RewardInput;
import rl.rewards.RewardResult;
import rl.rewards.SyncRewardFunction;
import rl.rewards.math.AnswerComparator.Comparison;
import rl.rewards.math.AnswerComparator.PercentRule;
import rl.rewards.math.AnswerExtractor.Extracted;

/**
 * {@code math}: 1 when the completion's final answer equals the problem's reference answer, else 0.
 * The reference may itself be a worked solution with a {@code \boxed{}} answer or a {@code ####}
 * line.
 *
 * <p>Parameters: {@code tolerance} (relative, for irrational answers; default 1e-6), {@code
 * percent} ({@code strip}: 50% is 50, {@code divide}: 50% is 0.5, {@code either}: both; default
 * {@code either}), {@code last_number} (fall back to the last number in the completion when no
 * answer is marked; default true).
 */
public final class MathReward extends SyncRewardFunction {
  public static final String NAME = "math";

  private final AnswerComparator comparator;
  private final boolean lastNumber;

  public MathReward(double tolerance, PercentRule percent, boolean lastNumber) {
    super(NAME);
    this.comparator = new AnswerComparator(tolerance, percent);
    this.lastNumber = lastNumber;
  }

  @Override
  protected RewardResult scoreSync(RewardInput input) {
    String answer = input.problem().answer();
    if (answer.isBlank()) {
      throw new IllegalArgumentException(
          "problem '" + input.problem().id() + "' has no reference answer to compare with");
    }
    Optional<Extracted> extracted = AnswerExtractor.extract(input.completion(), lastNumber);
    if (extracted.isEmpty()) {
      return RewardResult.of(0).withInfo("reason", "no final answer found");
    }
    Comparison comparison =
        comparator.compare(extracted.get().text(), AnswerExtractor.reference(answer));
    return RewardResult.of(comparison.equal() ? 1 : 0)
        .withInfo("extracted", comparison.predicted())
        .withInfo("method", extracted.get().method().key())
        .withInfo("reference", comparison.reference())
        .withInfo("compared_as", comparison.basis().key());
  }

  /** Registers {@code math}. */
  public static final class Factory implements RewardFunctionFactory {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public String description() {
      return "1 if the final answer equals the reference (exact rationals, LaTeX-aware), else 0";
    }

    @Override
    public RewardFunction create(Map<String, Object> params) {
      Params p = Params.of(NAME, params);
      double tolerance = p.number("tolerance", 1e-6, 0);
      List<String> rules = Arrays.stream(PercentRule.values()).map(PercentRule::key).toList();
      PercentRule percent =
          PercentRule.valueOf(p.choice("percent", "either", rules).toUpperCase(Locale.ROOT));
      boolean lastNumber = p.bool("last_number", true);
      p.rejectUnknown();
      return new MathReward(tolerance, percent, lastNumber);
    }
  }
}
