package rl.core.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Jinja2's filters with Python semantics, registered over Jinjava's filters of the same names
 * (whose Java semantics differ: {@code reverse} returns an array, {@code trim} strips only ASCII
 * whitespace, {@code tojson} writes compact JSON, ...). {@code tojson} is transformers' version.
 */
final class PyFilters {
  private PyFilters() {}

  @FunctionalInterface
  interface Body {
    Object apply(
        Object value, List<Object> args, Map<String, Object> kwargs, JinjavaInterpreter in);
  }

  /** A Jinjava filter running a Python-semantics body on normalized values. */
  record PyFilter(String name, Body body) implements Filter {
    @Override
    public String getName() {
      return name;
    }

    @Override
    public Object filter(
        Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      List<Object> list = new ArrayList<>();
      for (Object a : args) {
        list.add(Py.normalize(a));
      }
      Map<String, Object> kw = new LinkedHashMap<>();
      if (kwargs != null) {
        kwargs.forEach((k, v) -> kw.put(k, Py.normalize(v)));
      }
      return body.apply(Py.normalize(var), list, kw, interpreter);
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return filter(var, interpreter, args, Map.of());
    }
  }

  static List<Filter> all() {
    List<Filter> filters = new ArrayList<>();
    filters.add(
        new PyFilter(
            "tojson",
            (v, a, kw, in) -> {
              // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None,
              // sort_keys=False) -> json.dumps(x, ...)
              PyArgs.only(kw, "tojson", "ensure_ascii", "indent", "separators", "sort_keys");
              return PyJson.dumps(
                  v,
                  PyJson.options(
                      PyArgs.get(a, kw, 0, "ensure_ascii", false),
                      PyArgs.get(a, kw, 1, "indent", null),
                      PyArgs.get(a, kw, 2, "separators", null),
                      PyArgs.get(a, kw, 3, "sort_keys", false)));
            }));
    filters.add(new PyFilter("string", (v, a, kw, in) -> Py.str(v)));
    filters.add(
        new PyFilter(
            "trim",
            (v, a, kw, in) ->
                Py.strip(
                    Py.str(v), PyArgs.optString(PyArgs.get(a, kw, 0, "chars", null), "chars"))));
    filters.add(new PyFilter("length", (v, a, kw, in) -> length(v)));
    filters.add(new PyFilter("count", (v, a, kw, in) -> length(v)));
    filters.add(
        new PyFilter(
            "join",
            (v, a, kw, in) -> {
              String sep = Py.str(PyArgs.get(a, kw, 0, "d", ""));
              Object attribute = PyArgs.get(a, kw, 1, "attribute", null);
              StringBuilder sb = new StringBuilder();
              boolean first = true;
              for (Object item : Py.iter(v)) {
                sb.append(first ? "" : sep)
                    .append(Py.str(PyArgs.absent(attribute) ? item : attr(item, attribute)));
                first = false;
              }
              return sb.toString();
            }));
    filters.add(new PyFilter("upper", (v, a, kw, in) -> Py.str(v).toUpperCase(Locale.ROOT)));
    filters.add(new PyFilter("lower", (v, a, kw, in) -> Py.str(v).toLowerCase(Locale.ROOT)));
    filters.add(new PyFilter("capitalize", (v, a, kw, in) -> PyStrings.capitalize(Py.str(v))));
    filters.add(new PyFilter("title", (v, a, kw, in) -> title(Py.str(v))));
    filters.add(
        new PyFilter(
            "replace",
            (v, a, kw, in) -> {
              Object count = PyArgs.get(a, kw, 2, "count", null);
              return PyStrings.replace(
                  Py.str(v),
                  Py.str(PyArgs.get(a, kw, 0, "old", "")),
                  Py.str(PyArgs.get(a, kw, 1, "new", "")),
                  PyArgs.absent(count) ? -1 : Py.toLong(count, "count"));
            }));
    Body dflt =
        (v, a, kw, in) -> {
          Object fallback = PyArgs.get(a, kw, 0, "default_value", "");
          boolean onFalse = Py.truth(PyArgs.get(a, kw, 1, "boolean", false));
          return v == null || (onFalse && !Py.truth(v)) ? fallback : v;
        };
    filters.add(new PyFilter("default", dflt));
    filters.add(new PyFilter("d", dflt));
    filters.add(
        new PyFilter(
            "first",
            (v, a, kw, in) -> {
              List<?> items = Py.iter(v);
              return items.isEmpty() ? null : Py.normalize(items.getFirst());
            }));
    filters.add(
        new PyFilter(
            "last",
            (v, a, kw, in) -> {
              List<?> items = Py.iter(v);
              return items.isEmpty() ? null : Py.normalize(items.getLast());
            }));
    filters.add(new PyFilter("list", (v, a, kw, in) -> new ArrayList<>(Py.iter(v))));
    filters.add(
        new PyFilter(
            "reverse",
            (v, a, kw, in) ->
                v instanceof String s
                    ? Py.slice(s, null, null, -1L)
                    : new ArrayList<>(Py.iter(v)).reversed()));
    filters.add(
        new PyFilter(
            "items",
            (v, a, kw, in) -> {
              if (v == null) {
                return List.of();
              }
              if (!(v instanceof Map<?, ?> m)) {
                throw new Py.PyError("Can only get item pairs from a mapping.");
              }
              return Py.call(m, "items");
            }));
    filters.add(new PyFilter("safe", (v, a, kw, in) -> Py.str(v)));
    Body escape = (v, a, kw, in) -> escape(Py.str(v));
    filters.add(new PyFilter("escape", escape));
    filters.add(new PyFilter("e", escape));
    filters.add(new PyFilter("forceescape", escape));
    filters.add(
        new PyFilter(
            "indent",
            (v, a, kw, in) ->
                indent(
                    Py.str(v),
                    PyArgs.get(a, kw, 0, "width", 4L),
                    Py.truth(PyArgs.get(a, kw, 1, "first", false)),
                    Py.truth(PyArgs.get(a, kw, 2, "blank", false)))));
    filters.add(
        new PyFilter(
            "int",
            (v, a, kw, in) ->
                toInt(v, PyArgs.get(a, kw, 0, "default", 0L), PyArgs.get(a, kw, 1, "base", 10L))));
    filters.add(
        new PyFilter("float", (v, a, kw, in) -> toFloat(v, PyArgs.get(a, kw, 0, "default", 0.0))));
    filters.add(
        new PyFilter("abs", (v, a, kw, in) -> Py.truth(Py.lt(v, 0L)) ? Py.neg(v) : Py.pos(v)));
    filters.add(new PyFilter("map", PyFilters::map));
    filters.add(new PyFilter("select", (v, a, kw, in) -> select(v, a, kw, false, false)));
    filters.add(new PyFilter("reject", (v, a, kw, in) -> select(v, a, kw, true, false)));
    filters.add(new PyFilter("selectattr", (v, a, kw, in) -> select(v, a, kw, false, true)));
    filters.add(new PyFilter("rejectattr", (v, a, kw, in) -> select(v, a, kw, true, true)));
    filters.add(
        new PyFilter(
            "unique",
            (v, a, kw, in) -> {
              boolean caseSensitive = Py.truth(PyArgs.get(a, kw, 0, "case_sensitive", false));
              Object attribute = PyArgs.get(a, kw, 1, "attribute", null);
              List<Object> out = new ArrayList<>();
              List<Object> seen = new ArrayList<>();
              for (Object item : Py.iter(v)) {
                Object key =
                    sortKey(PyArgs.absent(attribute) ? item : attr(item, attribute), caseSensitive);
                if (seen.stream().noneMatch(s -> Py.eq(s, key))) {
                  seen.add(key);
                  out.add(Py.normalize(item));
                }
              }
              return out;
            }));
    filters.add(
        new PyFilter(
            "sort",
            (v, a, kw, in) -> {
              boolean reverse = Py.truth(PyArgs.get(a, kw, 0, "reverse", false));
              boolean caseSensitive = Py.truth(PyArgs.get(a, kw, 1, "case_sensitive", false));
              Object attribute = PyArgs.get(a, kw, 2, "attribute", null);
              List<Object> out = new ArrayList<>(Py.iter(v));
              Comparator<Object> order =
                  Comparator.comparing(
                      item ->
                          sortKey(
                              PyArgs.absent(attribute) ? item : attr(item, attribute),
                              caseSensitive),
                      (x, y) -> Py.compare(x, y, "<"));
              out.sort(reverse ? order.reversed() : order);
              return out;
            }));
    filters.add(
        new PyFilter(
            "dictsort",
            (v, a, kw, in) -> {
              boolean caseSensitive = Py.truth(PyArgs.get(a, kw, 0, "case_sensitive", false));
              String by = Py.str(PyArgs.get(a, kw, 1, "by", "key"));
              boolean reverse = Py.truth(PyArgs.get(a, kw, 2, "reverse", false));
              @SuppressWarnings("unchecked")
              List<Object> pairs = new ArrayList<>((List<Object>) Py.call(v, "items"));
              int pos = by.equals("key") ? 0 : 1;
              Comparator<Object> order =
                  Comparator.comparing(
                      pair -> sortKey(Py.getitem(pair, (long) pos), caseSensitive),
                      (x, y) -> Py.compare(x, y, "<"));
              pairs.sort(reverse ? order.reversed() : order);
              return pairs;
            }));
    return filters;
  }

