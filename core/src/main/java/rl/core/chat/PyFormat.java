package rl.core.chat;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Python's string formatting that templates use: {@code %}, {@code str.format}, strftime. */
final class PyFormat {
  private PyFormat() {}

  /**
   * {@code format % args}: the conversions {@code s r d i f x X o %} with flags, width and
   * precision, and {@code %(key)s} with a mapping.
   */
  static String percent(String format, Object args) {
    args = Py.normalize(args);
    List<?> values = Py.isSequence(args) ? Py.asList(args) : List.of();
    boolean single = !Py.isSequence(args) && !(args instanceof Map);
    int next = 0;
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%') {
        sb.append(c);
        continue;
      }
      int j = i + 1;
      Object value = null;
      boolean keyed = false;
      if (j < format.length() && format.charAt(j) == '(') {
        int close = format.indexOf(')', j);
        if (close < 0 || !(args instanceof Map<?, ?> m)) {
          throw new Py.PyError("format requires a mapping");
        }
        value = Py.getitem(m, format.substring(j + 1, close));
        keyed = true;
        j = close + 1;
      }
      int specStart = j;
      while (j < format.length() && "-+ #0123456789.".indexOf(format.charAt(j)) >= 0) {
        j++;
      }
      if (j >= format.length()) {
        throw new Py.PyError("incomplete format");
      }
      String spec = format.substring(specStart, j);
      char type = format.charAt(j);
      i = j;
      if (type == '%') {
        sb.append('%');
        continue;
      }
      if (!keyed) {
        if (single) {
          if (next++ > 0) {
            throw new Py.PyError("not enough arguments for format string");
          }
          value = args;
        } else {
          if (next >= values.size()) {
            throw new Py.PyError("not enough arguments for format string");
          }
          value = values.get(next++);
        }
      }
      sb.append(convert(spec, type, Py.normalize(value)));
    }
    if (!single && !(args instanceof Map) && next < values.size()) {
      throw new Py.PyError("not all arguments converted during string formatting");
    }
    return sb.toString();
  }

  private static String convert(String spec, char type, Object value) {
    String javaSpec = "%" + spec;
    return switch (type) {
      case 's' -> String.format(javaSpec + "s", Py.str(value));
      case 'r', 'a' -> String.format(javaSpec + "s", Py.repr(value));
      case 'd', 'i', 'u' -> String.format(javaSpec.replace(".", "") + "d", Py.big(intOf(value)));
      case 'x', 'X', 'o' -> String.format(javaSpec + type, Py.big(intOf(value)));
      case 'f', 'F' ->
          String.format(
              Locale.ROOT,
              spec.contains(".") ? javaSpec + "f" : javaSpec + ".6f",
              Py.dbl(numberOf(value)));
      default -> throw new Py.PyError("unsupported format character '" + type + "'");
    };
  }

  private static Object intOf(Object value) {
    Object n = numberOf(value);
    return n instanceof Double d ? (long) (double) d : n;
  }

  private static Object numberOf(Object value) {
    if (!Py.isNumber(value)) {
      throw new Py.PyError("a real number is required, not " + Py.typeName(value));
    }
    return value;
  }

  /**
   * {@code str.format}: {@code {}}, {@code {0}} and {@code {name}} fields without format specs, and
   * the {@code {{ }}} escapes.
   */
  static String format(String s, List<Object> args, Map<String, Object> kwargs) {
    StringBuilder sb = new StringBuilder();
    int auto = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') {
        sb.append('}');
        i++;
      } else if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') {
        sb.append('{');
        i++;
      } else if (c == '{') {
        int close = s.indexOf('}', i);
        if (close < 0) {
          throw new Py.PyError("Single '{' encountered in format string");
        }
        String field = s.substring(i + 1, close);
        if (field.contains(":")
            || field.contains("!")
            || field.contains(".")
            || field.contains("[")) {
          throw new Py.PyError("str.format with conversions or format specs is not supported");
        }
        Object value;
        if (field.isEmpty()) {
          value = argAt(args, auto++);
        } else if (field.chars().allMatch(Character::isDigit)) {
          value = argAt(args, Integer.parseInt(field));
        } else if (kwargs.containsKey(field)) {
          value = kwargs.get(field);
        } else {
          throw new Py.PyError("KeyError: '" + field + "'");
        }
        sb.append(Py.str(value));
        i = close;
      } else if (c == '}') {
        throw new Py.PyError("Single '}' encountered in format string");
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static Object argAt(List<Object> args, int i) {
    if (i >= args.size()) {
      throw new Py.PyError("Replacement index " + i + " out of range for positional args tuple");
    }
    return args.get(i);
  }

  /**
   * Python's {@code strftime} in the C locale, with glibc's {@code -} flag (no padding, as in
   * {@code %-d}).
   */
  static String strftime(String format, ZonedDateTime t) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 >= format.length()) {
        sb.append(c);
        continue;
      }
      char d = format.charAt(++i);
      boolean pad = true;
      if (d == '-' && i + 1 < format.length()) {
        pad = false;
        d = format.charAt(++i);
      }
      sb.append(
          switch (d) {
            case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'd' -> num(t.getDayOfMonth(), 2, pad);
            case 'e' -> pad ? String.format("%2d", t.getDayOfMonth()) : "" + t.getDayOfMonth();
            case 'm' -> num(t.getMonthValue(), 2, pad);
            case 'y' -> num(t.getYear() % 100, 2, pad);
            case 'Y' -> String.valueOf(t.getYear());
            case 'H' -> num(t.getHour(), 2, pad);
            case 'I' -> num(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, pad);
            case 'M' -> num(t.getMinute(), 2, pad);
            case 'S' -> num(t.getSecond(), 2, pad);
            case 'f' -> num(t.getNano() / 1000, 6, true);
            case 'p' -> t.getHour() < 12 ? "AM" : "PM";
            case 'j' -> num(t.getDayOfYear(), 3, pad);
            case 'w' -> String.valueOf(t.getDayOfWeek().getValue() % 7);
            case 'u' -> String.valueOf(t.getDayOfWeek().getValue());
            case 'z' ->
                t.getOffset().getId().equals("Z")
                    ? "+0000"
                    : t.getOffset().getId().replace(":", "");
            case 'Z' -> t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'D', 'x' -> strftime("%m/%d/%y", t);
            case 'T', 'X' -> strftime("%H:%M:%S", t);
            case 'F' -> strftime("%Y-%m-%d", t);
            case 'R' -> strftime("%H:%M", t);
            case 'c' -> strftime("%a %b %e %H:%M:%S %Y", t);
            case 'n' -> "\n";
            case 't' -> "\t";
            case '%' -> "%";
            default -> throw new Py.PyError("unsupported strftime directive '%" + d + "'");
          });
    }
    return sb.toString();
  }

  private static String num(int value, int width, boolean pad) {
    String s = String.valueOf(value);
    return pad && s.length() < width ? "0".repeat(width - s.length()) + s : s;
  }
}
