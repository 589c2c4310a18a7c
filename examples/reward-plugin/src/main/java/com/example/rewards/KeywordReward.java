package com.example.rewards;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import rl.rewards.Params;
import rl.rewards.RewardFunction;
import rl.rewards.RewardFunctionFactory;
import rl.rewards.RewardInput;
import rl.rewards.RewardResult;
import rl.rewards.SyncRewardFunction;

/**
 * {@code keyword}: the share of the configured keywords that the completion mentions, from 0 to 1.
 *
 * <p>Parameters: {@code keywords} (required, a list of words or phrases) and {@code case_sensitive}
 * (default false). The missing keywords are reported in the result's info.
 */
public final class KeywordReward extends SyncRewardFunction {
  private final List<String> keywords;
  private final boolean caseSensitive;

  public KeywordReward(List<String> keywords, boolean caseSensitive) {
    super("keyword");
    this.keywords = List.copyOf(keywords);
    this.caseSensitive = caseSensitive;
  }

  @Override
  protected RewardResult scoreSync(RewardInput input) {
    String text = caseSensitive ? input.completion() : input.completion().toLowerCase(Locale.ROOT);
    List<String> missing = new ArrayList<>();
    for (String keyword : keywords) {
      String wanted = caseSensitive ? keyword : keyword.toLowerCase(Locale.ROOT);
      if (!text.contains(wanted)) {
        missing.add(keyword);
      }
    }
    int found = keywords.size() - missing.size();
    RewardResult result =
        RewardResult.of((double) found / keywords.size()).withComponent("found", found);
    return missing.isEmpty() ? result : result.withInfo("missing", String.join(", ", missing));
  }

  /** The service rl finds in this jar: it makes {@code keyword} functions from config params. */
  public static final class Factory implements RewardFunctionFactory {
    @Override
    public String name() {
      return "keyword";
    }

    @Override
    public String description() {
      return "share of the configured keywords the completion mentions";
    }

    @Override
    public RewardFunction create(Map<String, Object> params) {
      // Params reports bad or misspelled parameters the way the built-ins do.
      Params p = Params.of(name(), params);
      List<String> keywords = p.requiredStrings("keywords");
      if (keywords.stream().anyMatch(String::isBlank)) {
        throw p.invalid("keywords", keywords, "a list of non-blank strings");
      }
      boolean caseSensitive = p.bool("case_sensitive", false);
      p.rejectUnknown();
      return new KeywordReward(keywords, caseSensitive);
    }
  }
}
