package rl.rewards.math;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.Objects;

/**
 * An exact rational number {@code numerator / denominator} over {@link BigInteger}, always in
 * lowest terms with a positive denominator, so equal values are {@link #equals equal}.
 */
public final class Fraction implements Comparable<Fraction> {
  public static final Fraction ZERO = new Fraction(BigInteger.ZERO, BigInteger.ONE);
  public static final Fraction ONE = new Fraction(BigInteger.ONE, BigInteger.ONE);

  /**
   * Largest decimal exponent {@link #parseDecimal} accepts: {@code 1e100000} would be a 330,000-bit
   * integer, a cheap way for a completion to make a verifier slow.
   */
  public static final int MAX_DECIMAL_EXPONENT = 1000;

  private static final BigInteger HUNDRED = BigInteger.valueOf(100);

  private final BigInteger numerator;
  private final BigInteger denominator;

  private Fraction(BigInteger numerator, BigInteger denominator) {
    this.numerator = numerator;
    this.denominator = denominator;
  }

  public static Fraction of(long value) {
    return new Fraction(BigInteger.valueOf(value), BigInteger.ONE);
  }

  public static Fraction of(BigInteger value) {
    return new Fraction(value, BigInteger.ONE);
  }

  /** {@code numerator / denominator}, reduced. */
  public static Fraction of(BigInteger numerator, BigInteger denominator) {
    if (denominator.signum() == 0) {
      throw new ArithmeticException("division by zero");
    }
    if (denominator.signum() < 0) {
      numerator = numerator.negate();
      denominator = denominator.negate();
    }
    BigInteger gcd = numerator.gcd(denominator);
    if (!gcd.equals(BigInteger.ONE)) {
      numerator = numerator.divide(gcd);
      denominator = denominator.divide(gcd);
    }
    return new Fraction(numerator, denominator);
  }

  public static Fraction of(long numerator, long denominator) {
    return of(BigInteger.valueOf(numerator), BigInteger.valueOf(denominator));
  }

  /**
   * Parses a plain decimal exactly: {@code 12}, {@code -0.5}, {@code .25}, {@code 3.}, {@code
   * 1.5e-3}. No thousands separators.
   *
   * @throws NumberFormatException if {@code text} is not such a number or its exponent exceeds
   *     {@link #MAX_DECIMAL_EXPONENT} in size
   */
  public static Fraction parseDecimal(String text) {
    BigDecimal decimal = new BigDecimal(text);
    return of(decimal);
  }

  /** The exact value of {@code decimal}. */
  public static Fraction of(BigDecimal decimal) {
    if (decimal.signum() == 0) {
      return ZERO; // 0e999999999 is zero, whatever its scale
    }
    int scale = decimal.scale();
    int digits = decimal.precision();
    // The value is about 10^(digits - scale - 1): refuse to build huge powers of ten. (A long
    // fraction part is fine: its cost is bounded by the length of the text itself.)
    if (Math.abs((long) digits - scale - 1) > MAX_DECIMAL_EXPONENT) {
      throw new NumberFormatException(
          "exponent of " + decimal + " is beyond ±" + MAX_DECIMAL_EXPONENT);
    }
    BigInteger unscaled = decimal.unscaledValue();
    if (scale <= 0) {
      return of(unscaled.multiply(BigInteger.TEN.pow(-scale)));
    }
    return of(unscaled, BigInteger.TEN.pow(scale));
  }

  public BigInteger numerator() {
    return numerator;
  }

  public BigInteger denominator() {
    return denominator;
  }

  public boolean isInteger() {
    return denominator.equals(BigInteger.ONE);
  }

  public int signum() {
    return numerator.signum();
  }

  public Fraction add(Fraction other) {
    if (denominator.equals(other.denominator)) {
      return of(numerator.add(other.numerator), denominator);
    }
    return of(
        numerator.multiply(other.denominator).add(other.numerator.multiply(denominator)),
        denominator.multiply(other.denominator));
  }

  public Fraction subtract(Fraction other) {
    return add(other.negate());
  }

  public Fraction multiply(Fraction other) {
    return of(numerator.multiply(other.numerator), denominator.multiply(other.denominator));
  }

  /**
   * @throws ArithmeticException when {@code other} is zero
   */
  public Fraction divide(Fraction other) {
    if (other.signum() == 0) {
      throw new ArithmeticException("division by zero");
    }
    return of(numerator.multiply(other.denominator), denominator.multiply(other.numerator));
  }

  public Fraction negate() {
    return new Fraction(numerator.negate(), denominator);
  }

  /** This value divided by 100: what {@code x%} means as a number. */
  public Fraction percent() {
    return of(numerator, denominator.multiply(HUNDRED));
  }

  /**
   * {@code this^exponent} for an integer exponent.
   *
   * @throws ArithmeticException for {@code 0^negative}
   */
  public Fraction pow(int exponent) {
    if (exponent < 0) {
      if (signum() == 0) {
        throw new ArithmeticException("division by zero");
      }
      return of(denominator.pow(-exponent), numerator.pow(-exponent));
    }
    return new Fraction(numerator.pow(exponent), denominator.pow(exponent));
  }

  /** Bits of numerator and denominator together: a measure of how costly further work is. */
  public long bitLength() {
    return (long) numerator.bitLength() + denominator.bitLength();
  }

  /** The nearest double (infinite when the value is beyond the double range). */
  public double doubleValue() {
    if (isInteger()) {
      return numerator.doubleValue();
    }
    return new BigDecimal(numerator)
        .divide(new BigDecimal(denominator), MathContext.DECIMAL64)
        .doubleValue();
  }

  @Override
  public int compareTo(Fraction other) {
    return numerator.multiply(other.denominator).compareTo(other.numerator.multiply(denominator));
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Fraction that
        && numerator.equals(that.numerator)
        && denominator.equals(that.denominator);
  }

  @Override
  public int hashCode() {
    return Objects.hash(numerator, denominator);
  }

  /** {@code 3}, {@code -1/2}. */
  @Override
  public String toString() {
    return isInteger() ? numerator.toString() : numerator + "/" + denominator;
  }
}
