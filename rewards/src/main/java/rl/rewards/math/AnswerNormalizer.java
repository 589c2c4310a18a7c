package rl.rewards.math;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cleans an extracted answer into a canonical text that {@link MathExpression} can read or two
 * answers can be compared by: strips {@code $} and math delimiters, spacing commands, {@code
 * \left}/{@code \right}, {@code \text{...}} wrappers, degree signs, a trailing full stop and a
 * leading {@code x =}; unifies {@code \dfrac}/{@code \tfrac} to {@code \frac} and the Unicode minus
 * to {@code -}. Numbers themselves (thousands separators, percent, units) are read by {@link
 * AnswerComparator}.
 */
public final class AnswerNormalizer {
  /** Longer answers are only trimmed: normalising them costs time and they rarely match. */
  public static final int MAX_LENGTH = 1000;

  private static final Pattern LEFT_RIGHT = Pattern.compile("\\\\(?:left|right)(?![A-Za-z])");
  private static final Pattern SPACING =
      Pattern.compile("\\\\[!,;: ]|\\\\q?quad(?![A-Za-z])|~|\\\\displaystyle(?![A-Za-z])");
  private static final Pattern DEGREES =
      Pattern.compile("\\^\\s*\\{?\\s*\\\\circ\\s*\\}?|°|\\\\degree(?![A-Za-z])");
  private static final Pattern TEXT_WRAPPER =
      Pattern.compile(
          "\\\\(?:text|textbf|textit|textrm|mathrm|mathbf|mbox|operatorname)\\s*\\{([^{}]*)\\}");
  private static final Pattern DELIMITERS = Pattern.compile("\\\\[()\\[\\]]");
  private static final Pattern ASSIGNMENT =
      Pattern.compile("^[A-Za-z](?:_\\{?[A-Za-z0-9]+\\}?)?\\s*=\\s*(?=\\S)");
  private static final Pattern WHITESPACE = Pattern.compile("\\s+");

  private AnswerNormalizer() {}

  public static String normalize(String raw) {
    String s = raw.strip();
    if (s.length() > MAX_LENGTH) {
      return s;
    }
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac");
    s = s.replace('\u2212', '-'); // Unicode minus sign
    s = s.replace("\\%", "%").replace("\\$", "").replace("$", "");
    s = s.replace("{,}", ","); // LaTeX's thousands separator 1{,}000
    s = LEFT_RIGHT.matcher(s).replaceAll("");
    s = DELIMITERS.matcher(s).replaceAll("");
    s = SPACING.matcher(s).replaceAll(" ");
    s = DEGREES.matcher(s).replaceAll("");
    // Wrappers can nest (\text{\textbf{5}}); unwrap from the inside out.
    for (int i = 0; i < 5; i++) {
      Matcher wrapper = TEXT_WRAPPER.matcher(s);
      if (!wrapper.find()) {
        break;
      }
      s = wrapper.replaceAll(match -> Matcher.quoteReplacement(" " + match.group(1) + " "));
    }
    s = s.strip();
    while (s.endsWith(".") && !s.endsWith("..")) {
      s = s.substring(0, s.length() - 1).strip();
    }
    if (s.indexOf('=') == s.lastIndexOf('=')) {
      s = ASSIGNMENT.matcher(s).replaceFirst("");
    }
    return WHITESPACE.matcher(s).replaceAll(" ").strip();
  }
}
