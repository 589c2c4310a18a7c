package rl.rewards.math;

import java.math.BigInteger;
import java.util.Optional;

/**
 * Reads a normalised numeric answer ({@code 3/4}, {@code -2.5e3}, {@code \frac{\sqrt{3}}{2}},
 * {@code 1.5\times10^{-3}}, {@code 2\pi}) as a number, exactly where it can.
 *
 * <p>A recursive-descent parser over {@code + - * / ^}, parentheses and braces, {@code \frac},
 * {@code \sqrt} (with an optional index), {@code \pi}, {@code \cdot}, {@code \times}, {@code \div},
 * and implicit multiplication before a parenthesis or command ({@code 2\sqrt{3}}). Results stay
 * exact {@link Fraction}s until something irrational appears ({@code \pi}, a root that is not
 * exact), then become doubles. Anything else (a variable, an unknown command, a malformed
 * expression) is not a number: {@link #parse} returns empty and the caller compares text instead.
 */
public final class MathExpression {
  /** Longer answers are not parsed: they are compared as text. */
  public static final int MAX_LENGTH = 500;

  /** Most nested parentheses, braces and unary signs. */
  public static final int MAX_DEPTH = 50;

  /** Exact powers stop here (bits of the result); beyond it a power is approximated. */
  private static final long MAX_EXACT_BITS = 100_000;

  /**
   * A real number: exact when {@code exact} is not null, else the finite approximation {@code
   * approx}.
   */
  public record Value(Fraction exact, double approx) {
    static Value of(Fraction exact) {
      return new Value(exact, exact.doubleValue());
    }

    static Value approximate(double approx) {
      if (!Double.isFinite(approx)) {
        throw new NotANumber("not a finite real number");
      }
      return new Value(null, approx);
    }

    public boolean isExact() {
      return exact != null;
    }

    @Override
    public String toString() {
      return isExact() ? exact.toString() : Double.toString(approx);
    }
  }

