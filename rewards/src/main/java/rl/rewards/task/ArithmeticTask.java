package rl.rewards.task;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import rl.rewards.Message;
import rl.rewards.Params;
import rl.rewards.Problem;
import rl.rewards.RewardConfigException;
import rl.rewards.task.DistinctDraws.Draw;

/**
 * Synthetic {@code a op b} problems, scored by the {@code math} reward.
 *
 * <p>Parameters: {@code digits} (digits per operand, 1 to 18; default 3; 1 means 0 to 9), {@code
 * operators} (any of {@code + - * /}; default {@code [+, -]}), {@code carry} (for {@code +} and
 * {@code -}: {@code any}, {@code none} (no column carries or borrows: the easy case) or {@code
 * required} (at least one does); default {@code any}), {@code eval_fraction} (share of all problems
 * reserved for eval; default 0.1), {@code template} (the user message, with {@code {expression}};
 * see {@link Template}).
 *
 * <p>Subtraction never goes below zero ({@code a >= b}); division is exact: {@code a = b · q} with
 * {@code b} and {@code q} of {@code digits} digits, {@code b > 0}.
 */
public final class ArithmeticTask implements ProblemGenerator {
  public static final String NAME = "arithmetic";
  public static final String DEFAULT_TEMPLATE =
      "What is {expression}? Put the final answer in \\boxed{}.";

  /** How many columns of an addition or subtraction carry (or borrow). */
  public enum Carry {
    ANY,
    NONE,
    REQUIRED;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The generator's settings; see the class notes. */
  public record Settings(
      int digits, List<Character> operators, Carry carry, double evalFraction, String template) {
    public Settings {
      if (digits < 1 || digits > 18) {
        throw new IllegalArgumentException("digits must be in [1, 18], found " + digits);
      }
      operators = List.copyOf(operators);
      if (operators.isEmpty()) {
        throw new IllegalArgumentException("operators must not be empty");
      }
      for (char op : operators) {
        if ("+-*/".indexOf(op) < 0) {
          throw new IllegalArgumentException("operators must be among + - * /, found " + op);
        }
      }
      if (carry != Carry.ANY && !operators.contains('+') && !operators.contains('-')) {
        throw new IllegalArgumentException(
            "carry: "
                + carry.key()
                + " applies to + and -, which operators "
                + operators
                + " lack");
      }
      if (!(evalFraction >= 0 && evalFraction <= 1)) {
        throw new IllegalArgumentException(
            "eval_fraction must be in [0, 1], found " + evalFraction);
      }
      if (!Template.of(template).names().equals(List.of("expression"))) {
        throw new IllegalArgumentException(
            "template must contain the placeholder {expression} once and no other, found \""
                + template
                + "\"");
      }
    }
  }

  private final Settings settings;

  public ArithmeticTask(Settings settings) {
    this.settings = settings;
  }

  /** A generator from config parameters, checked like a reward's. */
  public static ArithmeticTask fromParams(Map<String, Object> params) {
    Params p = Params.about("task '" + NAME + "'", params);
    int digits = p.integer("digits", 3, 1, 18);
    List<Character> operators = new ArrayList<>();
    for (String op : p.strings("operators", List.of("+", "-"))) {
      if (op.length() != 1 || "+-*/".indexOf(op.charAt(0)) < 0) {
        throw p.invalid("operators", op, "a list of + - * /");
      }
      operators.add(op.charAt(0));
    }
    List<String> carries = Arrays.stream(Carry.values()).map(Carry::key).toList();
    Carry carry = Carry.valueOf(p.choice("carry", "any", carries).toUpperCase(Locale.ROOT));
    double evalFraction = p.number("eval_fraction", 0.1, 0);
    String template = p.string("template", DEFAULT_TEMPLATE);
    p.rejectUnknown();
    try {
      return new ArithmeticTask(new Settings(digits, operators, carry, evalFraction, template));
    } catch (IllegalArgumentException e) {
      throw new RewardConfigException("task '" + NAME + "': " + e.getMessage(), e);
    }
  }

  @Override
  public String name() {
    return NAME;
  }

  public Settings settings() {
    return settings;
  }

  @Override
  public List<Problem> generate(Split split, int count, long seed) {
    return DistinctDraws.draw(
        NAME,
        "digits "
            + settings.digits()
            + ", operators "
            + settings.operators()
            + ", carry "
            + settings.carry().key(),
        split,
        count,
        seed,
        settings.evalFraction(),
        this::drawOne);
  }

