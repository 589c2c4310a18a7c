package rl.rewards.math;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import rl.rewards.math.MathExpression.Value;

/**
 * Decides whether two answers are the same, in three tiers: exactly as rationals when both read as
 * exact numbers; within {@code tolerance · max(1, |reference|)} when both read as numbers but one
 * is irrational ({@code \sqrt{2}}, {@code \pi}); else as normalised text. Tuples and intervals
 * ({@code (1, 2)}, {@code [0, 3)}) compare element by element, in order.
 */
public final class AnswerComparator {
  /** What {@code 50%} means. */
  public enum PercentRule {
    /** {@code 50%} is 50 (the convention of most math datasets). */
    STRIP,
    /** {@code 50%} is 0.5. */
    DIVIDE,
    /** {@code 50%} equals both 50 and 0.5. */
    EITHER;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** How two answers were found equal or not. */
  public enum Basis {
    /** Both exact rationals. */
    EXACT,
    /** Both numbers, at least one approximate: compared with the tolerance. */
    APPROXIMATE,
    /** Element by element, as tuples or intervals. */
    ELEMENTWISE,
    /** As normalised text. */
    TEXT;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The verdict, and the normalised forms it was reached on (for logs). */
  public record Comparison(boolean equal, Basis basis, String predicted, String reference) {}

  private static final Pattern COMMA_THOUSANDS =
      Pattern.compile("[+-]?\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?");
  private static final Pattern SPACE_THOUSANDS =
      Pattern.compile("[+-]?\\d{1,3}(?: \\d{3})+(?:\\.\\d+)?");
  private static final Pattern MIXED_NUMBER =
      Pattern.compile(
          "([+-]?)(\\d+)\\s*(?:\\\\frac\\s*\\{(\\d+)\\}\\s*\\{(\\d+)\\}|\\s(\\d+)\\s*/\\s*(\\d+))");
  private static final Pattern TRAILING_UNIT =
      Pattern.compile("(.*?\\S)\\s+[A-Za-z]+(?:\\s+[A-Za-z]+)*(?:\\^\\{?\\d+\\}?)?");
  private static final Pattern WORDS = Pattern.compile("[A-Za-z]+(?: [A-Za-z]+)*");
  private static final Pattern SINGLE_BRACED = Pattern.compile("\\{(\\\\?[A-Za-z0-9])\\}");

  private final double tolerance;
  private final PercentRule percent;

  /**
   * @param tolerance relative tolerance for approximate comparisons, e.g. {@code 1e-6}
   * @param percent what a trailing {@code %} means
   */
  public AnswerComparator(double tolerance, PercentRule percent) {
    if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
      throw new IllegalArgumentException("tolerance must be a finite number >= 0: " + tolerance);
    }
    this.tolerance = tolerance;
    this.percent = percent;
  }

  /** Compares a predicted answer with the reference; both as extracted, not yet normalised. */
  public Comparison compare(String predicted, String reference) {
    String p = AnswerNormalizer.normalize(predicted);
    String r = AnswerNormalizer.normalize(reference);
    return compareNormalized(p, r, 0);
  }

  private Comparison compareNormalized(String p, String r, int depth) {
    List<Value> pValues = numbers(p);
    List<Value> rValues = numbers(r);
    if (!pValues.isEmpty() && !rValues.isEmpty()) {
      boolean allExact = true;
      for (Value a : pValues) {
        for (Value b : rValues) {
          if (a.isExact() && b.isExact()) {
            if (a.exact().equals(b.exact())) {
              return new Comparison(true, Basis.EXACT, p, r);
            }
          } else {
            allExact = false;
            if (Math.abs(a.approx() - b.approx())
                <= tolerance * Math.max(1, Math.abs(b.approx()))) {
              return new Comparison(true, Basis.APPROXIMATE, p, r);
            }
          }
        }
      }
      return new Comparison(false, allExact ? Basis.EXACT : Basis.APPROXIMATE, p, r);
    }
    if (depth < 3) {
      Tuple pt = Tuple.split(p);
      Tuple rt = Tuple.split(r);
      if (pt != null && rt != null && pt.open == rt.open && pt.close == rt.close) {
        boolean equal = pt.elements.size() == rt.elements.size();
        for (int i = 0; equal && i < pt.elements.size(); i++) {
          equal = compareNormalized(pt.elements.get(i), rt.elements.get(i), depth + 1).equal();
        }
        return new Comparison(equal, Basis.ELEMENTWISE, p, r);
      }
    }
    return new Comparison(canonicalText(p).equals(canonicalText(r)), Basis.TEXT, p, r);
  }

