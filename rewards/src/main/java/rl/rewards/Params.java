package rl.rewards;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a reward function's parameters strictly, so every factory reports bad input the same way:
 * {@code reward 'math': parameter 'tolerance' must be a number >= 0, found "abc"}.
 *
 * <p>Read each parameter with a typed getter, then call {@link #rejectUnknown()}: any key no getter
 * asked for is reported with the valid keys, which catches misspellings.
 */
public final class Params {
  private final String subject;
  private final Map<String, Object> values;
  private final Set<String> known = new TreeSet<>();

  private Params(String subject, Map<String, Object> values) {
    this.subject = subject;
    this.values = values == null ? Map.of() : values;
  }

  /** The parameters {@code values} of the reward function called {@code function}. */
  public static Params of(String function, Map<String, Object> values) {
    return new Params("reward '" + function + "'", values);
  }

  /**
   * The parameters {@code values} of something else, named in errors as {@code subject} (for
   * example {@code task 'arithmetic'}).
   */
  public static Params about(String subject, Map<String, Object> values) {
    return new Params(subject, values);
  }

  /** Whether the config gave {@code key}. */
  public boolean has(String key) {
    known.add(key);
    return values.containsKey(key);
  }

  public String string(String key, String fallback) {
    Object value = lookup(key);
    if (value == null) {
      return fallback;
    }
    if (value instanceof String text) {
      return text;
    }
    throw invalid(key, value, "a string");
  }

  public String requiredString(String key) {
    if (!has(key)) {
      throw missing(key, "a string");
    }
    return string(key, null);
  }

  /** A string from {@code choices}. */
  public String choice(String key, String fallback, Collection<String> choices) {
    String value = string(key, fallback);
    if (!choices.contains(value)) {
      throw invalid(key, value, "one of " + String.join(", ", choices));
    }
    return value;
  }

  public boolean bool(String key, boolean fallback) {
    Object value = lookup(key);
    if (value == null) {
      return fallback;
    }
    if (value instanceof Boolean flag) {
      return flag;
    }
    throw invalid(key, value, "true or false");
  }

  /** A finite number at least {@code min}. */
  public double number(String key, double fallback, double min) {
    Object value = lookup(key);
    if (value == null) {
      return fallback;
    }
    if (value instanceof Number number) {
      double x = number.doubleValue();
      if (Double.isFinite(x) && x >= min) {
        return x;
      }
    }
    throw invalid(key, value, min == Double.NEGATIVE_INFINITY ? "a finite number" : atLeast(min));
  }

  /** A whole number in {@code [min, max]}. */
  public int integer(String key, int fallback, int min, int max) {
    Object value = lookup(key);
    if (value == null) {
      return fallback;
    }
    long x = wholeNumber(key, value, "a whole number in [" + min + ", " + max + "]");
    if (x < min || x > max) {
      throw invalid(key, value, "a whole number in [" + min + ", " + max + "]");
    }
    return (int) x;
  }

  public int requiredInteger(String key, int min, int max) {
    if (!has(key)) {
      throw missing(key, "a whole number in [" + min + ", " + max + "]");
    }
    return integer(key, 0, min, max);
  }

  /** A list of strings; a single string counts as a list of one. */
  public List<String> strings(String key, List<String> fallback) {
    Object value = lookup(key);
    if (value == null) {
      return fallback;
    }
    if (value instanceof String text) {
      return List.of(text);
    }
    if (value instanceof List<?> list) {
      List<String> result = new ArrayList<>(list.size());
      for (Object item : list) {
        if (!(item instanceof String text)) {
          throw invalid(key, value, "a list of strings");
        }
        result.add(text);
      }
      return List.copyOf(result);
    }
    throw invalid(key, value, "a list of strings");
  }

  /** A non-empty list of strings that must be given. */
  public List<String> requiredStrings(String key) {
    if (!has(key)) {
      throw missing(key, "a non-empty list of strings");
    }
    List<String> list = strings(key, List.of());
    if (list.isEmpty()) {
      throw invalid(key, values.get(key), "a non-empty list of strings");
    }
    return list;
  }

  /** Fails on any parameter no getter asked for, naming the valid ones. */
  public void rejectUnknown() {
    for (String key : new TreeSet<>(values.keySet())) {
      if (!known.contains(key)) {
        String suggestion = closest(key, known);
        throw new RewardConfigException(
            prefix()
                + "unknown parameter '"
                + key
                + "'"
                + (suggestion == null ? "." : "; did you mean '" + suggestion + "'?")
                + (known.isEmpty()
                    ? " It takes no parameters."
                    : " Valid parameters: " + String.join(", ", known)));
      }
    }
  }

  /** An error for parameter {@code key}: {@code value} is not {@code expected}. */
  public RewardConfigException invalid(String key, Object value, String expected) {
    return new RewardConfigException(
        prefix() + "parameter '" + key + "' must be " + expected + ", found " + describe(value));
  }

  private RewardConfigException missing(String key, String expected) {
    return new RewardConfigException(
        prefix() + "parameter '" + key + "' is required (" + expected + ")");
  }

  private String prefix() {
    return subject + ": ";
  }

  private Object lookup(String key) {
    known.add(key);
    return values.get(key);
  }

  private long wholeNumber(String key, Object value, String expected) {
    if (value instanceof Integer || value instanceof Long || value instanceof Short) {
      return ((Number) value).longValue();
    }
    if (value instanceof java.math.BigInteger big && big.bitLength() < 63) {
      return big.longValue();
    }
    throw invalid(key, value, expected);
  }

  private static String atLeast(double min) {
    return min == 0 ? "a number >= 0" : "a number >= " + trim(min);
  }

  private static String trim(double x) {
    return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : Double.toString(x);
  }

  /** A value as the user wrote it: strings quoted, so {@code "1"} and {@code 1} differ. */
  static String describe(Object value) {
    if (value instanceof String text) {
      return "\"" + text + "\"";
    }
    return String.valueOf(value);
  }

  /** The known key within edit distance 2 of {@code key}, if any. */
  static String closest(String key, Collection<String> known) {
    String best = null;
    int bestDistance = 3;
    for (String candidate : known) {
      int distance = editDistance(key, candidate);
      if (distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
    return best;
  }

  private static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
