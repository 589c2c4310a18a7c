package rl.core.config;

/**
 * A configuration file or override that cannot be used. The message is written for the user: it
 * names the source (file and line, or the {@code --set} argument), the key path, the bad value and
 * what was expected.
 */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
