package rl.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ToyTokenizerTest {
  @Test
  void everyByteIsItsOwnTokenAndSpecialTokensFollow(@TempDir Path dir) throws IOException {
    ToyTokenizer.write(dir);
    try (HfTokenizer toy = HfTokenizer.load(dir)) {
      assertEquals(ToyTokenizer.VOCAB_SIZE, toy.vocabSize());
      String text = "12 + 30 = 42\n\tcafé ☕ 😀";
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      int[] expected = new int[bytes.length];
      for (int i = 0; i < bytes.length; i++) {
        expected[i] = bytes[i] & 0xFF;
      }
      assertArrayEquals(expected, toy.encode(text));
      assertEquals(text, toy.decode(toy.encode(text)));
      int[] all = new int[256];
      for (int b = 0; b < 256; b++) {
        all[b] = b;
      }
      assertEquals(256, toy.decode(all).getBytes(StandardCharsets.ISO_8859_1).length > 0 ? 256 : 0);
      assertArrayEquals(new int[] {257, 'h', 'i', 258}, toy.encode("<|im_start|>hi<|im_end|>"));
      assertEquals(258, toy.tokenId("<|im_end|>").getAsInt());
      assertTrue(toy.isSpecial(256));
      assertTrue(!toy.isSpecial('a'));
    }
    TokenizerConfig config = TokenizerConfig.load(dir);
    assertEquals("<|im_end|>", config.eosToken());
    assertEquals(ToyTokenizer.CHAT_TEMPLATE, config.chatTemplate(null));
  }
}
