package rl.rewards.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import org.junit.jupiter.api.Test;

class MathExpressionTest {
  private static Fraction exact(String text) {
    MathExpression.Value value =
        MathExpression.parse(text).orElseThrow(() -> new AssertionError(text));
    assertTrue(value.isExact(), text + " should be exact, got " + value);
    return value.exact();
  }

  @Test
  void fractionsStayInLowestTermsWithAPositiveDenominator() {
    Fraction f = Fraction.of(6, -8);
    assertEquals(BigInteger.valueOf(-3), f.numerator());
    assertEquals(BigInteger.valueOf(4), f.denominator());
    assertEquals(Fraction.of(1, 2), Fraction.parseDecimal("0.50"));
    assertEquals(Fraction.of(3, 2000), Fraction.parseDecimal("1.5e-3"));
    assertEquals(Fraction.ZERO, Fraction.parseDecimal("0e999999999"));
    assertThrows(ArithmeticException.class, () -> Fraction.ONE.divide(Fraction.ZERO));
  }

  @Test
  void hugeDecimalExponentsAreRefusedNotComputed() {
    NumberFormatException e =
        assertThrows(NumberFormatException.class, () -> Fraction.parseDecimal("1e999999999"));
    assertTrue(e.getMessage().contains("beyond"), e.getMessage());
    assertEquals(BigInteger.TEN.pow(1000), Fraction.parseDecimal("1e1000").numerator());
  }

  @Test
  void precedenceAssociativityAndImplicitMultiplication() {
    assertEquals(Fraction.of(7), exact("1 + 2 * 3"));
    assertEquals(Fraction.of(-4), exact("-2^2"));
    assertEquals(Fraction.of(512), exact("2^3^2"));
    assertEquals(Fraction.of(1, 8), exact("2^{-3}"));
    assertEquals(Fraction.of(6), exact("2(3)"));
    assertEquals(Fraction.of(1, 4), exact("1/2/2"));
    assertEquals(Fraction.of(9), exact("27^{2/3}"));
    assertEquals(Fraction.of(2, 3), exact("\\sqrt{\\frac{4}{9}}"));
  }

  @Test
  void irrationalValuesBecomeApproximate() {
    MathExpression.Value value = MathExpression.parse("2\\sqrt{3}").orElseThrow();
    assertFalse(value.isExact());
    assertEquals(2 * Math.sqrt(3), value.approx(), 1e-12);
  }

  @Test
  void whatIsNotANumberIsEmpty() {
    for (String text :
        new String[] {"x", "2x", "1/0", "\\sin(1)", "(1", "1)", "", "1 2", "\\sqrt{-4}", "."}) {
      assertTrue(MathExpression.parse(text).isEmpty(), text);
    }
  }

  @Test
  void nestingAndLengthAreLimited() {
    String deep = "(".repeat(60) + "1" + ")".repeat(60);
    assertTrue(MathExpression.parse(deep).isEmpty());
    String shallow = "(".repeat(40) + "1" + ")".repeat(40);
    assertEquals(Fraction.ONE, exact(shallow));
    assertTrue(MathExpression.parse("1+".repeat(300) + "1").isEmpty()); // over MAX_LENGTH
    assertTrue(MathExpression.parse("-".repeat(100) + "1").isEmpty()); // unary chain
  }

  @Test
  void hugePowersFallBackToApproximateInsteadOfComputingForever() {
    MathExpression.Value value = MathExpression.parse("3^{1000000}").orElse(null);
    // 3^1000000 overflows a double, so it is not a finite number at all.
    assertEquals(null, value);
    assertEquals(BigInteger.TWO.pow(100), exact("2^{100}").numerator());
  }
}
