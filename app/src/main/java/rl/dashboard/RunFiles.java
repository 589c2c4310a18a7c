package rl.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads one run directory for the dashboard. Only three files, by fixed name, are ever opened:
 * {@code metrics.jsonl}, {@code samples.jsonl} and {@code config.yaml}; no request chooses a path,
 * and a file that resolves (through a link) outside the run directory is refused. A line still
 * being written (no newline yet) is left out.
 */
final class RunFiles {
  static final String METRICS = "metrics.jsonl";
  static final String SAMPLES = "samples.jsonl";
  static final String CONFIG = "config.yaml";
  private static final Set<String> NAMES = Set.of(METRICS, SAMPLES, CONFIG);
  private static final YAMLMapper YAML = new YAMLMapper();

  private final Path dir;

  RunFiles(Path runDir) throws IOException {
    this.dir = runDir.toRealPath();
  }

  /** The run directory, resolved. */
  Path dir() {
    return dir;
  }

  /** The run's name: its directory's. */
  String name() {
    return dir.getFileName().toString();
  }

  /** One of the run's files, if present; never a path outside the run directory. */
  Optional<Path> file(String name) throws IOException {
    if (!NAMES.contains(name)) {
      throw new IllegalArgumentException("not a run file: " + name + "; expected one of " + NAMES);
    }
    Path path = dir.resolve(name);
    if (!Files.exists(path)) {
      return Optional.empty();
    }
    Path real = path.toRealPath();
    if (!real.startsWith(dir) || !Files.isRegularFile(real)) {
      throw new SecurityException(name + " of run " + dir + " resolves to " + real + ", refused");
    }
    return Optional.of(real);
  }

  /** Every complete line of {@code metrics.jsonl}, in order. */
  JsonArray history() throws IOException {
    JsonArray out = new JsonArray();
    Optional<Path> file = file(METRICS);
    if (file.isPresent()) {
      String text = Files.readString(file.get(), StandardCharsets.UTF_8);
      int end = text.lastIndexOf('\n');
      for (String line : text.substring(0, end + 1).split("\n")) {
        addParsed(out, line);
      }
    }
    return out;
  }

  /** The last {@code limit} complete lines of {@code samples.jsonl}, oldest first. */
  JsonArray samples(int limit) throws IOException {
    JsonArray out = new JsonArray();
    Optional<Path> file = file(SAMPLES);
    if (file.isPresent()) {
      for (String line : tailLines(file.get(), limit)) {
        addParsed(out, line);
      }
    }
    return out;
  }

  private static void addParsed(JsonArray out, String line) {
    if (line.isBlank()) {
      return;
    }
    try {
      out.add(new JsonObject(line));
    } catch (DecodeException | ClassCastException e) {
      // A damaged line is left out rather than hiding the rest of the run.
    }
  }

  /** The run's resolved config as JSON, the dashboard token blanked out ("***") when one is set. */
  JsonObject config() throws IOException {
    Optional<Path> file = file(CONFIG);
    if (file.isEmpty()) {
      return new JsonObject();
    }
    JsonNode tree = YAML.readTree(file.get().toFile());
    if (tree == null || !tree.isObject()) {
      return new JsonObject();
    }
    if (tree.path("dashboard") instanceof ObjectNode dashboard
        && !dashboard.path("token").asText("").isEmpty()) {
      dashboard.put("token", "***");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> map = YAML.convertValue(tree, Map.class);
    return new JsonObject(map);
  }

  /** Seconds from the run's start (config written) to its last record; 0 when unknown. */
  double wallSeconds() throws IOException {
    Optional<Path> config = file(CONFIG);
    Optional<Path> metrics = file(METRICS);
    if (config.isEmpty() || metrics.isEmpty()) {
      return 0;
    }
    long ms =
        Files.getLastModifiedTime(metrics.get()).toMillis()
            - Files.getLastModifiedTime(config.get()).toMillis();
    return Math.max(0, ms / 1000.0);
  }

  /**
   * The last {@code n} newline-terminated lines of {@code file}, read backwards from its end so a
   * long run's samples are not read whole.
   */
  static List<String> tailLines(Path file, int n) throws IOException {
    if (n <= 0) {
      return List.of();
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      long position = size;
      long end = -1; // just past the last newline: the complete part of the file
      long start = 0;
      int newlines = 0;
      ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
      search:
      while (position > 0) {
        int length = (int) Math.min(chunk.capacity(), position);
        position -= length;
        chunk.clear().limit(length);
        while (chunk.hasRemaining()) {
          if (channel.read(chunk, position + chunk.position()) < 0) {
            throw new IOException(file + " shrank while being read");
          }
        }
        for (int i = length - 1; i >= 0; i--) {
          if (chunk.get(i) == '\n') {
            if (end < 0) {
              end = position + i + 1;
            } else if (++newlines == n) {
              start = position + i + 1;
              break search;
            }
          }
        }
      }
      if (end < 0) {
        return List.of();
      }
      ByteBuffer bytes = ByteBuffer.allocate(Math.toIntExact(end - start));
      while (bytes.hasRemaining()) {
        if (channel.read(bytes, start + bytes.position()) < 0) {
          throw new IOException(file + " shrank while being read");
        }
      }
      String text = new String(bytes.array(), StandardCharsets.UTF_8);
      List<String> lines = new ArrayList<>();
      for (String line : text.split("\n")) {
        if (!line.isEmpty()) {
          lines.add(line);
        }
      }
      return lines;
    }
  }
}
