package rl.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.model.Fixtures;

class PromptEncoderTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  @SuppressWarnings("unchecked")
  void encodesEveryReferenceChatAndCachesRepeats() throws IOException {
    for (Path dir : Fixtures.find("tokenizers", "reference.json")) {
      JsonNode reference = JSON.readTree(dir.resolve("reference.json").toFile());
      try (PromptEncoder encoder = PromptEncoder.load(dir)) {
        for (int pass = 0; pass < 2; pass++) {
          for (JsonNode chat : reference.get("chats")) {
            List<Map<String, Object>> messages =
                JSON.convertValue(chat.get("messages"), List.class);
            Map<String, Object> variables = new HashMap<>();
            if (chat.has("enable_thinking")) {
              variables.put("enable_thinking", chat.get("enable_thinking").asBoolean());
            }
            int[] ids =
                encoder.encodeChat(
                    messages, chat.get("add_generation_prompt").asBoolean(), variables);
            int[] expected = JSON.convertValue(chat.get("ids"), int[].class);
            assertArrayEquals(expected, ids, dir.getFileName() + ": " + chat.get("messages"));
          }
        }
        assertEquals(0.5, encoder.cacheHitRate(), 1e-9, "the second pass is served from the cache");
      }
    }
  }

  @Test
  void eosIdsAndBos() {
    try (PromptEncoder qwen = PromptEncoder.load(Fixtures.root().resolve("tokenizers/qwen3"))) {
      assertArrayEquals(new int[] {151645}, qwen.eosIds(), "<|im_end|>");
      assertArrayEquals(qwen.tokenizer().encode("hi"), qwen.encodeText("hi"));
    }
    try (PromptEncoder llama = PromptEncoder.load(Fixtures.root().resolve("tokenizers/llama3"))) {
      // This tokenizer.json's post-processor is plain ByteLevel and its config sets no
      // add_bos_token, so transformers adds no BOS to plain text either.
      assertArrayEquals(llama.tokenizer().encode("hi"), llama.encodeText("hi"));
    }
  }

  @Test
  void addBosTokenPutsTheBosFirst(@TempDir Path dir) throws IOException {
    ToyTokenizer.write(dir);
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        "{\"bos_token\": \"<|endoftext|>\", \"add_bos_token\": true}");
    try (PromptEncoder encoder = PromptEncoder.load(dir)) {
      assertArrayEquals(new int[] {256, 'h', 'i'}, encoder.encodeText("hi"));
    }
  }

  @Test
  void aMissingTemplateIsReportedWhenNeeded(@TempDir Path dir) throws IOException {
    ToyTokenizer.write(dir);
    Path config = dir.resolve("tokenizer_config.json");
    Files.writeString(config, "{\"eos_token\": \"<|im_end|>\"}");
    try (PromptEncoder encoder = PromptEncoder.load(dir)) {
      assertFalse(encoder.hasChatTemplate());
      assertArrayEquals(new int[] {258}, encoder.eosIds());
      TokenizerException e =
          assertThrows(
              TokenizerException.class,
              () ->
                  encoder.encodeChat(
                      List.of(Map.of("role", "user", "content", "hi")), true, Map.of()));
      assertTrue(e.getMessage().startsWith(config + ": has no chat_template"), e.getMessage());
    }
  }

  @Test
  void toyChatTemplateRendersChatMl(@TempDir Path dir) throws IOException {
    ToyTokenizer.write(dir);
    try (PromptEncoder encoder = PromptEncoder.load(dir)) {
      List<Map<String, Object>> messages = List.of(Map.of("role", "user", "content", "1+1"));
      assertEquals(
          "<|im_start|>user\n1+1<|im_end|>\n<|im_start|>assistant\n",
          encoder.render(messages, true, Map.of()));
      int[] ids = encoder.encodeChat(messages, true, Map.of());
      assertEquals(257, ids[0]);
      assertEquals(encoder.render(messages, true, Map.of()), encoder.tokenizer().decode(ids));
    }
  }
}
