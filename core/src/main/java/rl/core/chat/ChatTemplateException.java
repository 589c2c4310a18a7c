package rl.core.chat;

/**
 * A chat template that cannot be compiled or rendered: a syntax error, an unsupported construct, an
 * error while rendering (a Python TypeError, an unknown filter, ...), or a message the template
 * raised itself with {@code raise_exception}, which is the message here verbatim.
 */
public final class ChatTemplateException extends RuntimeException {
  private final int line;

  public ChatTemplateException(String message, int line) {
    super(message);
    this.line = line;
  }

  public ChatTemplateException(String message, int line, Throwable cause) {
    super(message, cause);
    this.line = line;
  }

  /** The template line the error is on (1-based), or -1 when not known. */
  public int line() {
    return line;
  }
}
