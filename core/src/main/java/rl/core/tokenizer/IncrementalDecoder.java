package rl.core.tokenizer;

import java.util.Arrays;

/**
 * Turns a stream of token ids into text as it arrives, for streaming output and stop strings. Never
 * emits half a character: a token that ends inside a multi-byte UTF-8 sequence decodes to U+FFFD,
 * so text is held back until a later token completes it. The pieces emitted so far always equal the
 * full decode of the ids so far, minus such an unfinished tail.
 *
 * <p>Decodes a short window (from the last emitted boundary), not the whole sequence, so a long
 * generation costs linear time.
 */
public final class IncrementalDecoder {
  private static final char REPLACEMENT = '\uFFFD';

  private final Tokenizer tokenizer;
  private int[] ids = new int[16];
  private int length;

  /** Start of the window that is re-decoded; tokens before it are settled. */
  private int prefixOffset;

  /** End of the tokens whose text has been emitted. */
  private int readOffset;

  private final StringBuilder emitted = new StringBuilder();

  public IncrementalDecoder(Tokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** Adds one token and returns the text that became final with it (possibly empty). */
  public String push(int id) {
    if (length == ids.length) {
      ids = Arrays.copyOf(ids, 2 * length);
    }
    ids[length++] = id;
    return advance(false);
  }

  /** Emits whatever is held back (an unfinished character decodes as U+FFFD) and returns it. */
  public String flush() {
    return advance(true);
  }

  private String advance(boolean force) {
    String before = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset));
    String after = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, length));
    String delta;
    if (after.startsWith(before)) {
      delta = after.substring(before.length());
    } else {
      // The window decodes differently from its prefix (a decoder that rewrites across
      // tokens): fall back to the whole sequence, which is always right.
      String full = tokenizer.decode(Arrays.copyOf(ids, length));
      if (!full.startsWith(emitted.toString())) {
        throw new IllegalStateException(
            "decoding is not prefix-stable: emitted '" + emitted + "', full decode '" + full + "'");
      }
      delta = full.substring(emitted.length());
    }
    if (!force && (delta.isEmpty() || delta.charAt(delta.length() - 1) == REPLACEMENT)) {
      return "";
    }
    prefixOffset = readOffset;
    readOffset = length;
    emitted.append(delta);
    return delta;
  }

  /** Everything emitted so far. */
  public String text() {
    return emitted.toString();
  }

  public int tokens() {
    return length;
  }
}
