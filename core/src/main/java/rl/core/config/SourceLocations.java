package rl.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Where each key of a YAML document was written, by key path ({@code optimizer.lr}, {@code
 * rewards[0].name}), so binding errors can point at a line. Overrides from the command line
 * register themselves under the {@code --set} argument that made them.
 */
final class SourceLocations {
  private final String sourceName;
  private final Map<String, String> whereByPath = new HashMap<>();

  private SourceLocations(String sourceName) {
    this.sourceName = sourceName;
  }

  /** Indexes every key of {@code yaml}; the text must already be known to parse. */
  static SourceLocations index(ObjectMapper yamlMapper, String yaml, String sourceName)
      throws IOException {
    SourceLocations locations = new SourceLocations(sourceName);
    // One frame per open container: the path prefix and, for arrays, the next element index.
    Deque<Frame> stack = new ArrayDeque<>();
    String pendingKey = null;
    try (JsonParser parser = yamlMapper.createParser(yaml)) {
      for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
        switch (token) {
          case FIELD_NAME -> {
            pendingKey = parser.currentName();
            String path = join(stack.isEmpty() ? "" : stack.peek().path, pendingKey);
            locations.whereByPath.put(path, format(sourceName, parser.currentTokenLocation()));
          }
          case START_OBJECT, START_ARRAY -> {
            String path = stack.isEmpty() ? "" : childPath(stack.peek(), pendingKey);
            stack.push(new Frame(path, token == JsonToken.START_ARRAY));
            pendingKey = null;
          }
          case END_OBJECT, END_ARRAY -> stack.pop();
          default -> {
            if (!stack.isEmpty() && stack.peek().isArray) {
              stack.peek().nextIndex++;
            }
          }
        }
      }
    }
    return locations;
  }

  private static String childPath(Frame parent, String key) {
    if (parent.isArray) {
      return parent.path + "[" + parent.nextIndex++ + "]";
    }
    return join(parent.path, key);
  }

  private static String join(String prefix, String key) {
    return prefix.isEmpty() ? key : prefix + "." + key;
  }

  static String format(String sourceName, JsonLocation location) {
    return sourceName + ":" + location.getLineNr() + ":" + location.getColumnNr();
  }

  void putOverride(String path, String argument) {
    whereByPath.put(path, "--set " + argument);
  }

  /**
   * The most precise place known for {@code path}: the key itself, else an override of something
   * inside it, else its nearest ancestor, else the source as a whole.
   */
  String where(String path) {
    if (whereByPath.containsKey(path)) {
      return whereByPath.get(path);
    }
    for (Map.Entry<String, String> entry : whereByPath.entrySet()) {
      String key = entry.getKey();
      if (entry.getValue().startsWith("--set ")
          && (key.startsWith(path + ".") || key.startsWith(path + "["))) {
        return entry.getValue();
      }
    }
    for (String p = path; !p.isEmpty(); p = parentOf(p)) {
      String where = whereByPath.get(p);
      if (where != null) {
        return where;
      }
    }
    return sourceName;
  }

  private static String parentOf(String path) {
    int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    return cut < 0 ? "" : path.substring(0, cut);
  }

  private static final class Frame {
    final String path;
    final boolean isArray;
    int nextIndex;

    Frame(String path, boolean isArray) {
      this.path = path;
      this.isArray = isArray;
    }
  }
}
