package rl.rewards.countdown;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import rl.rewards.Params;
import rl.rewards.Problem;
import rl.rewards.RewardFunction;
import rl.rewards.RewardFunctionFactory;
import rl.rewards.RewardInput;
import rl.rewards.RewardResult;
import rl.rewards.SyncRewardFunction;
import rl.rewards.math.Fraction;

/**
 * {@code countdown}: 1 when the completion's expression uses only the problem's numbers, each at
 * most once, and equals its target exactly; {@code format_score} when the expression is valid but
 * misses the target; else 0.
 *
 * <p>The problem's metadata holds the puzzle: {@code numbers} (a list of integers) and {@code
 * target} (an integer); the keys can be renamed with {@code numbers_key} and {@code target_key}.
 * The expression is the content of the last {@code <answer>...</answer>} block; with {@code
 * extract: auto} (the default) a completion without one falls back to its last {@code \boxed{}},
 * then its last non-empty line. An expression may end with {@code = N}, which must then be its
 * value.
 *
 * <p>Other parameters: {@code use_all} (every number exactly once; default false), {@code
 * integer_intermediates} (every step must give an integer; default false), {@code format_score}
 * (default 0), {@code answer_tag} (default {@code answer}), {@code max_length} (characters of the
 * expression; default 1000), {@code max_depth} (parentheses; default 32).
 */
public final class CountdownReward extends SyncRewardFunction {
  public static final String NAME = "countdown";

  /** How the puzzle is configured and judged. */
  public record Settings(
      String numbersKey,
      String targetKey,
      boolean useAll,
      boolean integerIntermediates,
      double formatScore,
      String answerTag,
      boolean tagOnly,
      int maxLength,
      int maxDepth) {
    public static final Settings DEFAULTS =
        new Settings("numbers", "target", false, false, 0, "answer", false, 1000, 32);
  }

  private final Settings settings;
  private final Pattern answerBlock;

  public CountdownReward(Settings settings) {
    super(NAME);
    this.settings = settings;
    this.answerBlock =
        Pattern.compile(
            "<"
                + Pattern.quote(settings.answerTag())
                + ">(.*?)</"
                + Pattern.quote(settings.answerTag())
                + ">",
            Pattern.DOTALL);
  }

  @Override
  protected RewardResult scoreSync(RewardInput input) {
    List<BigInteger> given = numbers(input.problem());
    BigInteger target = target(input.problem());
    String completion = input.completion();
    String source = "answer_tag";
    String text = lastBlock(completion);
    if (text == null) {
      if (settings.tagOnly()) {
        return RewardResult.of(0)
            .withInfo(
                "reason",
                "no <" + settings.answerTag() + ">...</" + settings.answerTag() + "> block");
      }
      text = lastBoxed(completion);
      source = "boxed";
      if (text == null) {
        text = lastLine(completion);
        source = "last_line";
      }
    }
    if (text.isBlank()) {
      return RewardResult.of(0)
          .withInfo("reason", "empty answer")
          .withInfo("extracted_from", source);
    }
    RewardResult result = judge(text.strip(), given, target);
    return result.withInfo("extracted_from", source);
  }

  /** Scores one candidate expression against the puzzle. */
  private RewardResult judge(String text, List<BigInteger> given, BigInteger target) {
    String expression = text;
    String claimed = null;
    int equals = text.indexOf('=');
    if (equals >= 0) {
      if (equals != text.lastIndexOf('=')) {
        return failure(text, "more than one '='");
      }
      String left = text.substring(0, equals).strip();
      String right = text.substring(equals + 1).strip();
      // "24 = 4 * 6" is as common as "4 * 6 = 24": the expression is the side with operators.
      boolean leftPlain = isPlainNumber(left);
      boolean rightPlain = isPlainNumber(right);
      if (leftPlain && !rightPlain) {
        expression = right;
        claimed = left;
      } else if (rightPlain) {
        expression = left;
        claimed = right;
      } else {
        return failure(text, "neither side of '=' is a plain number");
      }
    }
    CountdownExpression parsed;
    Fraction value;
    try {
      parsed =
          CountdownExpression.parse(
              expression, settings.maxLength(), settings.maxDepth(), given.size());
      String misuse = checkNumbers(parsed.numbers(), given);
      if (misuse != null) {
        return failure(expression, misuse);
      }
      value = parsed.evaluate(settings.integerIntermediates());
    } catch (CountdownExpression.Invalid e) {
      return failure(expression, e.getMessage());
    }
    RewardResult result =
        RewardResult.of(0).withInfo("expression", expression).withInfo("value", value.toString());
    if (claimed != null && !Fraction.parseDecimal(claimed).equals(value)) {
      return new RewardResult(0, Map.of(), result.info())
          .withInfo("reason", "claims " + claimed + " but the expression equals " + value);
    }
    if (value.equals(Fraction.of(target))) {
      return new RewardResult(1, Map.of(), result.info());
    }
    return new RewardResult(settings.formatScore(), Map.of(), result.info())
        .withInfo("reason", "equals " + value + ", the target is " + target);
  }

