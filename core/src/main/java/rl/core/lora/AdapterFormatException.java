package rl.core.lora;

/** A PEFT adapter directory that cannot be used; the message names the file, key and value. */
public final class AdapterFormatException extends RuntimeException {
  public AdapterFormatException(String message) {
    super(message);
  }

  public AdapterFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
