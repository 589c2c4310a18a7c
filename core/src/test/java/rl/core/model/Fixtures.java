package rl.core.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where the reference fixtures live: the directory named by system property {@code rl.fixtures},
 * else the copy in this module's test resources. Both have the shared layout ({@code
 * models/NAME/fixture.json}, {@code tokenizers/NAME/reference.json}).
 */
public final class Fixtures {
  private Fixtures() {}

  public static Path root() {
    String property = System.getProperty("rl.fixtures");
    if (property != null && !property.isBlank()) {
      return Path.of(property);
    }
    URL url = Fixtures.class.getClassLoader().getResource("fixtures");
    if (url == null) {
      throw new IllegalStateException("no fixtures in test resources and rl.fixtures is not set");
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Every directory {@code root/kind/NAME} that holds {@code marker}, sorted by name. */
  public static List<Path> find(String kind, String marker) {
    Path dir = root().resolve(kind);
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("fixture directory " + dir + " does not exist");
    }
    try (Stream<Path> entries = Files.list(dir)) {
      List<Path> found =
          entries.filter(p -> Files.isRegularFile(p.resolve(marker))).sorted().toList();
      if (found.isEmpty()) {
        throw new IllegalStateException("no " + kind + "/*/" + marker + " under " + root());
      }
      return found;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
