package rl.rewards.text;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import rl.rewards.Params;
import rl.rewards.RewardFunction;
import rl.rewards.RewardFunctionFactory;
import rl.rewards.RewardInput;
import rl.rewards.RewardResult;
import rl.rewards.SyncRewardFunction;

/**
 * {@code regex}: a format reward. {@code match_score} (default 1) when the completion matches
 * {@code pattern}, else {@code miss_score} (default 0).
 *
 * <p>For example, a {@code <think>} block before the answer: {@code pattern:
 * '<think>.+?</think>\s*<answer>.+?</answer>\s*'}. Parameters: {@code pattern} (required, Java
 * syntax), {@code match} ({@code full}: the whole completion must match, the default; {@code find}:
 * a match anywhere), {@code dotall} ({@code .} matches newlines; default true), {@code ignore_case}
 * (default false).
 */
public final class RegexReward extends SyncRewardFunction {
  public static final String NAME = "regex";

  private final Pattern pattern;
  private final boolean full;
  private final double matchScore;
  private final double missScore;

  public RegexReward(Pattern pattern, boolean full, double matchScore, double missScore) {
    super(NAME);
    this.pattern = pattern;
    this.full = full;
    this.matchScore = matchScore;
    this.missScore = missScore;
  }

  @Override
  protected RewardResult scoreSync(RewardInput input) {
    var matcher = pattern.matcher(new InterruptibleText(input.completion()));
    boolean matched = full ? matcher.matches() : matcher.find();
    return RewardResult.of(matched ? matchScore : missScore);
  }

  /** Registers {@code regex}. */
  public static final class Factory implements RewardFunctionFactory {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public String description() {
      return "match_score if the completion matches a pattern (a format reward), else miss_score";
    }

    @Override
    public RewardFunction create(Map<String, Object> params) {
      Params p = Params.of(NAME, params);
      String regex = p.requiredString("pattern");
      boolean full = p.choice("match", "full", List.of("full", "find")).equals("full");
      int flags = 0;
      if (p.bool("dotall", true)) {
        flags |= Pattern.DOTALL;
      }
      if (p.bool("ignore_case", false)) {
        flags |= Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE;
      }
      double matchScore = p.number("match_score", 1, Double.NEGATIVE_INFINITY);
      double missScore = p.number("miss_score", 0, Double.NEGATIVE_INFINITY);
      p.rejectUnknown();
      return new RegexReward(
          Patterns.compile(p, "pattern", regex, flags), full, matchScore, missScore);
    }
  }
}