  /** Why the text is not a number; internal, turned into an empty result. */
  private static final class NotANumber extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotANumber(String message) {
      super(message, null, false, false);
    }
  }

  private static final double PI = Math.PI;

  private final String text;
  private int pos;
  private int depth;

  private MathExpression(String text) {
    this.text = text;
  }

  /** The value of {@code text}, or empty if it is not a numeric expression this reads. */
  public static Optional<Value> parse(String text) {
    if (text.isEmpty() || text.length() > MAX_LENGTH) {
      return Optional.empty();
    }
    MathExpression parser = new MathExpression(text);
    try {
      Value value = parser.expression();
      parser.skipSpaces();
      if (parser.pos != text.length()) {
        return Optional.empty();
      }
      return Optional.of(value);
    } catch (NotANumber | ArithmeticException e) {
      return Optional.empty();
    }
  }

  // ---- grammar ----

  private Value expression() {
    Value value = term();
    while (true) {
      skipSpaces();
      if (eat('+')) {
        value = add(value, term());
      } else if (eat('-')) {
        value = add(value, negate(term()));
      } else {
        return value;
      }
    }
  }

  private Value term() {
    Value value = unary();
    while (true) {
      skipSpaces();
      if (eat('*') || eat('×') || eat('·') || eatCommand("times") || eatCommand("cdot")) {
        value = multiply(value, unary());
      } else if (eat('/') || eat('÷') || eatCommand("div")) {
        value = divide(value, unary());
      } else if (startsImplicitFactor()) {
        value = multiply(value, power());
      } else {
        return value;
      }
    }
  }

  private Value unary() {
    skipSpaces();
    if (peek() == '-' || peek() == '+') {
      boolean minus = text.charAt(pos++) == '-';
      enter();
      Value value = unary();
      depth--;
      return minus ? negate(value) : value;
    }
    return power();
  }

  private Value power() {
    Value base = atom();
    skipSpaces();
    if (eat('^')) {
      skipSpaces();
      Value exponent;
      if (peek() == '{') {
        exponent = braced();
      } else {
        exponent = unary(); // right-associative: 2^3^2 = 2^(3^2)
      }
      return power(base, exponent);
    }
    return base;
  }

  private Value atom() {
    skipSpaces();
    char c = peek();
    if (isDigit(c) || c == '.') {
      return number();
    }
    if (c == '(') {
      pos++;
      enter();
      Value value = expression();
      skipSpaces();
      expect(')');
      depth--;
      return value;
    }
    if (c == '{') {
      return braced();
    }
    if (c == 'π') {
      pos++;
      return Value.approximate(PI);
    }
    if (eatCommand("frac")) {
      Value numerator = argument();
      Value denominator = argument();
      return divide(numerator, denominator);
    }
    if (eatCommand("sqrt")) {
      Value index = Value.of(Fraction.of(2));
      skipSpaces();
      if (eat('[')) {
        enter();
        index = expression();
        skipSpaces();
        expect(']');
        depth--;
      }
      return root(argument(), index);
    }
    if (eatCommand("pi")) {
      return Value.approximate(PI);
    }
    throw new NotANumber("unexpected input at " + pos);
  }

  /** A {@code \frac} or {@code \sqrt} argument: {@code {...}}, one digit, or {@code \pi}. */
  private Value argument() {
    skipSpaces();
    char c = peek();
    if (c == '{') {
      return braced();
    }
    if (isDigit(c)) {
      pos++; // \frac12 is \frac{1}{2}
      return Value.of(Fraction.of(c - '0'));
    }
    if (eatCommand("pi")) {
      return Value.approximate(PI);
    }
    throw new NotANumber("expected an argument at " + pos);
  }

  private Value braced() {
    expect('{');
    enter();
    Value value = expression();
    skipSpaces();
    expect('}');
    depth--;
    return value;
  }

  private Value number() {
    int start = pos;
    while (isDigit(peek())) {
      pos++;
    }
    if (peek() == '.') {
      pos++;
      while (isDigit(peek())) {
        pos++;
      }
    }
    if (pos - start == 1 && text.charAt(start) == '.') {
      throw new NotANumber("lone '.' at " + start);
    }
    // An exponent only when digits follow: "2e" is not 2e0.
    if (peek() == 'e' || peek() == 'E') {
      int mark = pos;
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      if (isDigit(peek())) {
        while (isDigit(peek())) {
          pos++;
        }
      } else {
        pos = mark;
      }
    }
    try {
      return Value.of(Fraction.parseDecimal(text.substring(start, pos)));
    } catch (NumberFormatException e) {
      throw new NotANumber(e.getMessage());
    }
  }

  private boolean startsImplicitFactor() {
    char c = peek();
    if (c == '(' || c == '{' || c == 'π') {
      return true;
    }
    return startsCommand("frac") || startsCommand("sqrt") || startsCommand("pi");
  }

  // ---- arithmetic ----

  private static Value add(Value a, Value b) {
    if (a.isExact() && b.isExact()) {
      return Value.of(a.exact().add(b.exact()));
    }
    return Value.approximate(a.approx() + b.approx());
  }

  private static Value negate(Value a) {
    return a.isExact() ? Value.of(a.exact().negate()) : Value.approximate(-a.approx());
  }

  private static Value multiply(Value a, Value b) {
    if (a.isExact() && b.isExact()) {
      return Value.of(a.exact().multiply(b.exact()));
    }
    return Value.approximate(a.approx() * b.approx());
  }

  private static Value divide(Value a, Value b) {
    if (b.isExact() ? b.exact().signum() == 0 : b.approx() == 0) {
      throw new NotANumber("division by zero");
    }
    if (a.isExact() && b.isExact()) {
      return Value.of(a.exact().divide(b.exact()));
    }
    return Value.approximate(a.approx() / b.approx());
  }

  private static Value power(Value base, Value exponent) {
    if (base.isExact() && exponent.isExact()) {
      Fraction e = exponent.exact();
      BigInteger q = e.denominator();
      // x^(p/q) is exact when x has an exact q-th root; q = 1 is an ordinary integer power.
      if (q.bitLength() <= 7 && e.numerator().bitLength() <= 31) {
        Fraction rooted = q.equals(BigInteger.ONE) ? base.exact() : exactRoot(base.exact(), q);
        int p = e.numerator().intValueExact();
        if (rooted != null && rooted.bitLength() * (long) Math.abs(p) <= MAX_EXACT_BITS) {
          return Value.of(rooted.pow(p));
        }
      }
    }
    return Value.approximate(Math.pow(base.approx(), exponent.approx()));
  }

  private static Value root(Value radicand, Value index) {
    if (index.isExact() && index.exact().isInteger() && index.exact().signum() > 0) {
      BigInteger n = index.exact().numerator();
      if (radicand.isExact() && n.bitLength() <= 7) {
        Fraction exact = exactRoot(radicand.exact(), n);
        if (exact != null) {
          return Value.of(exact);
        }
      }
      double x = radicand.approx();
      int k = n.bitLength() <= 31 ? n.intValue() : Integer.MAX_VALUE;
      if (x < 0 && k % 2 == 1) {
        return Value.approximate(-Math.pow(-x, 1.0 / k));
      }
      return Value.approximate(Math.pow(x, 1.0 / k)); // NaN for an even root of a negative
    }
    throw new NotANumber("root index must be a positive integer");
  }

  /** The exact {@code n}-th root of {@code x}, or null when it is irrational. */
  private static Fraction exactRoot(Fraction x, BigInteger n) {
    int k = n.intValue();
    if (x.bitLength() > 8192) {
      return null;
    }
    if (x.signum() < 0) {
      if (k % 2 == 0) {
        return null;
      }
      Fraction positive = exactRoot(x.negate(), n);
      return positive == null ? null : positive.negate();
    }
    BigInteger numerator = integerRoot(x.numerator(), k);
    BigInteger denominator = integerRoot(x.denominator(), k);
    if (numerator == null || denominator == null) {
      return null;
    }
    return Fraction.of(numerator, denominator);
  }

  /** The exact non-negative integer {@code k}-th root of {@code x >= 0}, or null. */
  private static BigInteger integerRoot(BigInteger x, int k) {
    if (k == 1) {
      return x;
    }
    BigInteger root;
    if (k == 2) {
      root = x.sqrt();
    } else {
      // Binary search: the root has at most bitLength/k + 1 bits.
      BigInteger low = BigInteger.ZERO;
      BigInteger high = BigInteger.ONE.shiftLeft(x.bitLength() / k + 1);
      while (low.compareTo(high) < 0) {
        BigInteger mid = low.add(high).add(BigInteger.ONE).shiftRight(1);
        if (mid.pow(k).compareTo(x) <= 0) {
          low = mid;
        } else {
          high = mid.subtract(BigInteger.ONE);
        }
      }
      root = low;
    }
    return root.pow(k).equals(x) ? root : null;
  }

  // ---- scanning ----

  private void enter() {
    if (++depth > MAX_DEPTH) {
      throw new NotANumber("nested deeper than " + MAX_DEPTH);
    }
  }

  private char peek() {
    return pos < text.length() ? text.charAt(pos) : '\0';
  }

  private boolean eat(char c) {
    if (peek() == c) {
      pos++;
      return true;
    }
    return false;
  }

  private void expect(char c) {
    if (!eat(c)) {
      throw new NotANumber("expected '" + c + "' at " + pos);
    }
  }

  private void skipSpaces() {
    while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
      pos++;
    }
  }

  /**
   * Whether {@code \name} starts here, not followed by another letter ({@code \pi} in {@code
   * \pix}).
   */
  private boolean startsCommand(String name) {
    int end = pos + 1 + name.length();
    return peek() == '\\'
        && text.startsWith(name, pos + 1)
        && (end >= text.length() || !Character.isLetter(text.charAt(end)));
  }

  private boolean eatCommand(String name) {
    skipSpaces();
    if (startsCommand(name)) {
      pos += 1 + name.length();
      return true;
    }
    return false;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
