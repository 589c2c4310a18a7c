package rl.core.chat;

import com.hubspot.jinjava.el.ext.NamedParameter;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.util.ForLoop;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Python semantics for the values a chat template handles, as Jinja2 gives them: truth, {@code
 * str()}, equality and ordering, arithmetic, indexing and slicing, the {@code str}/{@code
 * dict}/{@code list} methods templates call, and Jinja2's tests.
 *
 * <p>Compiled templates call these as {@code py:NAME(...)} functions (see {@link JinjaCompiler}),
 * so expression semantics do not depend on Jinjava's EL, which coerces types the Java way ({@code
 * 'false'} is falsy, {@code '1' == 1} is true, {@code not a == b} binds as {@code (not a) == b}).
 *
 * <p>Values: {@code null} is Jinja2's undefined and {@link PyNone#NONE} is Python's None; integers
 * are {@code Long} (or {@code BigInteger} when large), floats {@code Double}, sequences {@code
 * List} (a {@link PyTuple} for tuples) or arrays, mappings {@code Map}.
 */
final class Py {
  private Py() {}

  /** Raised for Python's TypeError/ValueError/...: the message says what Python would. */
  static final class PyError extends RuntimeException {
    PyError(String message) {
      super(message);
    }
  }

  // ---------------------------------------------------------------- values

  static Object unwrap(Object o) {
    if (o instanceof SafeString s) {
      return s.getValue();
    }
    if (o instanceof Character c) {
      return c.toString();
    }
    return o;
  }

  /** A value read from data (a map, a list, a binding): a Java null there is Python's None. */
  static Object value(Object o) {
    return o == null ? PyNone.NONE : normalize(o);
  }

  /** Integral numbers as Long (BigInteger when too large), other numbers as Double. */
  static Object normalize(Object o) {
    o = unwrap(o);
    return switch (o) {
      case Long l -> l;
      case Integer i -> (long) i;
      case Short s -> (long) s;
      case Byte b -> (long) b;
      case BigInteger b -> b.bitLength() < 64 ? (Object) b.longValue() : b;
      case Double d -> d;
      case Float f -> (double) f;
      case BigDecimal d -> d.doubleValue();
      case Number n -> n.doubleValue();
      case null, default -> o;
    };
  }

  static boolean isInt(Object o) {
    return o instanceof Long
        || o instanceof BigInteger
        || o instanceof Integer
        || o instanceof Short
        || o instanceof Byte;
  }

  /** Python's numbers, bool included (True == 1). */
  static boolean isNumber(Object o) {
    return o instanceof Number || o instanceof Boolean;
  }

  static BigInteger big(Object o) {
    o = normalize(o);
    if (o instanceof Boolean b) {
      return b ? BigInteger.ONE : BigInteger.ZERO;
    }
    return o instanceof BigInteger b ? b : BigInteger.valueOf((Long) o);
  }

  static double dbl(Object o) {
    o = normalize(o);
    if (o instanceof Boolean b) {
      return b ? 1 : 0;
    }
    return ((Number) o).doubleValue();
  }

  static boolean isIntLike(Object o) {
    return isInt(o) || o instanceof Boolean;
  }

  /** A Python int that fits a long, for indexes and counts. */
  static long toLong(Object o, String what) {
    o = normalize(o);
    if (o instanceof Boolean b) {
      return b ? 1 : 0;
    }
    if (o instanceof Long l) {
      return l;
    }
    throw new PyError(what + " must be an integer, not " + typeName(o));
  }

  static boolean isSequence(Object o) {
    return o instanceof List || (o != null && o.getClass().isArray());
  }

