package rl.core.safetensors;

/**
 * A safetensors file, shard index or directory that cannot be used, or a tensor that is missing or
 * not what the caller expected. The message names the file, the tensor or key where relevant, and
 * what was expected versus what was found.
 */
public final class SafetensorsException extends RuntimeException {
  public SafetensorsException(String message) {
    super(message);
  }

  public SafetensorsException(String message, Throwable cause) {
    super(message, cause);
  }
}
