package rl.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.model.Fixtures;

class TokenizerConfigTest {
  @Test
  void readsTheFixtureConfigs() {
    TokenizerConfig qwen = TokenizerConfig.load(Fixtures.root().resolve("tokenizers/qwen3"));
    assertEquals("<|im_end|>", qwen.eosToken());
    assertNull(qwen.bosToken());
    assertEquals("<|endoftext|>", qwen.padToken());
    assertFalse(qwen.addBosToken());
    assertTrue(qwen.chatTemplate(null).contains("<|im_start|>"));
    TokenizerConfig llama = TokenizerConfig.load(Fixtures.root().resolve("tokenizers/llama3"));
    assertEquals("<|begin_of_text|>", llama.bosToken());
    assertTrue(llama.chatTemplate(null).contains("<|start_header_id|>"));
  }

  @Test
  void acceptsAddedTokenObjectsNamedTemplatesAndEosLists(@TempDir Path dir) throws IOException {
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        """
        {"bos_token": {"content": "<s>", "lstrip": false, "special": true},
         "eos_token": "</s>", "add_bos_token": true,
         "chat_template": [{"name": "default", "template": "A"}, {"name": "tool_use", "template": "B"}]}
        """);
    Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [2, 32000]}");
    TokenizerConfig config = TokenizerConfig.load(dir);
    assertEquals("<s>", config.bosToken());
    assertTrue(config.addBosToken());
    assertEquals("A", config.chatTemplate(null));
    assertEquals("B", config.chatTemplate("tool_use"));
    assertEquals(List.of(2, 32000), config.generationEosIds());
    assertEquals(
        dir.resolve("tokenizer_config.json")
            + ": has no chat template named 'rag'; it has default, tool_use",
        assertThrows(TokenizerException.class, () -> config.chatTemplate("rag")).getMessage());
  }

  @Test
  void missingTemplateWhenOneIsNeeded(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
    assertEquals(
        dir.resolve("tokenizer_config.json")
            + ": has no chat_template, but one is needed to render chat messages",
        assertThrows(TokenizerException.class, () -> TokenizerConfig.load(dir).chatTemplate(null))
            .getMessage());
  }

  @Test
  void malformedFilesAreNamed(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\",\n  oops}");
    String message =
        assertThrows(TokenizerException.class, () -> TokenizerConfig.load(dir)).getMessage();
    assertTrue(
        message.startsWith(dir.resolve("tokenizer_config.json") + ": malformed JSON at line 2"),
        message);
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": 7}");
    assertEquals(
        dir.resolve("tokenizer_config.json")
            + ": eos_token must be a string or {\"content\": ...}, found 7",
        assertThrows(TokenizerException.class, () -> TokenizerConfig.load(dir)).getMessage());
    Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
    Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": \"x\"}");
    assertEquals(
        dir.resolve("generation_config.json")
            + ": eos_token_id must be an integer or a list, found \"x\"",
        assertThrows(TokenizerException.class, () -> TokenizerConfig.load(dir)).getMessage());
  }
}
