package rl.rewards.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A prompt template: {@code {name}} is replaced by the value called {@code name}; {@code {{} and
 * {@code }}} are literal braces; any other brace, such as the {@code {}} of {@code \boxed{}}, is
 * kept as it is.
 */
public final class Template {
  private final String text;
  private final List<String> names;

  private Template(String text, List<String> names) {
    this.text = text;
    this.names = names;
  }

  public static Template of(String text) {
    List<String> names = new ArrayList<>();
    render(
        text,
        name -> {
          names.add(name);
          return "";
        });
    return new Template(text, List.copyOf(names));
  }

  /** The placeholder names, in order of appearance. */
  public List<String> names() {
    return names;
  }

  /** The text with every placeholder replaced; {@code values} must hold each name. */
  public String render(Map<String, String> values) {
    return render(text, values::get);
  }

  private static String render(String text, Function<String, String> lookup) {
    StringBuilder out = new StringBuilder(text.length() + 32);
    int i = 0;
    while (i < text.length()) {
      char c = text.charAt(i);
      if ((c == '{' || c == '}') && i + 1 < text.length() && text.charAt(i + 1) == c) {
        out.append(c);
        i += 2;
        continue;
      }
      if (c == '{') {
        int end = i + 1;
        while (end < text.length() && isNameChar(text.charAt(end), end == i + 1)) {
          end++;
        }
        if (end > i + 1 && end < text.length() && text.charAt(end) == '}') {
          String value = lookup.apply(text.substring(i + 1, end));
          out.append(value);
          i = end + 1;
          continue;
        }
      }
      out.append(c);
      i++;
    }
    return out.toString();
  }

  private static boolean isNameChar(char c, boolean first) {
    return c == '_'
        || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (!first && c >= '0' && c <= '9');
  }

  @Override
  public String toString() {
    return text;
  }
}