  /** Why {@code used} is not a sub-multiset of {@code given} (or not all of it), or null. */
  private String checkNumbers(List<BigInteger> used, List<BigInteger> given) {
    List<BigInteger> left = new ArrayList<>(given);
    for (BigInteger number : used) {
      if (!left.remove(number)) {
        return given.contains(number)
            ? "uses " + number + " more often than given " + given
            : "uses " + number + ", which is not among the numbers " + given;
      }
    }
    if (settings.useAll() && !left.isEmpty()) {
      return "leaves " + left + " unused; every number must be used";
    }
    return null;
  }

  private static RewardResult failure(String expression, String reason) {
    String shown = expression.length() > 200 ? expression.substring(0, 200) + "..." : expression;
    return RewardResult.of(0).withInfo("expression", shown).withInfo("reason", reason);
  }

  private static boolean isPlainNumber(String text) {
    return text.matches("\\d{1," + CountdownExpression.MAX_DIGITS + "}");
  }

  private String lastBlock(String completion) {
    Matcher matcher = answerBlock.matcher(completion);
    String last = null;
    while (matcher.find()) {
      last = matcher.group(1);
    }
    return last;
  }

  private static String lastBoxed(String completion) {
    int start = completion.lastIndexOf("\\boxed{");
    if (start < 0) {
      return null;
    }
    int depth = 0;
    for (int i = start + "\\boxed".length(); i < completion.length(); i++) {
      char c = completion.charAt(i);
      if (c == '{') {
        depth++;
      } else if (c == '}' && --depth == 0) {
        return completion.substring(start + "\\boxed{".length(), i);
      }
    }
    return null;
  }

  private static String lastLine(String completion) {
    String[] lines = completion.strip().split("\n");
    return lines[lines.length - 1];
  }

  // ---- the puzzle, from the problem's metadata ----

  private List<BigInteger> numbers(Problem problem) {
    Object value = problem.metadata().get(settings.numbersKey());
    if (!(value instanceof List<?> list) || list.isEmpty()) {
      throw badPuzzle(problem, settings.numbersKey(), value, "a non-empty list of integers");
    }
    List<BigInteger> numbers = new ArrayList<>(list.size());
    for (Object item : list) {
      BigInteger number = integer(item);
      if (number == null) {
        throw badPuzzle(problem, settings.numbersKey(), value, "a non-empty list of integers");
      }
      numbers.add(number);
    }
    return numbers;
  }

  private BigInteger target(Problem problem) {
    Object value = problem.metadata().get(settings.targetKey());
    BigInteger target = integer(value);
    if (target == null) {
      throw badPuzzle(problem, settings.targetKey(), value, "an integer");
    }
    return target;
  }

  /** An integer from JSON: a whole number, or a string of digits. */
  private static BigInteger integer(Object value) {
    try {
      if (value instanceof Integer || value instanceof Long || value instanceof Short) {
        return BigInteger.valueOf(((Number) value).longValue());
      }
      if (value instanceof BigInteger big) {
        return big;
      }
      if (value instanceof BigDecimal decimal) {
        return decimal.toBigIntegerExact();
      }
      if (value instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e15) {
        return BigInteger.valueOf(d.longValue());
      }
      if (value instanceof String text && text.strip().matches("-?\\d{1,18}")) {
        return new BigInteger(text.strip());
      }
    } catch (ArithmeticException e) {
      return null; // a fraction where an integer belongs
    }
    return null;
  }

  private static IllegalArgumentException badPuzzle(
      Problem problem, String key, Object value, String expected) {
    return new IllegalArgumentException(
        "problem '"
            + problem.id()
            + "': metadata '"
            + key
            + "' must be "
            + expected
            + ", found "
            + (value == null ? "nothing" : value)
            + (value == null ? " (metadata keys: " + problem.metadata().keySet() + ")" : ""));
  }

  /** Registers {@code countdown}. */
  public static final class Factory implements RewardFunctionFactory {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public String description() {
      return "1 if the expression uses the given numbers at most once each and hits the target";
    }

    @Override
    public RewardFunction create(Map<String, Object> params) {
      Params p = Params.of(NAME, params);
      Settings d = Settings.DEFAULTS;
      String numbersKey = p.string("numbers_key", d.numbersKey());
      String targetKey = p.string("target_key", d.targetKey());
      boolean useAll = p.bool("use_all", d.useAll());
      boolean integerIntermediates = p.bool("integer_intermediates", d.integerIntermediates());
      double formatScore = p.number("format_score", d.formatScore(), Double.NEGATIVE_INFINITY);
      String answerTag = p.string("answer_tag", d.answerTag());
      if (!answerTag.matches("[A-Za-z][A-Za-z0-9_-]*")) {
        throw p.invalid("answer_tag", answerTag, "a tag name such as answer");
      }
      boolean tagOnly = p.choice("extract", "auto", List.of("auto", "tag")).equals("tag");
      int maxLength = p.integer("max_length", d.maxLength(), 1, 100_000);
      int maxDepth = p.integer("max_depth", d.maxDepth(), 1, 1000);
      p.rejectUnknown();
      return new CountdownReward(
          new Settings(
              numbersKey,
              targetKey,
              useAll,
              integerIntermediates,
              formatScore,
              answerTag,
              tagOnly,
              maxLength,
              maxDepth));
    }
  }
}
