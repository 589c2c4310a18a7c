package rl.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.model.Fixtures;

class IncrementalDecoderTest {
  private static HfTokenizer qwen;
  private static HfTokenizer llama;

  @BeforeAll
  static void load() {
    qwen = HfTokenizer.load(Fixtures.root().resolve("tokenizers/qwen3"));
    llama = HfTokenizer.load(Fixtures.root().resolve("tokenizers/llama3"));
  }

  @AfterAll
  static void close() {
    qwen.close();
    llama.close();
  }

  /** Pieces of text that split UTF-8 sequences across byte-level tokens. */
  private static final List<String> ALPHABET =
      List.of(
          "a",
          "Z",
          " ",
          "\n",
          "7",
          ".",
          "é",
          "ß",
          "ж",
          "中",
          "文",
          "ا",
          "ש",
          "ก",
          "\u0301",
          "\u0308",
          "😀",
          "🧪",
          "👨\u200d👩\u200d👧",
          "🏳\ufe0f\u200d🌈",
          "𝔘",
          "𐍈",
          "\t",
          "ﬁ",
          "<|im_end|>",
          "…",
          "€");

  private static String randomText(Random random) {
    StringBuilder text = new StringBuilder();
    int pieces = 1 + random.nextInt(24);
    for (int i = 0; i < pieces; i++) {
      text.append(ALPHABET.get(random.nextInt(ALPHABET.size())));
    }
    return text.toString();
  }

  /** After every token the emitted text is the full decode so far, minus an unfinished tail. */
  private static void checkStreaming(Tokenizer tokenizer, String text) {
    int[] ids = tokenizer.encode(text);
    IncrementalDecoder decoder = new IncrementalDecoder(tokenizer);
    StringBuilder streamed = new StringBuilder();
    for (int k = 0; k < ids.length; k++) {
      streamed.append(decoder.push(ids[k]));
      String full = tokenizer.decode(Arrays.copyOf(ids, k + 1));
      String shown = streamed.toString();
      assertEquals(shown, decoder.text());
      assertTrue(full.startsWith(shown), "'" + shown + "' is not a prefix of '" + full + "'");
      assertTrue(
          shown.isEmpty() || !Character.isHighSurrogate(shown.charAt(shown.length() - 1)),
          "emitted half a surrogate pair");
      assertTrue(!shown.contains("\uFFFD"), "emitted a replacement character for '" + text + "'");
      if (!full.endsWith("\uFFFD")) {
        assertEquals(full, shown, "complete prefix of '" + text + "' after token " + k);
      }
    }
    streamed.append(decoder.flush());
    // The full decode, not the input: Qwen3's tokenizer normalises to NFC on the way in.
    assertEquals(tokenizer.decode(ids), streamed.toString());
  }

  @Test
  void streamingEqualsFullDecodeOnRandomUnicode() {
    Random random = new Random(42);
    for (int i = 0; i < 300; i++) {
      String text = randomText(random);
      checkStreaming(qwen, text);
      checkStreaming(llama, text);
    }
  }

  @Test
  void toyTokenizerStreamsByteByByte(@TempDir Path dir) throws IOException {
    ToyTokenizer.write(dir);
    try (HfTokenizer toy = HfTokenizer.load(dir)) {
      Random random = new Random(3);
      for (int i = 0; i < 100; i++) {
        checkStreaming(toy, randomText(random));
      }
      // "😀" is four bytes: nothing is emitted until the fourth.
      IncrementalDecoder decoder = new IncrementalDecoder(toy);
      int[] ids = toy.encode("😀");
      assertEquals(4, ids.length);
      assertEquals("", decoder.push(ids[0]));
      assertEquals("", decoder.push(ids[1]));
      assertEquals("", decoder.push(ids[2]));
      assertEquals("😀", decoder.push(ids[3]));
    }
  }

  @Test
  void flushEmitsAnUnfinishedCharacterAsReplacement(@TempDir Path dir) throws IOException {
    ToyTokenizer.write(dir);
    try (HfTokenizer toy = HfTokenizer.load(dir)) {
      IncrementalDecoder decoder = new IncrementalDecoder(toy);
      assertEquals("a", decoder.push('a'));
      assertEquals("", decoder.push(0xF0));
      assertEquals("\uFFFD", decoder.flush());
      assertEquals("a\uFFFD", decoder.text());
    }
  }
}
