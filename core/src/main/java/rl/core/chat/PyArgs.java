package rl.core.chat;

import java.util.List;
import java.util.Map;

/** Argument checks for the Python functions, with Python's wording. */
final class PyArgs {
  private PyArgs() {}

  static void count(List<Object> args, int min, int max, String name) {
    if (args.size() < min || args.size() > max) {
      String expected = min == max ? "exactly " + min : min + " to " + max;
      throw new Py.PyError(
          name + "() takes " + expected + " arguments (" + args.size() + " given)");
    }
  }

  static void none(Map<String, Object> kwargs, String name) {
    if (!kwargs.isEmpty()) {
      throw new Py.PyError(name + "() takes no keyword arguments");
    }
  }

  /** Positional argument i, else keyword, else the default. */
  static Object get(
      List<Object> args, Map<String, Object> kwargs, int i, String keyword, Object dflt) {
    if (i < args.size()) {
      if (kwargs.containsKey(keyword)) {
        throw new Py.PyError("got multiple values for argument '" + keyword + "'");
      }
      return args.get(i);
    }
    return kwargs.getOrDefault(keyword, dflt);
  }

  /** Fails on keywords outside the allowed ones. */
  static void only(Map<String, Object> kwargs, String name, String... allowed) {
    for (String key : kwargs.keySet()) {
      if (!List.of(allowed).contains(key)) {
        throw new Py.PyError(name + "() got an unexpected keyword argument '" + key + "'");
      }
    }
  }

  static String string(Object o, String what) {
    o = Py.unwrap(o);
    if (!(o instanceof String s)) {
      throw new Py.PyError(what + " must be str, not " + Py.typeName(o));
    }
    return s;
  }

  /** A str argument that may be None (null). */
  static String optString(Object o, String what) {
    return absent(o) ? null : string(o, what);
  }

  /** An optional argument left out or given as None. */
  static boolean absent(Object o) {
    return o == null || o == PyNone.NONE;
  }
}
