package rl.rewards.countdown;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import rl.rewards.math.Fraction;

/**
 * A parsed countdown expression: integers combined with {@code + - × ÷} and parentheses.
 *
 * <p>Accepted operator spellings: {@code +}; {@code -} and the Unicode minus {@code −}; {@code *},
 * {@code ×}, {@code ·}, {@code \times}, {@code \cdot}; {@code /}, {@code ÷}, {@code \div}. Numbers
 * are ASCII digits only. Unary signs, implicit multiplication, powers and decimals are errors:
 * countdown combines the given numbers with the four binary operations and nothing else.
 */
public final class CountdownExpression {
  /** Longest number literal read; longer ones cannot be among a puzzle's numbers anyway. */
  public static final int MAX_DIGITS = 18;

  /** Why an expression was rejected; the message says what and where (1-based column). */
  public static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;

    Invalid(String message) {
      super(message, null, false, false);
    }
  }

  /** A node of the expression tree. */
  private sealed interface Node {}

  private record Num(BigInteger value) implements Node {}

  private record Op(char operator, Node left, Node right, int column) implements Node {}

  private final Node root;
  private final List<BigInteger> numbers;

  private CountdownExpression(Node root, List<BigInteger> numbers) {
    this.root = root;
    this.numbers = List.copyOf(numbers);
  }

  /** The number literals, in the order they appear. */
  public List<BigInteger> numbers() {
    return numbers;
  }

  /**
   * Parses {@code text}.
   *
   * @param maxLength longest accepted text, in characters
   * @param maxDepth deepest accepted nesting of parentheses
   * @param maxNumbers most number literals accepted (a puzzle's number count: more cannot be valid)
   */
  public static CountdownExpression parse(String text, int maxLength, int maxDepth, int maxNumbers)
      throws Invalid {
    if (text.length() > maxLength) {
      throw new Invalid(
          "expression is " + text.length() + " characters long, the limit is " + maxLength);
    }
    Parser parser = new Parser(text, maxDepth, maxNumbers);
    Node root = parser.expression();
    parser.skipSpaces();
    if (parser.pos < text.length()) {
      throw parser.unexpected();
    }
    return new CountdownExpression(root, parser.numbers);
  }

  /**
   * The exact value.
   *
   * @param integerIntermediates reject a step whose result is not an integer (the TV show's rule)
   */
  public Fraction evaluate(boolean integerIntermediates) throws Invalid {
    return evaluate(root, integerIntermediates);
  }

  private static Fraction evaluate(Node node, boolean integerIntermediates) throws Invalid {
    if (node instanceof Num num) {
      return Fraction.of(num.value());
    }
    Op op = (Op) node;
    Fraction left = evaluate(op.left(), integerIntermediates);
    Fraction right = evaluate(op.right(), integerIntermediates);
    Fraction result =
        switch (op.operator()) {
          case '+' -> left.add(right);
          case '-' -> left.subtract(right);
          case '*' -> left.multiply(right);
          default -> {
            if (right.signum() == 0) {
              throw new Invalid("division by zero at column " + op.column());
            }
            yield left.divide(right);
          }
        };
    if (integerIntermediates && !result.isInteger()) {
      throw new Invalid(
          "intermediate result " + result + " at column " + op.column() + " is not an integer");
    }
    return result;
  }

  /**
   * Recursive descent over the grammar {@code expr := term (±term)*, term := factor (×÷factor)*}.
   */
  private static final class Parser {
    private final String text;
    private final int maxDepth;
    private final int maxNumbers;
    private final List<BigInteger> numbers = new ArrayList<>();
    private int pos;
    private int depth;

    Parser(String text, int maxDepth, int maxNumbers) {
      this.text = text;
      this.maxDepth = maxDepth;
      this.maxNumbers = maxNumbers;
    }

    Node expression() throws Invalid {
      Node node = term();
      while (true) {
        skipSpaces();
        int column = pos + 1;
        char op = additive();
        if (op == 0) {
          return node;
        }
        node = new Op(op, node, term(), column);
      }
    }

    private Node term() throws Invalid {
      Node node = factor();
      while (true) {
        skipSpaces();
        int column = pos + 1;
        char op = multiplicative();
        if (op == 0) {
          return node;
        }
        node = new Op(op, node, factor(), column);
      }
    }

    private Node factor() throws Invalid {
      skipSpaces();
      if (pos >= text.length()) {
        throw new Invalid("expression ends where a number or '(' was expected");
      }
      char c = text.charAt(pos);
      if (c == '(') {
        if (++depth > maxDepth) {
          throw new Invalid("parentheses nested deeper than " + maxDepth);
        }
        int open = pos + 1;
        pos++;
        Node inner = expression();
        skipSpaces();
        if (pos >= text.length() || text.charAt(pos) != ')') {
          if (pos >= text.length()) {
            throw new Invalid("'(' at column " + open + " is never closed");
          }
          throw unexpected();
        }
        pos++;
        depth--;
        return inner;
      }
      if (c >= '0' && c <= '9') {
        int start = pos;
        while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
          pos++;
        }
        if (pos - start > MAX_DIGITS) {
          throw new Invalid(
              "number at column " + (start + 1) + " has more than " + MAX_DIGITS + " digits");
        }
        if (pos < text.length() && (text.charAt(pos) == '.' || text.charAt(pos) == ',')) {
          throw new Invalid(
              "number at column " + (start + 1) + " is not an integer (countdown uses integers)");
        }
        if (numbers.size() == maxNumbers) {
          throw new Invalid("uses more than the " + maxNumbers + " numbers given");
        }
        BigInteger value = new BigInteger(text.substring(start, pos));
        numbers.add(value);
        return new Num(value);
      }
      if (c == '-' || c == '+' || c == '\u2212') {
        throw new Invalid(
            "unary '" + c + "' at column " + (pos + 1) + ": only binary operations are allowed");
      }
      throw unexpected();
    }

    /** {@code +} or {@code -} (any spelling) consumed, or 0. */
    private char additive() {
      char c = pos < text.length() ? text.charAt(pos) : 0;
      if (c == '+') {
        pos++;
        return '+';
      }
      if (c == '-' || c == '\u2212') {
        pos++;
        return '-';
      }
      return 0;
    }

    /** {@code *} or {@code /} (any spelling) consumed, or 0. */
    private char multiplicative() {
      char c = pos < text.length() ? text.charAt(pos) : 0;
      if (c == '*' || c == '×' || c == '·') {
        pos++;
        return '*';
      }
      if (c == '/' || c == '÷') {
        pos++;
        return '/';
      }
      if (command("times") || command("cdot")) {
        return '*';
      }
      if (command("div")) {
        return '/';
      }
      return 0;
    }

    private boolean command(String name) {
      int end = pos + 1 + name.length();
      if (pos < text.length()
          && text.charAt(pos) == '\\'
          && text.startsWith(name, pos + 1)
          && (end >= text.length() || !Character.isLetter(text.charAt(end)))) {
        pos = end;
        return true;
      }
      return false;
    }

    void skipSpaces() {
      while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
        pos++;
      }
    }

    Invalid unexpected() {
      int cp = text.codePointAt(pos);
      String shown = new String(Character.toChars(cp));
      String code = cp < 128 ? "" : String.format(" (U+%04X)", cp);
      return new Invalid("unexpected '" + shown + "'" + code + " at column " + (pos + 1));
    }
  }
}
