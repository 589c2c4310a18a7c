package rl.rewards.text;

/**
 * A completion as a {@link CharSequence} that stops a regex match once its thread is interrupted.
 *
 * <p>{@link java.util.regex} ignores interrupts, so a pattern with catastrophic backtracking would
 * hold its thread forever after the pipeline's time-out; checking the flag on character reads ends
 * it instead.
 */
final class InterruptibleText implements CharSequence {
  private final CharSequence text;
  private int reads;

  InterruptibleText(CharSequence text) {
    this.text = text;
  }

  @Override
  public char charAt(int index) {
    // Checking every read would slow matching down; every 4096th is within microseconds.
    if ((++reads & 0xFFF) == 0 && Thread.currentThread().isInterrupted()) {
      throw new IllegalStateException("regex match interrupted (the call timed out)");
    }
    return text.charAt(index);
  }

  @Override
  public int length() {
    return text.length();
  }

  @Override
  public CharSequence subSequence(int start, int end) {
    return new InterruptibleText(text.subSequence(start, end));
  }

  @Override
  public String toString() {
    return text.toString();
  }
}
