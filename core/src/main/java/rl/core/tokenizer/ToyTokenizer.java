package rl.core.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes the tokenizer of the project's small demo models: byte-level BPE with no merges, so token
 * id b (0–255) is the byte b, followed by the special tokens a chat needs, plus a minimal ChatML
 * template. The files have the Hugging Face layout and load through {@link HfTokenizer} and {@link
 * TokenizerConfig} like any real tokenizer.
 */
public final class ToyTokenizer {
  /** Special tokens, ids 256, 257, 258. */
  public static final List<String> SPECIAL_TOKENS =
      List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");

  public static final int VOCAB_SIZE = 256 + SPECIAL_TOKENS.size();

  /** ChatML: {@code <|im_start|>role\ncontent<|im_end|>\n} per message. */
  public static final String CHAT_TEMPLATE =
      "{%- for message in messages %}"
          + "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
          + "{%- endfor %}"
          + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ToyTokenizer() {}

  /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}. */
  public static void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(
        dir.resolve(HfTokenizer.TOKENIZER_FILE), JSON.writeValueAsString(tokenizerJson()));
    ObjectNode config = JSON.createObjectNode();
    config.put("tokenizer_class", "PreTrainedTokenizerFast");
    config.putNull("bos_token");
    config.put("eos_token", "<|im_end|>");
    config.put("pad_token", "<|endoftext|>");
    config.put("add_bos_token", false);
    config.put("chat_template", CHAT_TEMPLATE);
    Files.writeString(dir.resolve(TokenizerConfig.CONFIG_FILE), JSON.writeValueAsString(config));
  }

  private static ObjectNode tokenizerJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
      ObjectNode token = added.addObject();
      token.put("id", 256 + i);
      token.put("content", SPECIAL_TOKENS.get(i));
      token.put("single_word", false);
      token.put("lstrip", false);
      token.put("rstrip", false);
      token.put("normalized", false);
      token.put("special", true);
    }
    root.putNull("normalizer");
    // No regex split: every byte is its own token, spaces included.
    root.set("pre_tokenizer", byteLevel());
    root.putNull("post_processor");
    root.set("decoder", byteLevel());
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    model.put("ignore_merges", false);
    ObjectNode vocab = model.putObject("vocab");
    for (int b = 0; b < 256; b++) {
      vocab.put(String.valueOf(Character.toChars(byteToUnicode(b))), b);
    }
    model.putArray("merges");
    return root;
  }

  private static ObjectNode byteLevel() {
    ObjectNode node = JSON.createObjectNode();
    node.put("type", "ByteLevel");
    node.put("add_prefix_space", false);
    node.put("trim_offsets", true);
    node.put("use_regex", false);
    return node;
  }

  /**
   * The byte-level alphabet: printable Latin-1 bytes stand for themselves, every other byte for the
   * next free code point from U+0100, so each byte is one visible character.
   */
  static int byteToUnicode(int b) {
    boolean printable =
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    if (printable) {
      return b;
    }
    int shifted = 0;
    for (int c = 0; c < b; c++) {
      boolean p = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
      if (!p) {
        shifted++;
      }
    }
    return 256 + shifted;
  }
}
