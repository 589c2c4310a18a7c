package rl.core.model;

/**
 * A model's {@code config.json} (or {@code generation_config.json}) that cannot be used. The
 * message names the file, the key, the value found and what was expected or supported.
 */
public final class ModelConfigException extends RuntimeException {
  public ModelConfigException(String message) {
    super(message);
  }

  public ModelConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
