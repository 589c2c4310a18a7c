package rl.rewards.text;

import java.util.List;
import java.util.Map;
import rl.rewards.Params;
import rl.rewards.RewardFunction;
import rl.rewards.RewardFunctionFactory;
import rl.rewards.RewardInput;
import rl.rewards.RewardResult;
import rl.rewards.SyncRewardFunction;

/**
 * {@code length}: 0 within a budget, then a penalty growing linearly with each unit beyond it,
 * capped: {@code -min(max_penalty, penalty · max(0, length - budget))}.
 *
 * <p>Parameters: {@code budget} (required, units allowed for free), {@code penalty} (per unit
 * beyond the budget; default {@code max_penalty / budget}, so the cap is reached at twice the
 * budget), {@code max_penalty} (default 1), {@code unit} ({@code tokens}, the default, or {@code
 * chars}). DAPO's "soft overlong punishment" is {@code budget = L_max - L_cache, penalty =
 * 1/L_cache, max_penalty = 1}.
 *
 * <p>With {@code unit: tokens} the input must carry token ids; text-only input is an error (use
 * {@code unit: chars} for it) rather than a silent count of zero.
 */
public final class LengthReward extends SyncRewardFunction {
  public static final String NAME = "length";

  private final int budget;
  private final double penalty;
  private final double maxPenalty;
  private final boolean tokens;

  public LengthReward(int budget, double penalty, double maxPenalty, boolean tokens) {
    super(NAME);
    this.budget = budget;
    this.penalty = penalty;
    this.maxPenalty = maxPenalty;
    this.tokens = tokens;
  }

  @Override
  protected RewardResult scoreSync(RewardInput input) {
    if (tokens && !input.hasTokens()) {
      throw new IllegalArgumentException(
          "length counts tokens but this completion has no token ids;"
              + " pass them (\"completion_tokens\") or set unit: chars");
    }
    int length =
        tokens
            ? input.completionTokenCount()
            : input.completion().codePointCount(0, input.completion().length());
    int over = Math.max(0, length - budget);
    double score = over == 0 ? 0 : -Math.min(maxPenalty, penalty * over);
    return RewardResult.of(score)
        .withComponent("length", length)
        .withComponent("over_budget", over);
  }

  /** Registers {@code length}. */
  public static final class Factory implements RewardFunctionFactory {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public String description() {
      return "0 within a token budget, then a linear penalty per token beyond it, capped";
    }

    @Override
    public RewardFunction create(Map<String, Object> params) {
      Params p = Params.of(NAME, params);
      int budget = p.requiredInteger("budget", 0, Integer.MAX_VALUE);
      double maxPenalty = p.number("max_penalty", 1, 0);
      double penalty = p.number("penalty", maxPenalty / Math.max(1, budget), 0);
      boolean tokens = p.choice("unit", "tokens", List.of("tokens", "chars")).equals("tokens");
      p.rejectUnknown();
      return new LengthReward(budget, penalty, maxPenalty, tokens);
    }
  }
}
