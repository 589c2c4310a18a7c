package rl.rewards.text;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import rl.rewards.Params;
import rl.rewards.RewardFunction;
import rl.rewards.RewardFunctionFactory;
import rl.rewards.RewardInput;
import rl.rewards.RewardResult;
import rl.rewards.SyncRewardFunction;

/**
 * {@code exact}: 1 when the completion's answer equals the reference answer as text, else 0.
 *
 * <p>Parameters: {@code extract} (a regex; its last match in the completion is the answer, group 1
 * if it has a group; default: the whole completion), {@code case_sensitive} (default true), {@code
 * collapse_whitespace} (trim both sides and treat any run of whitespace as one space; default
 * true).
 */
public final class ExactReward extends SyncRewardFunction {
  public static final String NAME = "exact";

  private static final Pattern WHITESPACE = Pattern.compile("\\s+");

  private final Pattern extract;
  private final boolean caseSensitive;
  private final boolean collapseWhitespace;

  /**
   * @param extract where the answer is in the completion; null for the whole completion
   */
  public ExactReward(Pattern extract, boolean caseSensitive, boolean collapseWhitespace) {
    super(NAME);
    this.extract = extract;
    this.caseSensitive = caseSensitive;
    this.collapseWhitespace = collapseWhitespace;
  }

  @Override
  protected RewardResult scoreSync(RewardInput input) {
    String answer = input.completion();
    if (extract != null) {
      Matcher matcher = extract.matcher(new InterruptibleText(answer));
      String last = null;
      while (matcher.find()) {
        last = matcher.groupCount() >= 1 ? matcher.group(1) : matcher.group();
      }
      if (last == null) {
        return RewardResult.of(0).withInfo("reason", "extract pattern found no answer");
      }
      answer = last;
    }
    String predicted = canonical(answer);
    String reference = canonical(input.problem().answer());
    boolean equal =
        caseSensitive ? predicted.equals(reference) : predicted.equalsIgnoreCase(reference);
    RewardResult result = RewardResult.of(equal ? 1 : 0);
    return predicted.length() <= 200 ? result.withInfo("extracted", predicted) : result;
  }

  private String canonical(String text) {
    return collapseWhitespace ? WHITESPACE.matcher(text.strip()).replaceAll(" ") : text;
  }

  /** Registers {@code exact}. */
  public static final class Factory implements RewardFunctionFactory {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public String description() {
      return "1 if the (extracted) completion equals the reference answer as text, else 0";
    }

    @Override
    public RewardFunction create(Map<String, Object> params) {
      Params p = Params.of(NAME, params);
      String regex = p.string("extract", null);
      Pattern extract =
          regex == null ? null : Patterns.compile(p, "extract", regex, Pattern.DOTALL);
      boolean caseSensitive = p.bool("case_sensitive", true);
      boolean collapse = p.bool("collapse_whitespace", true);
      p.rejectUnknown();
      return new ExactReward(extract, caseSensitive, collapse);
    }
  }
}
