package rl.core.chat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps}, which transformers' {@code tojson} filter calls as {@code
 * json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)} by default:
 * separators {@code ", "} and {@code ": "} (or {@code ","} and {@code ": "} with an indent), no
 * HTML escaping, floats as Python's repr.
 */
final class PyJson {
  private PyJson() {}

  record Options(
      boolean ensureAscii,
      String indent,
      String itemSeparator,
      String keySeparator,
      boolean sortKeys) {}

  /** Options from tojson's arguments (indent: None, an int of spaces, or a string). */
  static Options options(Object ensureAscii, Object indent, Object separators, Object sortKeys) {
    String indentString = null;
    indent = Py.normalize(indent);
    if (indent instanceof String s) {
      indentString = s;
    } else if (!PyArgs.absent(indent)) {
      indentString = " ".repeat((int) Math.max(0, Py.toLong(indent, "indent")));
    }
    String item = indentString == null ? ", " : ",";
    String key = ": ";
    if (!PyArgs.absent(separators)) {
      List<?> pair = Py.asList(Py.normalize(separators));
      if (pair.size() != 2) {
        throw new Py.PyError("separators must be an (item_separator, key_separator) pair");
      }
      item = PyArgs.string(pair.get(0), "item_separator");
      key = PyArgs.string(pair.get(1), "key_separator");
    }
    return new Options(Py.truth(ensureAscii), indentString, item, key, Py.truth(sortKeys));
  }

  static String dumps(Object value, Options options) {
    StringBuilder sb = new StringBuilder();
    write(sb, Py.normalize(value), options, 0);
    return sb.toString();
  }

  private static void write(StringBuilder sb, Object value, Options o, int depth) {
    if (depth > 1000) {
      throw new Py.PyError("Circular reference detected");
    }
    switch (value) {
      case null -> sb.append("null");
      case PyNone n -> sb.append("null");
      case Boolean b -> sb.append(b ? "true" : "false");
      case String s -> string(sb, s, o.ensureAscii());
      case Long l -> sb.append(l);
      case java.math.BigInteger b -> sb.append(b);
      case Double d -> sb.append(number(d));
      case Map<?, ?> m -> {
        List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
        if (o.sortKeys()) {
          entries.sort((a, b) -> Py.compare(a.getKey(), b.getKey(), "<"));
        }
        if (entries.isEmpty()) {
          sb.append("{}");
          return;
        }
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : entries) {
          separator(sb, o, depth + 1, first);
          first = false;
          string(sb, key(Py.normalize(e.getKey())), o.ensureAscii());
          sb.append(o.keySeparator());
          write(sb, Py.normalize(e.getValue()), o, depth + 1);
        }
        newline(sb, o, depth);
        sb.append('}');
      }
      default -> {
        if (!(Py.isSequence(value) || value instanceof Collection)) {
          throw new Py.PyError(
              "Object of type " + Py.typeName(value) + " is not JSON serializable");
        }
        List<?> items = Py.asList(value);
        if (items.isEmpty()) {
          sb.append("[]");
          return;
        }
        sb.append('[');
        boolean first = true;
        for (Object item : items) {
          separator(sb, o, depth + 1, first);
          first = false;
          write(sb, Py.normalize(item), o, depth + 1);
        }
        newline(sb, o, depth);
        sb.append(']');
      }
    }
  }

  private static void separator(StringBuilder sb, Options o, int depth, boolean first) {
    if (!first) {
      sb.append(o.itemSeparator());
    }
    newline(sb, o, depth);
  }

  private static void newline(StringBuilder sb, Options o, int depth) {
    if (o.indent() != null) {
      sb.append('\n').append(o.indent().repeat(depth));
    }
  }

  /** JSON object keys as Python converts them: str as is, numbers, bools and None as text. */
  private static String key(Object k) {
    return switch (k) {
      case String s -> s;
      case null -> "null";
      case PyNone n -> "null";
      case Boolean b -> b ? "true" : "false";
      case Double d -> number(d);
      case Long l -> l.toString();
      case java.math.BigInteger b -> b.toString();
      default ->
          throw new Py.PyError("keys must be str, int, float, bool or None, not " + Py.typeName(k));
    };
  }

  private static String number(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    return Py.reprFloat(d);
  }

  /**
   * A JSON string: quote, backslash and control characters escaped (the short form where JSON has
   * one, else backslash-u and four hex digits); with ensure_ascii, everything outside printable
   * ASCII escaped the same way (as UTF-16 units).
   */
  static void string(StringBuilder sb, String s, boolean ensureAscii) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          if (c < 0x20 || (ensureAscii && c > 0x7e)) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
