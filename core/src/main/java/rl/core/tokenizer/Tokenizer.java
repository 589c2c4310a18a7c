package rl.core.tokenizer;

import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * Text to token ids and back, exactly as the model's Hugging Face tokenizer does it. Chat templates
 * are not applied here: {@link #encode} tokenizes the text it is given, special-token strings
 * included (so {@code "<|im_start|>"} in the text becomes its single special id).
 */
public interface Tokenizer {
  /**
   * The ids of {@code text}, without adding any special tokens (no BOS/EOS): Hugging Face's {@code
   * encode(text, add_special_tokens=False)}.
   */
  int[] encode(String text);

  /**
   * The text of {@code ids}, special tokens kept: Hugging Face's {@code decode(ids,
   * skip_special_tokens=False)}, so {@code decode(encode(text))} gives back {@code text} for the
   * tokenizers this project supports.
   */
  String decode(int[] ids);

  /**
   * Number of ids the tokenizer can produce: one more than the largest id of its vocabulary and
   * added tokens (Hugging Face's {@code len(tokenizer)}). A model's {@code vocab_size} may be
   * larger (padded), never smaller.
   */
  int vocabSize();

  /** The file the tokenizer was read from. */
  Path source();

  /**
   * The id of a token string such as {@code "<|im_end|>"}: an added token's id, or the id of a text
   * that encodes to exactly one token; empty otherwise.
   */
  OptionalInt tokenId(String token);

  /** Whether {@code id} is a special token (an added token marked special). */
  boolean isSpecial(int id);
}