  static long length(Object v) {
    return switch (v) {
      case null -> 0;
      case String s -> s.codePointCount(0, s.length());
      case Map<?, ?> m -> m.size();
      case Collection<?> c -> c.size();
      default -> {
        if (Py.isSequence(v)) {
          yield Py.asList(v).size();
        }
        throw new Py.PyError("object of type '" + Py.typeName(v) + "' has no len()");
      }
    };
  }

  /** Jinja2's attribute getter: a dotted path, integer parts as indexes. */
  static Object attr(Object item, Object path) {
    Object current = item;
    for (String part : Py.str(path).split("\\.")) {
      Object key =
          !part.isEmpty() && part.chars().allMatch(Character::isDigit)
              ? (Object) Long.parseLong(part)
              : part;
      current = Py.getitem(current, key);
    }
    return current;
  }

  private static Object sortKey(Object value, boolean caseSensitive) {
    value = Py.normalize(value);
    return !caseSensitive && value instanceof String s ? s.toLowerCase(Locale.ROOT) : value;
  }

  private static Object map(
      Object v, List<Object> args, Map<String, Object> kwargs, JinjavaInterpreter interpreter) {
    List<Object> out = new ArrayList<>();
    if (kwargs.containsKey("attribute")) {
      Object fallback = kwargs.get("default");
      for (Object item : Py.iter(v)) {
        Object value = attr(item, kwargs.get("attribute"));
        out.add(value == null ? fallback : value);
      }
      return out;
    }
    if (args.isEmpty()) {
      throw new Py.PyError("map requires a filter argument");
    }
    String name = Py.str(args.getFirst());
    Filter filter = interpreter.getContext().getFilter(name);
    if (filter == null) {
      throw new Py.PyError("No filter named '" + name + "'");
    }
    Object[] rest = args.subList(1, args.size()).toArray();
    for (Object item : Py.iter(v)) {
      out.add(filter.filter(item, interpreter, rest, kwargs));
    }
    return out;
  }

