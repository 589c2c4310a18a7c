package rl.core.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The methods of Python's {@code str} that chat templates call, with Python's semantics: {@code
 * split(sep)} splits on the literal separator (never a regex), {@code strip(chars)} strips any of
 * the given characters, indexes count code points.
 */
final class PyStrings {
  private PyStrings() {}

  static Object call(String s, String name, List<Object> args, Map<String, Object> kwargs) {
    switch (name) {
      case "split", "rsplit" -> {
        PyArgs.only(kwargs, name, "sep", "maxsplit");
        PyArgs.count(args, 0, 2, name);
        String sep = PyArgs.optString(PyArgs.get(args, kwargs, 0, "sep", null), "sep");
        long max = Py.toLong(PyArgs.get(args, kwargs, 1, "maxsplit", -1L), "maxsplit");
        return name.equals("split") ? split(s, sep, max) : rsplit(s, sep, max);
      }
      case "splitlines" -> {
        PyArgs.only(kwargs, name, "keepends");
        PyArgs.count(args, 0, 1, name);
        return splitlines(s, Py.truth(PyArgs.get(args, kwargs, 0, "keepends", false)));
      }
      case "format" -> {
        return PyFormat.format(s, args, kwargs);
      }
      default -> {}
    }
    PyArgs.none(kwargs, name);
    switch (name) {
      case "startswith", "endswith" -> {
        PyArgs.count(args, 1, 3, name);
        String sub = window(s, args, 1);
        Object affix = args.get(0);
        List<?> options = Py.isSequence(affix) ? Py.asList(affix) : List.of(affix);
        for (Object option : options) {
          String o = PyArgs.string(option, name + " first arg");
          if (name.equals("startswith") ? sub.startsWith(o) : sub.endsWith(o)) {
            return true;
          }
        }
        return false;
      }
      case "strip", "lstrip", "rstrip" -> {
        PyArgs.count(args, 0, 1, name);
        String chars = args.isEmpty() ? null : PyArgs.optString(args.get(0), name + " arg");
        return switch (name) {
          case "strip" -> Py.strip(s, chars);
          case "lstrip" -> Py.lstrip(s, chars);
          default -> Py.rstrip(s, chars);
        };
      }
      case "replace" -> {
        PyArgs.count(args, 2, 3, name);
        String old = PyArgs.string(args.get(0), "replace() argument 1");
        String replacement = PyArgs.string(args.get(1), "replace() argument 2");
        long count =
            args.size() > 2 && !PyArgs.absent(args.get(2)) ? Py.toLong(args.get(2), "count") : -1;
        return replace(s, old, replacement, count);
      }
      case "upper" -> {
        PyArgs.count(args, 0, 0, name);
        return s.toUpperCase(Locale.ROOT);
      }
      case "lower" -> {
        PyArgs.count(args, 0, 0, name);
        return s.toLowerCase(Locale.ROOT);
      }
      case "title" -> {
        PyArgs.count(args, 0, 0, name);
        return title(s);
      }
      case "capitalize" -> {
        PyArgs.count(args, 0, 0, name);
        return capitalize(s);
      }
      case "find", "rfind", "index", "rindex", "count" -> {
        PyArgs.count(args, 1, 3, name);
        String sub = PyArgs.string(args.get(0), name + " arg");
        int offset = codePointStart(s, args, 1);
        String window = window(s, args, 1);
        if (name.equals("count")) {
          return count(window, sub);
        }
        int at = name.startsWith("r") ? window.lastIndexOf(sub) : window.indexOf(sub);
        if (at < 0 && name.endsWith("index")) {
          throw new Py.PyError("substring not found");
        }
        return at < 0 ? -1L : (long) (offset + window.codePointCount(0, at));
      }
      case "join" -> {
        PyArgs.count(args, 1, 1, name);
        StringBuilder sb = new StringBuilder();
        int i = 0;
        for (Object item : Py.iter(args.get(0))) {
          if (!(Py.unwrap(item) instanceof String part)) {
            throw new Py.PyError(
                "sequence item " + i + ": expected str instance, " + Py.typeName(item) + " found");
          }
          sb.append(i++ == 0 ? "" : s).append(part);
        }
        return sb.toString();
      }
      case "removeprefix" -> {
        PyArgs.count(args, 1, 1, name);
        String p = PyArgs.string(args.get(0), name + " arg");
        return s.startsWith(p) ? s.substring(p.length()) : s;
      }
      case "removesuffix" -> {
        PyArgs.count(args, 1, 1, name);
        String p = PyArgs.string(args.get(0), name + " arg");
        return s.endsWith(p) && !p.isEmpty() ? s.substring(0, s.length() - p.length()) : s;
      }
      case "isdigit", "isdecimal", "isnumeric" -> {
        PyArgs.count(args, 0, 0, name);
        return !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
      }
      case "isalpha" -> {
        PyArgs.count(args, 0, 0, name);
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
      }
      case "isalnum" -> {
        PyArgs.count(args, 0, 0, name);
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
      }
      case "isspace" -> {
        PyArgs.count(args, 0, 0, name);
        return !s.isEmpty() && s.codePoints().allMatch(Py::isSpace);
      }
      case "isupper", "islower" -> {
        PyArgs.count(args, 0, 0, name);
        boolean upper = name.equals("isupper");
        boolean cased = false;
        for (int cp : s.codePoints().toArray()) {
          if (Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp)) {
            cased = true;
            if (upper ? !Character.isUpperCase(cp) : !Character.isLowerCase(cp)) {
              return false;
            }
          }
        }
        return cased;
      }
      default -> throw Py.noMethod(s, name);
    }
  }

  /** Python's str.split: on runs of whitespace when sep is None, else on the literal sep. */
  static List<String> split(String s, String sep, long maxsplit) {
    List<String> out = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      int n = s.length();
      while (true) {
        while (i < n && Py.isSpace(s.charAt(i))) {
          i++;
        }
        if (i >= n) {
          return out;
        }
        if (maxsplit >= 0 && out.size() >= maxsplit) {
          out.add(s.substring(i)); // the rest keeps its trailing whitespace, as in Python
          return out;
        }
        int j = i;
        while (j < n && !Py.isSpace(s.charAt(j))) {
          j++;
        }
        out.add(s.substring(i, j));
        i = j;
      }
    }
    if (sep.isEmpty()) {
      throw new Py.PyError("empty separator");
    }
    int from = 0;
    while (maxsplit < 0 || out.size() < maxsplit) {
      int at = s.indexOf(sep, from);
      if (at < 0) {
        break;
      }
      out.add(s.substring(from, at));
      from = at + sep.length();
    }
    out.add(s.substring(from));
    return out;
  }

  /** Python's str.rsplit: split from the right (differs from split only with maxsplit). */
  static List<String> rsplit(String s, String sep, long maxsplit) {
    if (maxsplit < 0) {
      return split(s, sep, maxsplit);
    }
    List<String> out = new ArrayList<>();
    if (sep == null) {
      int j = s.length();
      while (true) {
        while (j > 0 && Py.isSpace(s.charAt(j - 1))) {
          j--;
        }
        if (j <= 0) {
          break;
        }
        if (out.size() >= maxsplit) {
          out.add(s.substring(0, j));
          break;
        }
        int i = j;
        while (i > 0 && !Py.isSpace(s.charAt(i - 1))) {
          i--;
        }
        out.add(s.substring(i, j));
        j = i;
      }
    } else {
      if (sep.isEmpty()) {
        throw new Py.PyError("empty separator");
      }
      int end = s.length();
      while (out.size() < maxsplit) {
        int at = s.lastIndexOf(sep, end - sep.length());
        if (at < 0) {
          break;
        }
        out.add(s.substring(at + sep.length(), end));
        end = at;
      }
      out.add(s.substring(0, end));
    }
    return out.reversed();
  }

  /** Python's str.splitlines: every line boundary Python knows, not only \n. */
  static List<String> splitlines(String s, boolean keepends) {
    List<String> out = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      int eol = i;
      if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
        i += 2;
      } else if ("\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029".indexOf(c) >= 0) {
        i++;
      } else {
        i++;
        continue;
      }
      out.add(s.substring(start, keepends ? i : eol));
      start = i;
    }
    if (start < s.length()) {
      out.add(s.substring(start));
    }
    return out;
  }

  static String replace(String s, String old, String replacement, long count) {
    if (count < 0) {
      if (old.isEmpty()) {
        // Python inserts the replacement between every character and at both ends.
        StringBuilder sb = new StringBuilder(replacement);
        s.codePoints().forEach(cp -> sb.appendCodePoint(cp).append(replacement));
        return sb.toString();
      }
      return s.replace(old, replacement);
    }
    StringBuilder sb = new StringBuilder();
    int from = 0;
    for (long n = 0; n < count; n++) {
      int at = old.isEmpty() ? (from <= s.length() ? from : -1) : s.indexOf(old, from);
      if (at < 0) {
        break;
      }
      sb.append(s, from, at).append(replacement);
      if (old.isEmpty()) {
        if (at >= s.length()) {
          return sb.toString();
        }
        int next = s.offsetByCodePoints(at, 1);
        sb.append(s, at, next);
        from = next;
      } else {
        from = at + old.length();
      }
    }
    return sb.append(s.substring(Math.min(from, s.length()))).toString();
  }

  /** Python's str.title: a letter after a cased letter is lowered, any other is title-cased. */
  static String title(String s) {
    StringBuilder sb = new StringBuilder();
    boolean previousCased = false;
    for (int cp : s.codePoints().toArray()) {
      boolean cased =
          Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
      sb.appendCodePoint(previousCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp));
      previousCased = cased;
    }
    return sb.toString();
  }

  /** Python's str.capitalize: first character title-cased, the rest lowered. */
  static String capitalize(String s) {
    if (s.isEmpty()) {
      return s;
    }
    int first = s.codePointAt(0);
    return Character.toString(Character.toTitleCase(first))
        + s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT);
  }

  private static long count(String s, String sub) {
    if (sub.isEmpty()) {
      return s.codePointCount(0, s.length()) + 1;
    }
    long n = 0;
    for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
      n++;
    }
    return n;
  }

  /** The part of s that optional start/end arguments (code point indexes) at args[i..] select. */
  private static String window(String s, List<Object> args, int i) {
    Object start = args.size() > i ? args.get(i) : null;
    Object end = args.size() > i + 1 ? args.get(i + 1) : null;
    if (start == null && end == null) {
      return s;
    }
    return (String) Py.slice(s, start, end, null);
  }

  private static int codePointStart(String s, List<Object> args, int i) {
    if (args.size() <= i || args.get(i) == null) {
      return 0;
    }
    int n = s.codePointCount(0, s.length());
    long start = Py.toLong(args.get(i), "start");
    return (int) Math.max(0, Math.min(n, start < 0 ? start + n : start));
  }
}
