package rl.dashboard;

import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The page and its front-end libraries, read once from the class path and served from memory by
 * exact path: no request names a file. Chart.js and the SockJS client come from their webjars (npm
 * packages republished on Maven Central), so nothing is fetched from a CDN.
 */
final class Assets {
  /** One file to serve. */
  record Asset(Buffer bytes, String contentType) {}

  private static final String PAGE = "rl/dashboard/";
  private static final String JS = "text/javascript; charset=utf-8";

  private final Map<String, Asset> byPath;

  private Assets(Map<String, Asset> byPath) {
    this.byPath = byPath;
  }

  /** The asset served at {@code path}, or null. */
  Asset get(String path) {
    return byPath.get(path);
  }

  static Assets load() {
    Map<String, Asset> assets = new LinkedHashMap<>();
    Asset index = new Asset(read(PAGE + "index.html"), "text/html; charset=utf-8");
    assets.put("/", index);
    assets.put("/index.html", index);
    assets.put(
        "/dashboard.css", new Asset(read(PAGE + "dashboard.css"), "text/css; charset=utf-8"));
    assets.put("/dashboard.js", new Asset(read(PAGE + "dashboard.js"), JS));
    assets.put("/eventbus-client.js", new Asset(read(PAGE + "eventbus-client.js"), JS));
    assets.put("/favicon.svg", new Asset(read(PAGE + "favicon.svg"), "image/svg+xml"));
    assets.put(
        "/vendor/chart.umd.min.js",
        new Asset(read(webjar("chart.js", "dist/chart.umd.min.js")), JS));
    assets.put(
        "/vendor/sockjs.min.js",
        new Asset(read(webjar("sockjs-client", "dist/sockjs.min.js")), JS));
    return new Assets(Map.copyOf(assets));
  }

  /** A file of an npm webjar on the class path, whatever version the build put there. */
  private static String webjar(String artifact, String file) {
    String properties = "META-INF/maven/org.webjars.npm/" + artifact + "/pom.properties";
    Properties pom = new Properties();
    try (InputStream in = stream(properties)) {
      pom.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + properties, e);
    }
    return "META-INF/resources/webjars/" + artifact + "/" + pom.getProperty("version") + "/" + file;
  }

  private static Buffer read(String resource) {
    try (InputStream in = stream(resource)) {
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource + " from the class path", e);
    }
  }

  private static InputStream stream(String resource) {
    InputStream in = Assets.class.getClassLoader().getResourceAsStream(resource);
    if (in == null) {
      throw new IllegalStateException(
          resource + " is not on the class path; the dashboard's assets are part of the rl build");
    }
    return in;
  }
}