  private Draw drawOne(SplittableRandom random) {
    char op = settings.operators().get(random.nextInt(settings.operators().size()));
    long a;
    long b;
    BigInteger result;
    switch (op) {
      case '+' -> {
        long[] pair = addends(random);
        a = pair[0];
        b = pair[1];
        result = BigInteger.valueOf(a).add(BigInteger.valueOf(b));
      }
      case '-' -> {
        long[] pair = subtraction(random);
        a = pair[0];
        b = pair[1];
        result = BigInteger.valueOf(a - b);
      }
      case '*' -> {
        a = operand(random);
        b = operand(random);
        result = BigInteger.valueOf(a).multiply(BigInteger.valueOf(b));
      }
      default -> {
        long divisor;
        do {
          divisor = operand(random);
        } while (divisor == 0);
        long quotient = operand(random);
        BigInteger dividend = BigInteger.valueOf(divisor).multiply(BigInteger.valueOf(quotient));
        String expression = dividend + " / " + divisor;
        return problem(
            expression,
            BigInteger.valueOf(quotient),
            dividend.toString(),
            Long.toString(divisor),
            op);
      }
    }
    return problem(a + " " + op + " " + b, result, Long.toString(a), Long.toString(b), op);
  }

  private Draw problem(String expression, BigInteger answer, String a, String b, char op) {
    String key = NAME + ":" + expression.replace(" ", "");
    Problem problem =
        new Problem(
            key,
            List.of(
                Message.user(
                    Template.of(settings.template()).render(Map.of("expression", expression)))),
            answer.toString(),
            Map.of("expression", expression, "a", a, "b", b, "operator", String.valueOf(op)));
    return new Draw(key, problem);
  }

  /** A uniform operand of exactly {@code digits} digits (0 to 9 for one digit). */
  private long operand(SplittableRandom random) {
    int d = settings.digits();
    if (d == 1) {
      return random.nextLong(10);
    }
    long low = pow10(d - 1);
    return random.nextLong(low, low * 10);
  }

  private long[] addends(SplittableRandom random) {
    if (settings.carry() == Carry.NONE) {
      return columns(random, false);
    }
    while (true) {
      long a = operand(random);
      long b = operand(random);
      if (settings.carry() == Carry.ANY || carries(a, b, false)) {
        return new long[] {a, b};
      }
    }
  }

  private long[] subtraction(SplittableRandom random) {
    if (settings.carry() == Carry.NONE) {
      return columns(random, true);
    }
    while (true) {
      long a = operand(random);
      long b = operand(random);
      if (a < b) {
        long swap = a;
        a = b;
        b = swap;
      }
      if (settings.carry() == Carry.ANY || carries(a, b, true)) {
        return new long[] {a, b};
      }
    }
  }

  /**
   * Operands built column by column so that no column carries ({@code a_i + b_i <= 9}) or borrows
   * ({@code b_i <= a_i}): rejection sampling would need thousands of draws at 18 digits.
   */
  private long[] columns(SplittableRandom random, boolean subtract) {
    int d = settings.digits();
    long a = 0;
    long b = 0;
    for (int column = 0; column < d; column++) {
      boolean leading = column == 0 && d > 1; // the leading digits must not be 0
      int low = leading ? 1 : 0;
      int da;
      int db;
      if (subtract) {
        da = random.nextInt(low, 10);
        db = random.nextInt(low, da + 1);
      } else {
        da = random.nextInt(low, 10 - low);
        db = random.nextInt(low, 10 - da);
      }
      a = a * 10 + da;
      b = b * 10 + db;
    }
    return new long[] {a, b};
  }

  /** Whether any column of {@code a + b} carries, or of {@code a - b} borrows. */
  static boolean carries(long a, long b, boolean subtract) {
    int carry = 0;
    while (a > 0 || b > 0) {
      int da = (int) (a % 10);
      int db = (int) (b % 10);
      if (subtract) {
        carry = da - carry < db ? 1 : 0;
      } else {
        carry = da + db + carry >= 10 ? 1 : 0;
      }
      if (carry == 1) {
        return true;
      }
      a /= 10;
      b /= 10;
    }
    return false;
  }

  private static long pow10(int exponent) {
    long value = 1;
    for (int i = 0; i < exponent; i++) {
      value *= 10;
    }
    return value;
  }
}
