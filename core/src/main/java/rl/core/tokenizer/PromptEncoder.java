package rl.core.tokenizer;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import rl.core.chat.ChatTemplate;

/**
 * Turns prompts into token ids the way the model saw them in training: chat messages through the
 * tokenizer's chat template, then the tokenizer. RL draws the same prompts every epoch, so
 * encodings are cached, bounded by the number of token ids held.
 */
public final class PromptEncoder implements AutoCloseable {
  /** Default cache bound: token ids held across all cached prompts. */
  public static final long DEFAULT_CACHE_TOKENS = 16L << 20;

  private final HfTokenizer tokenizer;
  private final TokenizerConfig config;
  private final ChatTemplate template;
  private final Cache<CacheKey, int[]> cache;

  private record CacheKey(
      List<Map<String, Object>> messages,
      boolean generationPrompt,
      Map<String, Object> variables) {}

  private PromptEncoder(
      HfTokenizer tokenizer, TokenizerConfig config, ChatTemplate template, long cacheTokens) {
    this.tokenizer = tokenizer;
    this.config = config;
    this.template = template;
    this.cache =
        Caffeine.newBuilder()
            .maximumWeight(cacheTokens)
            .weigher((CacheKey key, int[] ids) -> ids.length)
            .recordStats()
            .build();
  }

  /**
   * Loads the tokenizer of a model directory; the chat template, when the directory has one, is
   * compiled now so a broken template fails before any work.
   */
  public static PromptEncoder load(Path dir) {
    return load(dir, DEFAULT_CACHE_TOKENS);
  }

  public static PromptEncoder load(Path dir, long cacheTokens) {
    HfTokenizer tokenizer = HfTokenizer.load(dir);
    TokenizerConfig config = TokenizerConfig.load(dir);
    ChatTemplate template = null;
    if (config.chatTemplates().containsKey(TokenizerConfig.DEFAULT_TEMPLATE)) {
      Map<String, Object> special = new HashMap<>();
      special.put("bos_token", config.bosToken());
      special.put("eos_token", config.eosToken());
      special.put("pad_token", config.padToken());
      template = ChatTemplate.of(config.chatTemplate(null), special);
    }
    return new PromptEncoder(tokenizer, config, template, cacheTokens);
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  public TokenizerConfig config() {
    return config;
  }

  public boolean hasChatTemplate() {
    return template != null;
  }

  /** The chat template's text for {@code messages} ({@code role}, {@code content}, ...). */
  public String render(
      List<Map<String, Object>> messages,
      boolean addGenerationPrompt,
      Map<String, Object> variables) {
    if (template == null) {
      // Names the file and says what is missing.
      config.chatTemplate(null);
    }
    return template.render(messages, addGenerationPrompt, variables);
  }

  /**
   * The ids of rendered {@code messages}: special tokens in the template's text become their ids
   * and nothing is added around them, as transformers' {@code apply_chat_template(tokenize=True)}.
   */
  public int[] encodeChat(
      List<Map<String, Object>> messages,
      boolean addGenerationPrompt,
      Map<String, Object> variables) {
    // Copies, so a caller changing its maps later cannot corrupt the cache.
    CacheKey key =
        new CacheKey(
            messages.stream()
                .map(m -> Collections.unmodifiableMap(new LinkedHashMap<>(m)))
                .toList(),
            addGenerationPrompt,
            Collections.unmodifiableMap(new HashMap<>(variables)));
    return cache
        .get(key, k -> tokenizer.encode(render(messages, addGenerationPrompt, variables)))
        .clone();
  }

  /**
   * The ids of plain text as Hugging Face's {@code tokenizer(text)} gives them: with the special
   * tokens the tokenizer's post-processor adds, and the BOS token first when the tokenizer config
   * asks for it and the post-processor did not add it.
   */
  public int[] encodeText(String text) {
    int[] ids = tokenizer.encodeWithSpecialTokens(text);
    if (!config.addBosToken() || config.bosToken() == null) {
      return ids;
    }
    OptionalInt bos = tokenizer.tokenId(config.bosToken());
    if (bos.isEmpty()) {
      throw new TokenizerException(
          config.source()
              + ": bos_token '"
              + config.bosToken()
              + "' is not a token of "
              + tokenizer.source());
    }
    if (ids.length > 0 && ids[0] == bos.getAsInt()) {
      return ids;
    }
    int[] withBos = new int[ids.length + 1];
    withBos[0] = bos.getAsInt();
    System.arraycopy(ids, 0, withBos, 1, ids.length);
    return withBos;
  }

  /**
   * End-of-sequence ids: generation_config.json's {@code eos_token_id}, else the id of the
   * tokenizer config's {@code eos_token}.
   */
  public int[] eosIds() {
    if (!config.generationEosIds().isEmpty()) {
      return config.generationEosIds().stream().mapToInt(Integer::intValue).toArray();
    }
    if (config.eosToken() == null) {
      return new int[0];
    }
    return tokenizer.tokenId(config.eosToken()).stream().toArray();
  }

  /** Share of chat encodings served from the cache since loading. */
  public double cacheHitRate() {
    return cache.stats().hitRate();
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
