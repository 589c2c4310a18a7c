package rl.core.chat;

import java.util.AbstractList;
import java.util.List;

/** A Python tuple: a list that prints with parentheses, as Jinja2 prints {@code (1, 2)}. */
final class PyTuple extends AbstractList<Object> {
  private final List<Object> items;

  PyTuple(List<Object> items) {
    this.items = List.copyOf(items.stream().map(i -> i == null ? PyNone.NONE : i).toList());
  }

  @Override
  public Object get(int index) {
    return items.get(index);
  }

  @Override
  public int size() {
    return items.size();
  }
}