  /**
   * The numbers a normalised answer can mean: none if it is not numeric, two for {@code 50%} under
   * {@link PercentRule#EITHER}.
   */
  List<Value> numbers(String s) {
    if (s.endsWith("%")) {
      Optional<Value> base = numberWithUnit(s.substring(0, s.length() - 1).strip());
      if (base.isEmpty()) {
        return List.of();
      }
      Value whole = base.get();
      Value divided =
          whole.isExact()
              ? Value.of(whole.exact().percent())
              : Value.approximate(whole.approx() / 100);
      return switch (percent) {
        case STRIP -> List.of(whole);
        case DIVIDE -> List.of(divided);
        case EITHER -> List.of(whole, divided);
      };
    }
    return numberWithUnit(s).map(List::of).orElse(List.of());
  }

  /** A number, possibly followed by a unit word ({@code 5 cm}, {@code 12 dollars}). */
  private static Optional<Value> numberWithUnit(String s) {
    Optional<Value> value = number(s);
    if (value.isEmpty()) {
      Matcher unit = TRAILING_UNIT.matcher(s);
      if (unit.matches()) {
        value = number(unit.group(1));
      }
    }
    return value;
  }

  private static Optional<Value> number(String s) {
    if (COMMA_THOUSANDS.matcher(s).matches()) {
      s = s.replace(",", "");
    } else if (SPACE_THOUSANDS.matcher(s).matches()) {
      s = s.replace(" ", "");
    }
    Matcher mixed = MIXED_NUMBER.matcher(s);
    if (mixed.matches()) {
      Optional<Value> value = mixedNumber(mixed);
      if (value.isPresent()) {
        return value;
      }
    }
    return MathExpression.parse(s);
  }

  /** {@code 2 1/2} or {@code 2\frac{1}{2}} as 5/2, when the fraction is proper. */
  private static Optional<Value> mixedNumber(Matcher m) {
    boolean latex = m.group(3) != null;
    Fraction whole = Fraction.parseDecimal(m.group(2));
    Fraction numerator = Fraction.parseDecimal(latex ? m.group(3) : m.group(5));
    Fraction denominator = Fraction.parseDecimal(latex ? m.group(4) : m.group(6));
    if (denominator.signum() == 0 || numerator.compareTo(denominator) >= 0) {
      return Optional.empty();
    }
    Fraction value = whole.add(numerator.divide(denominator));
    return Optional.of(Value.of(m.group(1).equals("-") ? value.negate() : value));
  }

  /** Text for the last tier: no spaces, {@code {x}} unbraced, and words in any case. */
  private static String canonicalText(String s) {
    if (WORDS.matcher(s).matches()) {
      return s.toLowerCase(Locale.ROOT);
    }
    String text = s.replace(" ", "");
    return SINGLE_BRACED.matcher(text).replaceAll(m -> Matcher.quoteReplacement(m.group(1)));
  }

  /** A bracketed or bare comma-separated list, split at its top-level commas. */
  private record Tuple(char open, char close, List<String> elements) {
    static Tuple split(String s) {
      char open = 0;
      char close = 0;
      String body = s;
      if (s.length() >= 2
          && (s.charAt(0) == '(' || s.charAt(0) == '[')
          && (s.endsWith(")") || s.endsWith("]"))
          && closingOfFirst(s) == s.length() - 1) {
        open = s.charAt(0);
        close = s.charAt(s.length() - 1);
        body = s.substring(1, s.length() - 1);
      }
      List<String> elements = new ArrayList<>();
      int depth = 0;
      int start = 0;
      for (int i = 0; i < body.length(); i++) {
        char c = body.charAt(i);
        if (c == '(' || c == '[' || c == '{') {
          depth++;
        } else if (c == ')' || c == ']' || c == '}') {
          depth--;
        } else if (c == ',' && depth == 0) {
          elements.add(body.substring(start, i).strip());
          start = i + 1;
        }
      }
      elements.add(body.substring(start).strip());
      return elements.size() >= 2 ? new Tuple(open, close, elements) : null;
    }

    /** Index of the bracket closing the one at index 0 (either kind: intervals mix them). */
    private static int closingOfFirst(String s) {
      int depth = 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c == '(' || c == '[') {
          depth++;
        } else if ((c == ')' || c == ']') && --depth == 0) {
          return i;
        }
      }
      return -1;
    }
  }
}
