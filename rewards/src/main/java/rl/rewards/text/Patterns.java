package rl.rewards.text;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import rl.rewards.Params;

/** Compiles regex parameters, turning a syntax error into a config error that shows where. */
final class Patterns {
  private Patterns() {}

  static Pattern compile(Params params, String key, String regex, int flags) {
    try {
      return Pattern.compile(regex, flags);
    } catch (PatternSyntaxException e) {
      throw params.invalid(
          key,
          regex,
          "a Java regular expression (" + e.getDescription() + " near index " + e.getIndex() + ")");
    }
  }
}