  /** Lists, arrays and other collections as a List (no copy for a List). */
  static List<?> asList(Object o) {
    if (o instanceof List<?> l) {
      return l;
    }
    if (o instanceof Collection<?> c) {
      return new ArrayList<>(c);
    }
    if (o != null && o.getClass().isArray()) {
      int n = Array.getLength(o);
      List<Object> list = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        list.add(Array.get(o, i));
      }
      return list;
    }
    throw new PyError("'" + typeName(o) + "' object is not a sequence");
  }

  static String typeName(Object o) {
    o = normalize(o);
    return switch (o) {
      case null -> "Undefined";
      case PyNone n -> "NoneType";
      case String s -> "str";
      case Boolean b -> "bool";
      case Long l -> "int";
      case BigInteger b -> "int";
      case Double d -> "float";
      case Map<?, ?> m -> "dict";
      case ForLoop l -> "LoopContext";
      case PyTuple t -> "tuple";
      default -> isSequence(o) || o instanceof Collection ? "list" : o.getClass().getSimpleName();
    };
  }

  // ---------------------------------------------------------------- truth and str

  /** Python's bool(x); None and undefined are false. */
  public static boolean truth(Object o) {
    o = normalize(o);
    return switch (o) {
      case null -> false;
      case PyNone n -> false;
      case Boolean b -> b;
      case Long l -> l != 0;
      case BigInteger b -> b.signum() != 0;
      case Double d -> d != 0;
      case String s -> !s.isEmpty();
      case Collection<?> c -> !c.isEmpty();
      case Map<?, ?> m -> !m.isEmpty();
      default -> !o.getClass().isArray() || Array.getLength(o) > 0;
    };
  }

  public static boolean not(Object o) {
    return !truth(o);
  }

  /** What {@code {{ x }}} prints: Python's str(x), with undefined (null) as the empty string. */
  public static String str(Object o) {
    o = normalize(o);
    return switch (o) {
      case null -> "";
      case String s -> s;
      default -> repr(o);
    };
  }

  /** Python's repr(x) (an undefined value inside a container prints as None). */
  static String repr(Object o) {
    o = normalize(o);
    StringBuilder sb = new StringBuilder();
    switch (o) {
      case null -> sb.append("None");
      case PyNone n -> sb.append("None");
      case PyTuple t -> {
        sb.append('(');
        for (int i = 0; i < t.size(); i++) {
          sb.append(i == 0 ? "" : ", ").append(repr(t.get(i)));
        }
        sb.append(t.size() == 1 ? ",)" : ")");
      }
      case String s -> sb.append(reprString(s));
      case Boolean b -> sb.append(b ? "True" : "False");
      case Long l -> sb.append(l);
      case BigInteger b -> sb.append(b);
      case Double d -> sb.append(reprFloat(d));
      case Map<?, ?> m -> {
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : m.entrySet()) {
          sb.append(first ? "" : ", ")
              .append(repr(e.getKey()))
              .append(": ")
              .append(repr(e.getValue()));
          first = false;
        }
        sb.append('}');
      }
      default -> {
        if (isSequence(o) || o instanceof Collection) {
          sb.append('[');
          boolean first = true;
          for (Object item : asList(o)) {
            sb.append(first ? "" : ", ").append(repr(item));
            first = false;
          }
          sb.append(']');
        } else {
          sb.append(o);
        }
      }
    }
    return sb.toString();
  }

  /** Python's repr of a str: single quotes unless only double quotes avoid escaping. */
  static String reprString(String s) {
    char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder sb = new StringBuilder().append(quote);
    s.codePoints()
        .forEach(
            cp -> {
              if (cp == quote || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
              } else if (cp == '\n') {
                sb.append("\\n");
              } else if (cp == '\r') {
                sb.append("\\r");
              } else if (cp == '\t') {
                sb.append("\\t");
              } else if (isPrintable(cp)) {
                sb.appendCodePoint(cp);
              } else if (cp <= 0xff) {
                sb.append(String.format("\\x%02x", cp));
              } else if (cp <= 0xffff) {
                sb.append(String.format("\\u%04x", cp));
              } else {
                sb.append(String.format("\\U%08x", cp));
              }
            });
    return sb.append(quote).toString();
  }

  /** Python's str.isprintable for one code point. */
  static boolean isPrintable(int cp) {
    if (cp == ' ') {
      return true;
    }
    return switch (Character.getType(cp)) {
      case Character.CONTROL,
          Character.FORMAT,
          Character.SURROGATE,
          Character.PRIVATE_USE,
          Character.UNASSIGNED,
          Character.LINE_SEPARATOR,
          Character.PARAGRAPH_SEPARATOR,
          Character.SPACE_SEPARATOR ->
          false;
      default -> true;
    };
  }

  /**
   * Python's repr of a float: the shortest digits that round-trip (as Java's Double.toString gives
   * them), positional between 1e-4 and 1e16, otherwise exponent form.
   */
  static String reprFloat(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    if (d == 0) {
      return (1 / d) < 0 ? "-0.0" : "0.0";
    }
    BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
    String digits = exact.unscaledValue().toString();
    int decpt = digits.length() - exact.scale(); // value = 0.DIGITS * 10^decpt
    StringBuilder sb = new StringBuilder(d < 0 ? "-" : "");
    if (decpt > 16 || decpt <= -4) {
      sb.append(digits.charAt(0));
      if (digits.length() > 1) {
        sb.append('.').append(digits, 1, digits.length());
      }
      int exp = decpt - 1;
      sb.append('e').append(exp < 0 ? '-' : '+');
      sb.append(Math.abs(exp) < 10 ? "0" : "").append(Math.abs(exp));
    } else if (decpt <= 0) {
      sb.append("0.").append("0".repeat(-decpt)).append(digits);
    } else if (decpt >= digits.length()) {
      sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
    } else {
      sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- comparison

  public static boolean eq(Object a, Object b) {
    a = normalize(a);
    b = normalize(b);
    if (a == null || b == null) {
      return a == b;
    }
    if (isNumber(a) && isNumber(b)) {
      if (isIntLike(a) && isIntLike(b)) {
        return big(a).equals(big(b));
      }
      return dbl(a) == dbl(b);
    }
    if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
      if (ma.size() != mb.size()) {
        return false;
      }
      for (Map.Entry<?, ?> e : ma.entrySet()) {
        if (!mb.containsKey(e.getKey()) || !eq(e.getValue(), mb.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
    if ((isSequence(a) || a instanceof Collection) && (isSequence(b) || b instanceof Collection)) {
      List<?> la = asList(a);
      List<?> lb = asList(b);
      if (la.size() != lb.size()) {
        return false;
      }
      for (int i = 0; i < la.size(); i++) {
        if (!eq(la.get(i), lb.get(i))) {
          return false;
        }
      }
      return true;
    }
    return a.equals(b);
  }

  public static boolean ne(Object a, Object b) {
    return !eq(a, b);
  }

  public static boolean lt(Object a, Object b) {
    return compare(a, b, "<") < 0;
  }

  public static boolean le(Object a, Object b) {
    return compare(a, b, "<=") <= 0;
  }

  public static boolean gt(Object a, Object b) {
    return compare(a, b, ">") > 0;
  }

  public static boolean ge(Object a, Object b) {
    return compare(a, b, ">=") >= 0;
  }

  static int compare(Object a, Object b, String op) {
    a = normalize(a);
    b = normalize(b);
    if (isNumber(a) && isNumber(b)) {
      return isIntLike(a) && isIntLike(b)
          ? big(a).compareTo(big(b))
          : Double.compare(dbl(a), dbl(b));
    }
    if (a instanceof String sa && b instanceof String sb) {
      return compareCodePoints(sa, sb);
    }
    if ((isSequence(a) || a instanceof Collection) && (isSequence(b) || b instanceof Collection)) {
      List<?> la = asList(a);
      List<?> lb = asList(b);
      for (int i = 0; i < Math.min(la.size(), lb.size()); i++) {
        if (!eq(la.get(i), lb.get(i))) {
          return compare(la.get(i), lb.get(i), op);
        }
      }
      return Integer.compare(la.size(), lb.size());
    }
    throw new PyError(
        "'"
            + op
            + "' not supported between instances of '"
            + typeName(a)
            + "' and '"
            + typeName(b)
            + "'");
  }

  static int compareCodePoints(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Boolean.compare(i < a.length(), j < b.length());
  }

  /** Python's {@code item in container}; undefined (null) contains nothing. */
  public static boolean contains(Object container, Object item) {
    container = normalize(container);
    item = normalize(item);
    switch (container) {
      case null -> {
        return false;
      }
      case String s -> {
        if (!(item instanceof String sub)) {
          throw new PyError("'in <string>' requires string as left operand, not " + typeName(item));
        }
        return s.contains(sub);
      }
      case Map<?, ?> m -> {
        for (Object key : m.keySet()) {
          if (eq(key, item)) {
            return true;
          }
        }
        return false;
      }
      default -> {
        if (!(isSequence(container) || container instanceof Iterable)) {
          throw new PyError("argument of type '" + typeName(container) + "' is not iterable");
        }
        for (Object x : iter(container)) {
          if (eq(x, item)) {
            return true;
          }
        }
        return false;
      }
    }
  }

  // ---------------------------------------------------------------- arithmetic

  public static Object add(Object a, Object b) {
    a = normalize(a);
    b = normalize(b);
    if (isNumber(a) && isNumber(b)) {
      return isIntLike(a) && isIntLike(b) ? normalize(big(a).add(big(b))) : dbl(a) + dbl(b);
    }
    if (a instanceof String sa && b instanceof String sb) {
      return sa + sb;
    }
    if (isSequence(a) && isSequence(b)) {
      List<Object> list = new ArrayList<>(asList(a));
      list.addAll(asList(b));
      return list;
    }
    throw unsupported("+", a, b);
  }

  public static Object sub(Object a, Object b) {
    a = normalize(a);
    b = normalize(b);
    if (isNumber(a) && isNumber(b)) {
      return isIntLike(a) && isIntLike(b) ? normalize(big(a).subtract(big(b))) : dbl(a) - dbl(b);
    }
    throw unsupported("-", a, b);
  }

  public static Object mul(Object a, Object b) {
    a = normalize(a);
    b = normalize(b);
    if (isNumber(a) && isNumber(b)) {
      return isIntLike(a) && isIntLike(b) ? normalize(big(a).multiply(big(b))) : dbl(a) * dbl(b);
    }
    if (isIntLike(a) && !isNumber(b)) {
      return mul(b, a);
    }
    if (isIntLike(b) && (a instanceof String || isSequence(a))) {
      long n = Math.max(0, toLong(b, "repeat count"));
      if (a instanceof String s) {
        return s.repeat(Math.toIntExact(n));
      }
      List<Object> list = new ArrayList<>();
      for (long i = 0; i < n; i++) {
        list.addAll(asList(a));
      }
      return list;
    }
    throw unsupported("*", a, b);
  }

  public static Object div(Object a, Object b) {
    a = normalize(a);
    b = normalize(b);
    if (isNumber(a) && isNumber(b)) {
      if (dbl(b) == 0) {
        throw new PyError("division by zero");
      }
      if (isIntLike(a) && isIntLike(b)) {
        return new BigDecimal(big(a))
            .divide(new BigDecimal(big(b)), java.math.MathContext.DECIMAL128)
            .doubleValue();
      }
      return dbl(a) / dbl(b);
    }
    throw unsupported("/", a, b);
  }

  public static Object floordiv(Object a, Object b) {
    a = normalize(a);
    b = normalize(b);
    if (isNumber(a) && isNumber(b)) {
      if (dbl(b) == 0) {
        throw new PyError("integer division or modulo by zero");
      }
      if (isIntLike(a) && isIntLike(b)) {
        BigInteger[] qr = big(a).divideAndRemainder(big(b));
        BigInteger q = qr[0];
        if (qr[1].signum() != 0 && qr[1].signum() != big(b).signum()) {
          q = q.subtract(BigInteger.ONE);
        }
        return normalize(q);
      }
      return Math.floor(dbl(a) / dbl(b));
    }
    throw unsupported("//", a, b);
  }

  public static Object mod(Object a, Object b) {
    a = normalize(a);
    b = normalize(b);
    if (isNumber(a) && isNumber(b)) {
      if (dbl(b) == 0) {
        throw new PyError("integer division or modulo by zero");
      }
      if (isIntLike(a) && isIntLike(b)) {
        BigInteger r = big(a).mod(big(b).abs());
        return normalize(big(b).signum() < 0 && r.signum() != 0 ? r.add(big(b)) : r);
      }
      double r = dbl(a) % dbl(b);
      return r != 0 && (r < 0) != (dbl(b) < 0) ? r + dbl(b) : r;
    }
    if (a instanceof String format) {
      return PyFormat.percent(format, b);
    }
    throw unsupported("%", a, b);
  }

  public static Object pow(Object a, Object b) {
    a = normalize(a);
    b = normalize(b);
    if (isNumber(a) && isNumber(b)) {
      if (isIntLike(a) && isIntLike(b) && big(b).signum() >= 0) {
        return normalize(big(a).pow(big(b).intValueExact()));
      }
      return Math.pow(dbl(a), dbl(b));
    }
    throw unsupported("**", a, b);
  }

  public static Object neg(Object a) {
    a = normalize(a);
    if (isIntLike(a)) {
      return normalize(big(a).negate());
    }
    if (a instanceof Double d) {
      return -d;
    }
    throw new PyError("bad operand type for unary -: '" + typeName(a) + "'");
  }

  public static Object pos(Object a) {
    a = normalize(a);
    if (isIntLike(a)) {
      return normalize(big(a));
    }
    if (a instanceof Double) {
      return a;
    }
    throw new PyError("bad operand type for unary +: '" + typeName(a) + "'");
  }

  /** Jinja2's {@code ~}: both sides as strings. */
  public static String concat(Object a, Object b) {
    return str(a) + str(b);
  }

  private static PyError unsupported(String op, Object a, Object b) {
    if (op.equals("+") && a instanceof String) {
      return new PyError("can only concatenate str (not \"" + typeName(b) + "\") to str");
    }
    return new PyError(
        "unsupported operand type(s) for "
            + op
            + ": '"
            + typeName(a)
            + "' and '"
            + typeName(b)
            + "'");
  }

  // ---------------------------------------------------------------- literals

  /** A list literal. */
  public static List<Object> list(Object... items) {
    List<Object> list = new ArrayList<>(items.length);
    for (Object item : items) {
      list.add(normalize(item));
    }
    return list;
  }

  /** A tuple literal. */
  public static PyTuple tuple(Object... items) {
    return new PyTuple(list(items));
  }

  /** The None literal. */
  public static PyNone none() {
    return PyNone.NONE;
  }

  /** A dict literal from alternating keys and values, in order. */
  public static Map<Object, Object> dict(Object... keysAndValues) {
    Map<Object, Object> map = new LinkedHashMap<>();
    for (int i = 0; i + 1 < keysAndValues.length; i += 2) {
      map.put(normalize(keysAndValues[i]), normalize(keysAndValues[i + 1]));
    }
    return map;
  }

  // ---------------------------------------------------------------- attribute and item access

  /**
   * Jinja2's {@code obj.name}: a mapping's key, or a loop attribute. Missing is undefined (null);
   * reading from an undefined value raises, as Jinja2's Undefined does.
   */
  public static Object getattr(Object obj, String name) {
    obj = unwrap(obj);
    if (obj == null) {
      throw new PyError("undefined value has no attribute '" + name + "'");
    }
    if (obj instanceof Map<?, ?> m) {
      return m.containsKey(name) ? value(m.get(name)) : null;
    }
    if (obj instanceof ForLoop loop) {
      return loopAttribute(loop, name);
    }
    return null;
  }

  private static Object loopAttribute(ForLoop loop, String name) {
    return switch (name) {
      case "index" -> (long) loop.getIndex();
      case "index0" -> (long) loop.getIndex0();
      case "revindex" -> (long) loop.getRevindex();
      case "revindex0" -> (long) loop.getRevindex0();
      case "first" -> loop.isFirst();
      case "last" -> loop.isLast();
      case "length" -> (long) loop.getLength();
      case "depth" -> (long) loop.getDepth();
      case "depth0" -> (long) loop.getDepth0();
      default -> throw new PyError("loop." + name + " is not supported");
    };
  }

  /**
   * Jinja2's {@code obj[key]}: a mapping's value, or a sequence's or string's element (negative
   * indexes count from the end). Missing keys and indexes out of range are undefined (null).
   */
  public static Object getitem(Object obj, Object key) {
    obj = unwrap(obj);
    key = normalize(key);
    if (obj == null) {
      throw new PyError("undefined value has no item " + repr(key));
    }
    if (obj instanceof Map<?, ?> m) {
      if (m.containsKey(key)) {
        return value(m.get(key));
      }
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (isNumber(key) && eq(e.getKey(), key)) {
          return value(e.getValue());
        }
      }
      return null;
    }
    if (obj instanceof ForLoop loop && key instanceof String name) {
      return loopAttribute(loop, name);
    }
    if (!isIntLike(key)) {
      return null;
    }
    if (obj instanceof String s) {
      int n = s.codePointCount(0, s.length());
      long i = index(toLong(key, "index"), n);
      if (i < 0) {
        return null;
      }
      int at = s.offsetByCodePoints(0, (int) i);
      return s.substring(at, s.offsetByCodePoints(at, 1));
    }
    if (isSequence(obj) || obj instanceof Collection) {
      List<?> list = asList(obj);
      long i = index(toLong(key, "index"), list.size());
      return i < 0 ? null : value(list.get((int) i));
    }
    return null;
  }

  /** A Python index into n items, or -1 when out of range. */
  private static long index(long i, int n) {
    long j = i < 0 ? i + n : i;
    return j >= 0 && j < n ? j : -1;
  }

  /** Python's {@code obj[start:stop:step]} on a sequence or string. */
  public static Object slice(Object obj, Object start, Object stop, Object step) {
    obj = unwrap(obj);
    if (obj == null) {
      throw new PyError("undefined value cannot be sliced");
    }
    start = start == PyNone.NONE ? null : start;
    stop = stop == PyNone.NONE ? null : stop;
    step = step == PyNone.NONE ? null : step;
    long st = step == null ? 1 : toLong(step, "slice step");
    if (st == 0) {
      throw new PyError("slice step cannot be zero");
    }
    boolean isString = obj instanceof String;
    List<?> items;
    if (isString) {
      items = ((String) obj).codePoints().mapToObj(Character::toString).toList();
    } else if (isSequence(obj) || obj instanceof Collection) {
      items = asList(obj);
    } else {
      throw new PyError("'" + typeName(obj) + "' object is not subscriptable");
    }
    long n = items.size();
    long lo;
    long hi;
    List<Object> out = new ArrayList<>();
    if (st > 0) {
      lo = start == null ? 0 : clamp(toLong(start, "slice index"), n, 0, n);
      hi = stop == null ? n : clamp(toLong(stop, "slice index"), n, 0, n);
      for (long i = lo; i < hi; i += st) {
        out.add(items.get((int) i));
      }
    } else {
      lo = start == null ? n - 1 : clamp(toLong(start, "slice index"), n, -1, n - 1);
      hi = stop == null ? -1 : clamp(toLong(stop, "slice index"), n, -1, n - 1);
      for (long i = lo; i > hi; i += st) {
        out.add(items.get((int) i));
      }
    }
    if (isString) {
      return String.join("", out.stream().map(String.class::cast).toList());
    }
    out.replaceAll(Py::value);
    return out;
  }

  private static long clamp(long i, long n, long min, long max) {
    long j = i < 0 ? i + n : i;
    return Math.max(min, Math.min(max, j));
  }

  /** What a for loop iterates: a string's characters, a mapping's keys; undefined is empty. */
  public static List<?> iter(Object o) {
    o = normalize(o);
    return switch (o) {
      case null -> List.of();
      case String s -> s.codePoints().mapToObj(Character::toString).toList();
      case Map<?, ?> m -> m.keySet().stream().map(Py::value).toList();
      case Iterable<?> it -> {
        List<Object> list = new ArrayList<>();
        it.forEach(x -> list.add(value(x)));
        yield list;
      }
      default -> {
        if (o.getClass().isArray()) {
          yield asList(o).stream().map(Py::value).toList();
        }
        throw new PyError("'" + typeName(o) + "' object is not iterable");
      }
    };
  }

  /** Unpacking {@code a, b = value}: value as exactly n items. */
  public static List<?> unpack(Object value, long n) {
    List<?> items = iter(value);
    if (items.size() != n) {
      throw new PyError(
          (items.size() < n ? "not enough" : "too many")
              + " values to unpack (expected "
              + n
              + ", got "
              + items.size()
              + ")");
    }
    return items;
  }

  // ---------------------------------------------------------------- methods

  /**
   * {@code obj.name(args)}: the methods of Python's str, dict and list that templates call
   * (non-mutating ones only: transformers renders in an immutable sandbox), and {@code loop.cycle}.
   */
  public static Object call(Object obj, String name, Object... rawArgs) {
    obj = unwrap(obj);
    List<Object> args = new ArrayList<>();
    Map<String, Object> kwargs = new LinkedHashMap<>();
    for (Object a : rawArgs) {
      if (a instanceof NamedParameter p) {
        kwargs.put(p.getName(), normalize(p.getValue()));
      } else {
        args.add(normalize(a));
      }
    }
    return switch (obj) {
      case String s -> PyStrings.call(s, name, args, kwargs);
      case Map<?, ?> m -> dictMethod(m, name, args, kwargs);
      case ForLoop loop when name.equals("cycle") && kwargs.isEmpty() -> {
        if (args.isEmpty()) {
          throw new PyError("no items for cycling given");
        }
        yield args.get(loop.getIndex0() % args.size());
      }
      case null -> throw new PyError("undefined value has no attribute '" + name + "'");
      default -> {
        if (isSequence(obj) || obj instanceof Collection) {
          yield listMethod(asList(obj), name, args, kwargs);
        }
        throw noMethod(obj, name);
      }
    };
  }

  private static Object dictMethod(
      Map<?, ?> m, String name, List<Object> args, Map<String, Object> kwargs) {
    PyArgs.none(kwargs, name);
    switch (name) {
      case "items" -> {
        PyArgs.count(args, 0, 0, name);
        List<Object> items = new ArrayList<>();
        m.forEach((k, v) -> items.add(tuple(value(k), value(v))));
        return items;
      }
      case "keys" -> {
        PyArgs.count(args, 0, 0, name);
        return iter(m);
      }
      case "values" -> {
        PyArgs.count(args, 0, 0, name);
        return m.values().stream().map(Py::value).toList();
      }
      case "get" -> {
        PyArgs.count(args, 1, 2, name);
        Object found = getitem(m, args.get(0));
        return found != null ? found : args.size() > 1 ? args.get(1) : PyNone.NONE;
      }
      default -> throw noMethod(m, name);
    }
  }

  private static Object listMethod(
      List<?> list, String name, List<Object> args, Map<String, Object> kwargs) {
    PyArgs.none(kwargs, name);
    switch (name) {
      case "index" -> {
        PyArgs.count(args, 1, 1, name);
        for (int i = 0; i < list.size(); i++) {
          if (eq(list.get(i), args.get(0))) {
            return (long) i;
          }
        }
        throw new PyError(repr(args.get(0)) + " is not in list");
      }
      case "count" -> {
        PyArgs.count(args, 1, 1, name);
        return list.stream().filter(x -> eq(x, args.get(0))).count();
      }
      default -> throw noMethod(list, name);
    }
  }

  static PyError noMethod(Object obj, String name) {
    return new PyError("'" + typeName(obj) + "' object has no attribute '" + name + "'");
  }

  // ---------------------------------------------------------------- tests

  /** The tests {@link #test} knows (Jinja2's). */
  static final java.util.Set<String> TESTS =
      java.util.Set.of(
          "defined",
          "undefined",
          "none",
          "string",
          "number",
          "integer",
          "float",
          "boolean",
          "true",
          "false",
          "mapping",
          "iterable",
          "sequence",
          "callable",
          "even",
          "odd",
          "divisibleby",
          "eq",
          "equalto",
          "==",
          "ne",
          "!=",
          "lt",
          "lessthan",
          "<",
          "le",
          "<=",
          "gt",
          "greaterthan",
          ">",
          "ge",
          ">=",
          "in",
          "sameas",
          "lower",
          "upper",
          "escaped");

  /** Jinja2's {@code value is NAME(args)}. */
  public static boolean test(String name, Object value, Object... rawArgs) {
    value = normalize(value);
    Object[] args = Arrays.stream(rawArgs).map(Py::normalize).toArray();
    return switch (name) {
      case "defined" -> value != null;
      case "undefined" -> value == null;
      case "none" -> value == PyNone.NONE;
      case "string" -> value instanceof String;
      case "number" -> isNumber(value);
      case "integer" -> isInt(value);
      case "float" -> value instanceof Double;
      case "boolean" -> value instanceof Boolean;
      case "true" -> Boolean.TRUE.equals(value);
      case "false" -> Boolean.FALSE.equals(value);
      case "mapping" -> value instanceof Map;
      case "iterable" ->
          value instanceof String
              || value instanceof Map
              || value instanceof Iterable
              || isSequence(value);
      case "sequence" ->
          value instanceof String
              || value instanceof Map
              || value instanceof Collection
              || isSequence(value);
      case "callable" -> false;
      case "even" -> !big(intArg(value, name)).testBit(0);
      case "odd" -> big(intArg(value, name)).testBit(0);
      case "divisibleby" ->
          big(intArg(value, name)).mod(big(arg(args, 0, name)).abs()).signum() == 0;
      case "eq", "equalto", "==" -> eq(value, arg(args, 0, name));
      case "ne", "!=" -> !eq(value, arg(args, 0, name));
      case "lt", "lessthan", "<" -> lt(value, arg(args, 0, name));
      case "le", "<=" -> le(value, arg(args, 0, name));
      case "gt", "greaterthan", ">" -> gt(value, arg(args, 0, name));
      case "ge", ">=" -> ge(value, arg(args, 0, name));
      case "in" -> contains(arg(args, 0, name), value);
      case "sameas" -> {
        Object other = arg(args, 0, name);
        yield value == other
            || (value instanceof Boolean && value.equals(other))
            || (value instanceof Long && value.equals(other));
      }
      case "lower" -> value instanceof String s && s.equals(s.toLowerCase(Locale.ROOT));
      case "upper" -> value instanceof String s && s.equals(s.toUpperCase(Locale.ROOT));
      case "escaped" -> false;
      default -> throw new PyError("no test named '" + name + "'");
    };
  }

  private static Object intArg(Object value, String test) {
    if (!isIntLike(value)) {
      throw new PyError("test '" + test + "' needs an integer, not " + typeName(value));
    }
    return value;
  }

  private static Object arg(Object[] args, int i, String test) {
    if (args.length <= i) {
      throw new PyError("test '" + test + "' needs an argument");
    }
    return args[i];
  }

  // ---------------------------------------------------------------- global functions

  /** Jinja2's range; like its sandbox, refuses more than 100000 items. */
  public static List<Long> range(Object... args) {
    long start = 0;
    long stop;
    long step = 1;
    switch (args.length) {
      case 1 -> stop = toLong(args[0], "range() argument");
      case 2, 3 -> {
        start = toLong(args[0], "range() argument");
        stop = toLong(args[1], "range() argument");
        if (args.length == 3) {
          step = toLong(args[2], "range() argument");
        }
      }
      default -> throw new PyError("range expected 1 to 3 arguments, got " + args.length);
    }
    if (step == 0) {
      throw new PyError("range() arg 3 must not be zero");
    }
    List<Long> out = new ArrayList<>();
    for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (out.size() >= 100_000) {
        throw new PyError(
            "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
      }
      out.add(i);
    }
    return out;
  }

  /** {@code dict(a=1, b=2)}. */
  public static Map<Object, Object> kwdict(Object... args) {
    Map<Object, Object> map = new LinkedHashMap<>();
    for (Object a : args) {
      if (!(a instanceof NamedParameter p)) {
        throw new PyError("dict() takes keyword arguments only here, got " + repr(a));
      }
      map.put(p.getName(), normalize(p.getValue()));
    }
    return map;
  }

  /** A variable whose name is an EL keyword (such as {@code empty}), read from the context. */
  public static Object var(String name) {
    return normalize(JinjavaInterpreter.getCurrent().getContext().get(name));
  }

  /** An integer literal too large for a long. */
  public static BigInteger bigint(String digits) {
    return new BigInteger(digits);
  }

  /** The error a template raises on purpose; its message reaches the caller verbatim. */
  static final class RaisedException extends RuntimeException {
    RaisedException(String message) {
      super(message);
    }
  }

  /** transformers' {@code raise_exception(message)}. */
  public static Object raiseException(Object message) {
    throw new RaisedException(str(message));
  }

  /** transformers' {@code strftime_now(format)}: the current local time, formatted. */
  public static String strftimeNow(Object format) {
    JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
    long millis = interpreter.getConfig().getDateTimeProvider().getCurrentTimeMillis();
    return PyFormat.strftime(
        str(format),
        java.time.Instant.ofEpochMilli(millis).atZone(interpreter.getConfig().getTimeZone()));
  }

  /**
   * A for loop's {@code if} filter: the items for which the condition (a compiled expression) holds
   * with the loop target bound to the item.
   */
  public static List<Object> loopFilter(
      Object iterable, String targets, String condition, long line) {
    JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
    String[] names = targets.split(",");
    List<Object> kept = new ArrayList<>();
    for (Object item : iter(iterable)) {
      interpreter.enterScope();
      try {
        if (names.length == 1) {
          interpreter.getContext().put(names[0], item);
        } else {
          List<?> parts = unpack(item, names.length);
          for (int i = 0; i < names.length; i++) {
            interpreter.getContext().put(names[i], parts.get(i));
          }
        }
        if (truth(interpreter.resolveELExpression(condition, (int) line))) {
          kept.add(item);
        }
      } finally {
        interpreter.leaveScope();
      }
    }
    return kept;
  }

  // ---------------------------------------------------------------- string helpers used widely

  /** Python's str.isspace for one char. */
  static boolean isSpace(int c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
  }

  static String strip(String s, String chars) {
    return lstrip(rstrip(s, chars), chars);
  }

  static String lstrip(String s, String chars) {
    int i = 0;
    while (i < s.length()) {
      int cp = s.codePointAt(i);
      if (!stripped(cp, chars)) {
        break;
      }
      i += Character.charCount(cp);
    }
    return s.substring(i);
  }

  static String rstrip(String s, String chars) {
    int i = s.length();
    while (i > 0) {
      int cp = s.codePointBefore(i);
      if (!stripped(cp, chars)) {
        break;
      }
      i -= Character.charCount(cp);
    }
    return s.substring(0, i);
  }

  private static boolean stripped(int cp, String chars) {
    return chars == null ? isSpace(cp) : chars.indexOf(Character.toString(cp)) >= 0;
  }
}
