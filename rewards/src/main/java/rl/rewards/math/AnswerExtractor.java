package rl.rewards.math;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the final answer in a completion. In order of trust: the last well-formed {@code
 * \boxed{...}} or {@code \fbox{...}} (braces may nest), the text after the last {@code ####}, the
 * text after the last "the answer is" (or "final answer:"), and, if enabled, the last number.
 */
public final class AnswerExtractor {
  /** How an answer was found; logged so a user can see which rule fired. */
  public enum Method {
    BOXED,
    HASHES,
    ANSWER_PHRASE,
    LAST_NUMBER;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** An answer and how it was found. */
  public record Extracted(String text, Method method) {}

  private static final Pattern ANSWER_PHRASE =
      Pattern.compile(
          "(?i)\\b(?:the\\s+)?(?:final\\s+)?answer\\s*(?:is\\s*:?|:|=)\\s*(?:\\*\\*)?([^\\n]*)");
  private static final Pattern INLINE_MATH = Pattern.compile("\\$([^$]+)\\$|\\\\\\((.+?)\\\\\\)");
  private static final Pattern NUMBER =
      Pattern.compile(
          "\\\\[dt]?frac\\{-?\\d+\\}\\{\\d+\\}"
              + "|[-\u2212]?(?:\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)?(?:[eE][-+]?\\d+)?"
              + "(?:\\s*/\\s*\\d+)?"
              + "|[-\u2212]?\\.\\d+");

  private AnswerExtractor() {}

  /** The final answer of {@code completion}, or empty if none of the enabled rules finds one. */
  public static Optional<Extracted> extract(String completion, boolean lastNumberFallback) {
    String boxed = lastBoxed(completion);
    if (boxed != null) {
      return Optional.of(new Extracted(boxed, Method.BOXED));
    }
    int hashes = completion.lastIndexOf("####");
    if (hashes >= 0) {
      String rest = firstLine(completion.substring(hashes + 4)).strip();
      if (!rest.isEmpty()) {
        return Optional.of(new Extracted(rest, Method.HASHES));
      }
    }
    String phrase = lastAnswerPhrase(completion);
    if (phrase != null) {
      return Optional.of(new Extracted(phrase, Method.ANSWER_PHRASE));
    }
    if (lastNumberFallback) {
      String number = null;
      Matcher matcher = NUMBER.matcher(completion);
      while (matcher.find()) {
        number = matcher.group();
      }
      if (number != null) {
        return Optional.of(new Extracted(number, Method.LAST_NUMBER));
      }
    }
    return Optional.empty();
  }

  /**
   * The reference answer of a dataset row: the boxed answer of a worked solution (MATH), the text
   * after {@code ####} (GSM8K), else the whole text.
   */
  public static String reference(String answer) {
    String boxed = lastBoxed(answer);
    if (boxed != null) {
      return boxed;
    }
    int hashes = answer.lastIndexOf("####");
    if (hashes >= 0) {
      return answer.substring(hashes + 4).strip();
    }
    return answer;
  }

  /** The content of the last well-formed {@code \boxed} or {@code \fbox}, or null. */
  static String lastBoxed(String text) {
    int from = text.length();
    while (from > 0) {
      int boxed = text.lastIndexOf("\\boxed", from - 1);
      int fbox = text.lastIndexOf("\\fbox", from - 1);
      int start = Math.max(boxed, fbox);
      if (start < 0) {
        return null;
      }
      int after = start + (start == boxed ? "\\boxed".length() : "\\fbox".length());
      String content = boxContent(text, after);
      if (content != null) {
        return content.strip();
      }
      from = start;
    }
    return null;
  }

  /**
   * The argument of a box command whose name ends at {@code pos}: a balanced {@code {...}} (escaped
   * braces {@code \{ \}} do not count), or a bare token as in {@code \boxed 5}; null if malformed.
   */
  private static String boxContent(String text, int pos) {
    int i = pos;
    while (i < text.length() && text.charAt(i) == ' ') {
      i++;
    }
    if (i >= text.length()) {
      return null;
    }
    if (text.charAt(i) != '{') {
      if (i == pos) {
        return null; // \boxedx is another command, not a box
      }
      int end = i;
      while (end < text.length()
          && !Character.isWhitespace(text.charAt(end))
          && text.charAt(end) != '$') {
        end++;
      }
      return text.substring(i, end);
    }
    int depth = 0;
    for (int j = i; j < text.length(); j++) {
      char c = text.charAt(j);
      if (c == '\\') {
        j++; // skip the escaped character
      } else if (c == '{') {
        depth++;
      } else if (c == '}' && --depth == 0) {
        return text.substring(i + 1, j);
      }
    }
    return null;
  }

  private static String lastAnswerPhrase(String text) {
    Matcher matcher = ANSWER_PHRASE.matcher(text);
    String last = null;
    while (matcher.find()) {
      String rest = matcher.group(1).strip();
      if (!rest.isEmpty()) {
        last = rest;
      }
    }
    if (last == null) {
      return null;
    }
    // "The answer is $\frac{1}{2}$, since ..." - the math part is the answer.
    Matcher math = INLINE_MATH.matcher(last);
    if (math.find()) {
      return math.group(1) != null ? math.group(1) : math.group(2);
    }
    last = last.replace("**", "").strip();
    return last.isEmpty() ? null : last;
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline);
  }
}
