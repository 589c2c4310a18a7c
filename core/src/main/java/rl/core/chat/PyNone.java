package rl.core.chat;

/**
 * Python's None inside a rendering. Java null stands for Jinja2's undefined instead, so that {@code
 * tools is defined} (tools=None) is true, {@code {{ none }}} prints "None" and attribute access on
 * an undefined value raises, all as in Jinja2. Nulls in the caller's data become None when read (a
 * key present with a null value is None; a missing key is undefined).
 */
enum PyNone {
  NONE;

  @Override
  public String toString() {
    return "None";
  }
}
