package rl.core.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads YAML configuration into records, strictly.
 *
 * <p>Every record type supplies its defaults as a value (for example {@link RunConfig#DEFAULTS});
 * the file is laid over those defaults, then {@code --set path.to.key=value} overrides are laid
 * over the file, then the result is bound to the record. Unknown keys, wrong types, missing
 * required keys and malformed YAML each fail with a {@link ConfigException} that names the source
 * line, the key path, the bad value and what was expected.
 */
public final class ConfigLoader {
  private static final YAMLMapper YAML = configure(YAMLMapper.builder(yamlFactory())).build();
  private static final ObjectMapper JSON = configure(JsonMapper.builder()).build();

  private ConfigLoader() {}

  private static YAMLFactory yamlFactory() {
    return YAMLFactory.builder()
        .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
        .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
        .build();
  }

  private static <
          M extends ObjectMapper, B extends com.fasterxml.jackson.databind.cfg.MapperBuilder<M, B>>
      B configure(B builder) {
    return builder
        .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .serializationInclusion(JsonInclude.Include.NON_NULL);
  }

  /** Reads {@code file} over {@code defaults}, then applies {@code overrides}. */
  public static <T> T load(Path file, T defaults, List<String> overrides) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file + ": config file not found");
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read config file: " + e.getMessage(), e);
    }
    return read(text, file.toString(), defaults, overrides);
  }

  /** Reads YAML {@code text} (named {@code sourceName} in errors) over {@code defaults}. */
  @SuppressWarnings("unchecked")
  public static <T> T read(String text, String sourceName, T defaults, List<String> overrides) {
    JsonNode document;
    SourceLocations locations;
    try {
      document = YAML.readTree(text);
      locations = SourceLocations.index(YAML, text, sourceName);
    } catch (JsonProcessingException e) {
      throw malformed(sourceName, e);
    } catch (IOException e) {
      throw new ConfigException(sourceName + ": cannot read YAML: " + e.getMessage(), e);
    }
    if (document == null || document.isMissingNode() || document.isNull()) {
      document = JsonNodeFactory.instance.objectNode();
    }
    if (!document.isObject()) {
      throw new ConfigException(
          sourceName
              + ": expected a mapping of keys at the top level, found "
              + describe(document));
    }
    ObjectNode tree = (ObjectNode) JSON.valueToTree(defaults);
    mergeInto(tree, (ObjectNode) document);
    for (String override : overrides) {
      applyOverride(tree, override, locations);
    }
    try {
      return (T) JSON.treeToValue(tree, defaults.getClass());
    } catch (JsonProcessingException e) {
      throw explain(e, tree, locations);
    }
  }

  /** A one-line message for a YAML syntax error, at the line and column where it was found. */
  private static ConfigException malformed(String sourceName, JsonProcessingException e) {
    if (e.getCause() instanceof MarkedYAMLException yaml && yaml.getProblemMark() != null) {
      String context =
          yaml.getContext() == null || yaml.getContextMark() == null
              ? ""
              : " ("
                  + yaml.getContext()
                  + " at line "
                  + (yaml.getContextMark().getLine() + 1)
                  + ", column "
                  + (yaml.getContextMark().getColumn() + 1)
                  + ")";
      return new ConfigException(
          sourceName
              + ":"
              + (yaml.getProblemMark().getLine() + 1)
              + ":"
              + (yaml.getProblemMark().getColumn() + 1)
              + ": malformed YAML: "
              + yaml.getProblem()
              + context,
          e);
    }
    return new ConfigException(
        SourceLocations.format(sourceName, e.getLocation())
            + ": malformed YAML: "
            + e.getOriginalMessage().lines().findFirst().orElse(""),
        e);
  }

  /** The configuration as YAML, every default written out: what a run saves and shows. */
  public static String toYaml(Object config) {
    try {
      return YAML.writeValueAsString(config);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write config as YAML", e);
    }
  }

  /** Lays {@code source} over {@code target}: mappings merge key by key, anything else replaces. */
  private static void mergeInto(ObjectNode target, ObjectNode source) {
    for (Iterator<Map.Entry<String, JsonNode>> it = source.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      JsonNode existing = target.get(field.getKey());
      if (existing instanceof ObjectNode existingObject
          && field.getValue() instanceof ObjectNode sourceObject) {
        mergeInto(existingObject, sourceObject);
      } else {
        target.set(field.getKey(), field.getValue());
      }
    }
  }

  /** Applies one {@code path.to.key=value} override; the value is read as a YAML scalar or flow. */
  private static void applyOverride(ObjectNode tree, String argument, SourceLocations locations) {
    int eq = argument.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException(
          "--set " + argument + ": expected path.to.key=value, for example optimizer.lr=1e-4");
    }
    String path = argument.substring(0, eq).trim();
    String[] keys = path.split("\\.", -1);
    for (String key : keys) {
      if (key.isEmpty()) {
        throw new ConfigException("--set " + argument + ": empty key in path '" + path + "'");
      }
    }
    JsonNode value;
    try {
      String text = argument.substring(eq + 1);
      value = text.isBlank() ? JsonNodeFactory.instance.nullNode() : YAML.readTree(text);
    } catch (JsonProcessingException e) {
      throw new ConfigException(
          "--set " + argument + ": value is not valid YAML: " + e.getOriginalMessage(), e);
    }
    JsonNode node = tree;
    StringBuilder walked = new StringBuilder();
    for (int i = 0; i < keys.length; i++) {
      String key = keys[i];
      boolean last = i == keys.length - 1;
      if (node instanceof ObjectNode object) {
        appendKey(walked, key);
        if (last) {
          object.set(key, value);
        } else {
          JsonNode child = object.get(key);
          if (child == null || child.isNull()) {
            child = object.putObject(key);
          }
          node = child;
        }
      } else if (node instanceof ArrayNode array && key.chars().allMatch(Character::isDigit)) {
        int index = Integer.parseInt(key);
        if (index >= array.size()) {
          throw new ConfigException(
              "--set "
                  + argument
                  + ": index "
                  + index
                  + " is past the end of "
                  + walked
                  + " (it has "
                  + array.size()
                  + " elements)");
        }
        walked.append('[').append(index).append(']');
        if (last) {
          array.set(index, value);
        } else {
          node = array.get(index);
        }
      } else {
        throw new ConfigException(
            "--set "
                + argument
                + ": "
                + walked
                + " is "
                + describe(node)
                + ", so it has no key '"
                + key
                + "'");
      }
    }
    locations.putOverride(walked.toString(), argument);
  }

  private static void appendKey(StringBuilder path, String key) {
    if (!path.isEmpty()) {
      path.append('.');
    }
    path.append(key);
  }

  /** Turns a Jackson binding failure into a message for the person who wrote the config. */
  private static ConfigException explain(
      JsonProcessingException e, JsonNode tree, SourceLocations locations) {
    if (!(e instanceof JsonMappingException mapping)) {
      return new ConfigException("config: " + e.getOriginalMessage(), e);
    }
    String path = pathOf(mapping.getPath());
    String where = locations.where(path);
    if (e instanceof UnrecognizedPropertyException unknown) {
      String key = unknown.getPropertyName();
      List<String> valid = sortedNames(unknown.getKnownPropertyIds());
      String parent = parentPath(path);
      String suggestion = closest(key, valid);
      return new ConfigException(
          where
              + ": unknown key '"
              + key
              + "'"
              + (parent.isEmpty() ? " at the top level" : " in '" + parent + "'")
              + (suggestion == null ? "." : "; did you mean '" + suggestion + "'?")
              + " Valid keys here: "
              + String.join(", ", valid),
          e);
    }
    if (e instanceof ValueInstantiationException invalid) {
      // Records validate themselves; their messages start with the offending key's name.
      Throwable cause = invalid.getCause() != null ? invalid.getCause() : invalid;
      String message = String.valueOf(cause.getMessage());
      String key = message.split("[ :]", 2)[0];
      String keyPath = path.isEmpty() ? key : path + "." + key;
      boolean namesKey = tree.at(pointerOf(mapping.getPath())).has(key);
      return new ConfigException(
          (namesKey ? locations.where(keyPath) : where)
              + ": "
              + (path.isEmpty() ? "" : path + ".")
              + message,
          e);
    }
    if (e instanceof MismatchedInputException mismatch) {
      String message = mismatch.getOriginalMessage();
      if (message.startsWith("Missing required creator property")) {
        String key = message.replaceAll("(?s).*property '([^']*)'.*", "$1");
        String parent = path.equals(key) || path.endsWith("." + key) ? parentPath(path) : path;
        return new ConfigException(
            locations.where(parent)
                + ": missing required key '"
                + key
                + "'"
                + (parent.isEmpty() ? " at the top level" : " in '" + parent + "'"),
            e);
      }
      JsonNode found = tree.at(pointerOf(mapping.getPath()));
      return new ConfigException(
          where
              + ": "
              + path
              + ": expected "
              + expected(mismatch.getTargetType())
              + ", found "
              + shown(found),
          e);
    }
    return new ConfigException(where + ": " + path + ": " + mapping.getOriginalMessage(), e);
  }

  /** A human description of what a value of {@code type} looks like in YAML. */
  static String expected(Class<?> type) {
    if (type == null) {
      return "a different value";
    }
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      return "an integer";
    }
    if (type == double.class
        || type == Double.class
        || type == float.class
        || type == Float.class) {
      return "a number";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (type == String.class || type == Path.class) {
      return "a string";
    }
    if (type.isEnum()) {
      List<String> names = new ArrayList<>();
      for (Object constant : type.getEnumConstants()) {
        names.add(JSON.convertValue(constant, String.class));
      }
      return "one of " + String.join(", ", names);
    }
    if (Collection.class.isAssignableFrom(type)) {
      return "a list";
    }
    if (type.isRecord() || Map.class.isAssignableFrom(type)) {
      return "a mapping of keys";
    }
    return "a value of type " + type.getSimpleName();
  }

  /** A value as the user wrote it: strings in single quotes, anything else as YAML flow. */
  private static String shown(JsonNode node) {
    if (node.isMissingNode()) {
      return "nothing";
    }
    if (node.isTextual()) {
      return "'" + node.textValue() + "'";
    }
    return node.isContainerNode() ? describe(node) + " " + node : node.toString();
  }

  private static String describe(JsonNode node) {
    if (node.isObject()) {
      return "a mapping";
    }
    if (node.isArray()) {
      return "a list";
    }
    return "the value " + node;
  }

  private static String pathOf(List<JsonMappingException.Reference> references) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference ref : references) {
      if (ref.getFieldName() != null) {
        appendKey(path, ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        path.append('[').append(ref.getIndex()).append(']');
      }
    }
    return path.toString();
  }

  private static com.fasterxml.jackson.core.JsonPointer pointerOf(
      List<JsonMappingException.Reference> references) {
    com.fasterxml.jackson.core.JsonPointer pointer = com.fasterxml.jackson.core.JsonPointer.empty();
    for (JsonMappingException.Reference ref : references) {
      pointer =
          ref.getFieldName() != null
              ? pointer.appendProperty(ref.getFieldName())
              : pointer.appendIndex(ref.getIndex());
    }
    return pointer;
  }

  private static String parentPath(String path) {
    int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    return cut < 0 ? "" : path.substring(0, cut);
  }

  private static List<String> sortedNames(Collection<Object> ids) {
    TreeSet<String> names = new TreeSet<>();
    for (Object id : ids) {
      names.add(String.valueOf(id));
    }
    return new ArrayList<>(names);
  }

  /** The valid key nearest to {@code key} by edit distance, if it is near enough to be a typo. */
  static String closest(String key, List<String> valid) {
    return valid.stream()
        .min(Comparator.comparingInt((String v) -> editDistance(key, v)))
        .filter(v -> editDistance(key, v) <= Math.max(2, key.length() / 3))
        .orElse(null);
  }

  /** Levenshtein distance; keys are short, so the quadratic table is fine. */
  static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j] + 1, current[j - 1] + 1));
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