  private static Object select(
      Object v, List<Object> args, Map<String, Object> kwargs, boolean reject, boolean byAttr) {
    int i = 0;
    Object attribute = null;
    if (byAttr) {
      if (args.isEmpty()) {
        throw new Py.PyError("Missing parameter for attribute name");
      }
      attribute = args.get(i++);
    }
    String test = args.size() > i ? Py.str(args.get(i++)) : null;
    Object[] testArgs = args.subList(Math.min(i, args.size()), args.size()).toArray();
    List<Object> out = new ArrayList<>();
    for (Object item : Py.iter(v)) {
      Object value = byAttr ? attr(item, attribute) : item;
      boolean passed = test == null ? Py.truth(value) : Py.test(test, value, testArgs);
      if (passed != reject) {
        out.add(Py.normalize(item));
      }
    }
    return out;
  }

  private static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)");

  /** Jinja2's title filter: each word's first letter upper, the rest lower. */
  static String title(String s) {
    StringBuilder sb = new StringBuilder();
    var m = WORD_BEGINNING.matcher(s);
    int last = 0;
    while (m.find()) {
      titleWord(sb, s.substring(last, m.start()));
      sb.append(m.group());
      last = m.end();
    }
    titleWord(sb, s.substring(last));
    return sb.toString();
  }

  private static void titleWord(StringBuilder sb, String word) {
    if (!word.isEmpty()) {
      int first = word.codePointAt(0);
      sb.append(Character.toString(first).toUpperCase(Locale.ROOT))
          .append(word.substring(Character.charCount(first)).toLowerCase(Locale.ROOT));
    }
  }

  /** markupsafe's escape. */
  static String escape(String s) {
    StringBuilder sb = new StringBuilder();
    for (char c : s.toCharArray()) {
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&#34;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }

  /** Jinja2 3.1's indent filter. */
  static String indent(String s, Object width, boolean first, boolean blank) {
    String indention = width instanceof String w ? w : " ".repeat((int) Py.toLong(width, "width"));
    List<String> lines = PyStrings.splitlines(s + "\n", false);
    StringBuilder sb = new StringBuilder();
    if (blank) {
      sb.append(String.join("\n" + indention, lines));
    } else {
      sb.append(lines.getFirst());
      for (String line : lines.subList(1, lines.size())) {
        sb.append('\n').append(line.isEmpty() ? "" : indention + line);
      }
    }
    return first ? indention + sb : sb.toString();
  }

  private static Object toInt(Object v, Object dflt, Object base) {
    try {
      if (v instanceof String s) {
        return Py.normalize(
            new java.math.BigInteger(s.strip().replace("_", ""), (int) Py.toLong(base, "base")));
      }
      if (Py.isIntLike(v)) {
        return Py.normalize(Py.big(v));
      }
      if (v instanceof Double d) {
        return (long) (double) d;
      }
    } catch (NumberFormatException e) {
      // falls through to the float reading, as Jinja2 does
    }
    try {
      return (long) Double.parseDouble(Py.str(v).strip());
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  private static Object toFloat(Object v, Object dflt) {
    if (Py.isNumber(v)) {
      return Py.dbl(v);
    }
    try {
      return Double.parseDouble(Py.str(v).strip());
    } catch (NumberFormatException e) {
      return dflt;
    }
  }
}
