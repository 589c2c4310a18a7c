package rl.core.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a model directory says about its tokenizer beyond {@code tokenizer.json}: special-token
 * strings and chat templates from {@code tokenizer_config.json}, end-of-sequence ids from {@code
 * generation_config.json}. Both files are optional; absent fields are null or empty.
 *
 * @param bosToken beginning-of-sequence token text, or null
 * @param eosToken end-of-sequence token text, or null
 * @param padToken padding token text, or null
 * @param addBosToken whether encoding a prompt starts it with {@code bosToken}
 * @param chatTemplates templates by name; a single template is named {@code default}
 * @param generationEosIds {@code eos_token_id} of generation_config.json (one id or a list)
 * @param source the tokenizer_config.json path (whether or not it exists), for messages
 */
public record TokenizerConfig(
    String bosToken,
    String eosToken,
    String padToken,
    boolean addBosToken,
    Map<String, String> chatTemplates,
    List<Integer> generationEosIds,
    Path source) {

  public static final String CONFIG_FILE = "tokenizer_config.json";
  public static final String GENERATION_CONFIG_FILE = "generation_config.json";
  public static final String DEFAULT_TEMPLATE = "default";

  private static final ObjectMapper JSON = new ObjectMapper();

  public TokenizerConfig {
    // Keep the file's order of named templates for messages.
    chatTemplates = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(chatTemplates));
    generationEosIds = List.copyOf(generationEosIds);
  }

  /** Reads {@code dir/tokenizer_config.json} and {@code dir/generation_config.json}. */
  public static TokenizerConfig load(Path dir) {
    Path file = dir.resolve(CONFIG_FILE);
    JsonNode config = readObject(file);
    String bos = tokenText(file, config, "bos_token");
    String eos = tokenText(file, config, "eos_token");
    String pad = tokenText(file, config, "pad_token");
    JsonNode addBos = config.path("add_bos_token");
    if (!addBos.isMissingNode() && !addBos.isNull() && !addBos.isBoolean()) {
      throw new TokenizerException(file + ": add_bos_token must be true or false, found " + addBos);
    }
    Map<String, String> templates = new LinkedHashMap<>();
    JsonNode template = config.path("chat_template");
    if (template.isTextual()) {
      templates.put(DEFAULT_TEMPLATE, template.textValue());
    } else if (template.isArray()) {
      for (JsonNode entry : template) {
        JsonNode name = entry.path("name");
        JsonNode text = entry.path("template");
        if (!name.isTextual() || !text.isTextual()) {
          throw new TokenizerException(
              file
                  + ": chat_template list entries must be {\"name\": ..., \"template\": ...},"
                  + " found "
                  + entry);
        }
        templates.put(name.textValue(), text.textValue());
      }
    } else if (!template.isMissingNode() && !template.isNull()) {
      throw new TokenizerException(
          file
              + ": chat_template must be a string or a list of named templates, found "
              + template.getNodeType());
    }
    Path generationFile = dir.resolve(GENERATION_CONFIG_FILE);
    List<Integer> eosIds = new ArrayList<>();
    JsonNode generation = readObject(generationFile);
    JsonNode eosId = generation.path("eos_token_id");
    if (eosId.isIntegralNumber()) {
      eosIds.add(eosId.intValue());
    } else if (eosId.isArray()) {
      for (JsonNode id : eosId) {
        if (!id.isIntegralNumber()) {
          throw new TokenizerException(
              generationFile + ": eos_token_id list holds " + id + ", expected integers");
        }
        eosIds.add(id.intValue());
      }
    } else if (!eosId.isMissingNode() && !eosId.isNull()) {
      throw new TokenizerException(
          generationFile + ": eos_token_id must be an integer or a list, found " + eosId);
    }
    return new TokenizerConfig(bos, eos, pad, addBos.asBoolean(false), templates, eosIds, file);
  }

  /** The named template, or the default one when {@code name} is null. */
  public String chatTemplate(String name) {
    String key = name == null ? DEFAULT_TEMPLATE : name;
    String template = chatTemplates.get(key);
    if (template == null) {
      throw new TokenizerException(
          source
              + (chatTemplates.isEmpty()
                  ? ": has no chat_template, but one is needed to render chat messages"
                  : ": has no chat template named '"
                      + key
                      + "'; it has "
                      + String.join(", ", chatTemplates.keySet())));
    }
    return template;
  }

  /** A file's top-level JSON object; an empty object when the file does not exist. */
  private static JsonNode readObject(Path file) {
    if (!Files.exists(file)) {
      return JSON.createObjectNode();
    }
    JsonNode node;
    try {
      node = JSON.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw new TokenizerException(
          file
              + ": malformed JSON at line "
              + e.getLocation().getLineNr()
              + ", column "
              + e.getLocation().getColumnNr()
              + ": "
              + e.getOriginalMessage(),
          e);
    } catch (IOException e) {
      throw new TokenizerException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new TokenizerException(file + ": expected a JSON object at the top level");
    }
    return node;
  }

  /** A special token given as a string or as an AddedToken object {@code {"content": ...}}. */
  private static String tokenText(Path file, JsonNode config, String key) {
    JsonNode node = config.path(key);
    if (node.isMissingNode() || node.isNull()) {
      return null;
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isObject() && node.path("content").isTextual()) {
      return node.path("content").textValue();
    }
    throw new TokenizerException(
        file + ": " + key + " must be a string or {\"content\": ...}, found " + node);
  }
}
