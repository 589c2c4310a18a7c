package rl.rewards.task;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import rl.rewards.Message;
import rl.rewards.Problem;

/**
 * Reads problems from a JSONL file, one JSON object per line, through a {@link FieldMapping}. Blank
 * lines are allowed; anything else that is not a usable row stops the load with the file, the line,
 * the bad value and what was expected.
 *
 * <p>The prompt stays as chat messages: rendering it with the model's chat template is the caller's
 * job (module {@code core}), see {@link rl.rewards.task the package notes}.
 */
public final class JsonlDataset {
  /** Exact decimals (an answer of 0.10 stays 0.10) and no silently merged duplicate keys. */
  public static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
          .build();

  private JsonlDataset() {}

  /** Every problem in {@code file}, in order. Ids must be unique. */
  public static List<Problem> load(Path file, FieldMapping mapping) {
    List<Problem> problems = new ArrayList<>();
    Map<String, Integer> ids = new HashMap<>();
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String text;
      int line = 0;
      while ((text = reader.readLine()) != null) {
        line++;
        if (text.isBlank()) {
          continue;
        }
        Problem problem =
            problem(parse(text, file.toString(), line), file.toString(), line, mapping, true);
        Integer previous = ids.putIfAbsent(problem.id(), line);
        if (previous != null) {
          throw rowError(
              file.toString(),
              line,
              "id \""
                  + problem.id()
                  + "\" is also the id of line "
                  + previous
                  + "; ids must be unique");
        }
        problems.add(problem);
      }
    } catch (NoSuchFileException e) {
      throw new DatasetException(file + ": no such file");
    } catch (IOException | UncheckedIOException e) {
      throw new DatasetException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (problems.isEmpty()) {
      throw new DatasetException(file + ": no rows (an empty dataset)");
    }
    return problems;
  }

  /** One line of JSONL as an object, or an error naming {@code source:line}. */
  public static JsonNode parse(String text, String source, int line) {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw rowError(source, line, "malformed JSON: " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      throw rowError(
          source,
          line,
          "expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType()));
    }
    return node;
  }

  /**
   * The problem in {@code row}.
   *
   * @param strict whether the prompt and answer fields must be present; when false a missing one
   *     gives an empty prompt or answer ({@code rl reward} rows often have only a completion)
   */
  public static Problem problem(
      JsonNode row, String source, int line, FieldMapping mapping, boolean strict) {
    List<Message> messages = new ArrayList<>();
    if (!mapping.system().isEmpty()) {
      messages.add(Message.system(mapping.system()));
    }
    if (!mapping.template().isEmpty()) {
      messages.add(Message.user(fill(Template.of(mapping.template()), row, source, line)));
    } else {
      JsonNode prompt = row.get(mapping.prompt());
      if (prompt == null || prompt.isNull()) {
        if (strict) {
          throw missing(row, source, line, mapping.prompt(), "the prompt");
        }
      } else {
        messages.addAll(messages(prompt, mapping, source, line));
      }
    }
    String answer = "";
    if (!mapping.answer().isEmpty()) {
      JsonNode value = row.get(mapping.answer());
      if (value == null || value.isNull()) {
        if (strict) {
          throw missing(row, source, line, mapping.answer(), "the reference answer");
        }
      } else {
        answer = text(value);
      }
    }
    String id = source + ":" + line;
    JsonNode idNode = row.get(mapping.id());
    if (idNode != null && !idNode.isNull()) {
      if (!idNode.isTextual() && !idNode.isIntegralNumber()) {
        throw rowError(
            source,
            line,
            "\"" + mapping.id() + "\" must be a string or an integer, found " + idNode);
      }
      id = idNode.asText();
    }
    Map<String, Object> metadata = new LinkedHashMap<>();
    row.properties().forEach(field -> metadata.put(field.getKey(), toJava(field.getValue())));
    return new Problem(id, messages, answer, metadata);
  }

  private static List<Message> messages(
      JsonNode prompt, FieldMapping mapping, String source, int line) {
    if (prompt.isTextual()) {
      return List.of(Message.user(prompt.asText()));
    }
    if (!prompt.isArray() || prompt.isEmpty()) {
      throw rowError(
          source,
          line,
          "\""
              + mapping.prompt()
              + "\" must be a string or a non-empty list of messages, found "
              + abbreviate(prompt));
    }
    List<Message> messages = new ArrayList<>();
    for (int i = 0; i < prompt.size(); i++) {
      JsonNode message = prompt.get(i);
      JsonNode role = message.get("role");
      JsonNode content = message.get("content");
      if (!message.isObject()
          || role == null
          || !role.isTextual()
          || role.asText().isBlank()
          || content == null
          || !content.isTextual()) {
        throw rowError(
            source,
            line,
            "\""
                + mapping.prompt()
                + "\"["
                + i
                + "] must be {\"role\": \"...\", \"content\": \"...\"}, found "
                + abbreviate(message));
      }
      if (i == 0 && !mapping.system().isEmpty() && role.asText().equals("system")) {
        throw rowError(
            source,
            line,
            "the row has a system message and the mapping adds another (system: \""
                + mapping.system()
                + "\")");
      }
      messages.add(new Message(role.asText(), content.asText()));
    }
    return messages;
  }

  private static String fill(Template template, JsonNode row, String source, int line) {
    Map<String, String> values = new HashMap<>();
    for (String name : template.names()) {
      JsonNode value = row.get(name);
      if (value == null || value.isNull()) {
        throw missing(row, source, line, name, "template placeholder {" + name + "}");
      }
      values.put(name, text(value));
    }
    return template.render(values);
  }

  /** A JSON value as answer or template text: strings as they are, anything else as JSON. */
  public static String text(JsonNode value) {
    if (value.isTextual()) {
      return value.asText();
    }
    if (value.isBigDecimal()) {
      return value.decimalValue().toString();
    }
    return value.isValueNode() ? value.asText() : value.toString();
  }

  /** A JSON value as plain Java: String, BigInteger/BigDecimal, Boolean, List, Map or null. */
  public static Object toJava(JsonNode value) {
    return switch (value.getNodeType()) {
      case STRING -> value.asText();
      case NUMBER -> value.isIntegralNumber() ? integer(value) : value.decimalValue();
      case BOOLEAN -> value.booleanValue();
      case ARRAY -> {
        List<Object> list = new ArrayList<>(value.size());
        value.forEach(item -> list.add(toJava(item)));
        yield list;
      }
      case OBJECT -> {
        Map<String, Object> map = new LinkedHashMap<>();
        value.properties().forEach(field -> map.put(field.getKey(), toJava(field.getValue())));
        yield map;
      }
      default -> null;
    };
  }

  /** Small integers as Integer or Long (what verifiers usually expect), big ones as BigInteger. */
  private static Object integer(JsonNode value) {
    if (value.canConvertToInt()) {
      return value.intValue();
    }
    if (value.canConvertToLong()) {
      return value.longValue();
    }
    return value.bigIntegerValue();
  }

  private static DatasetException missing(
      JsonNode row, String source, int line, String field, String role) {
    List<String> fields = new ArrayList<>();
    row.fieldNames().forEachRemaining(fields::add);
    return rowError(
        source,
        line,
        "no field \""
            + field
            + "\" ("
            + role
            + "); the row has "
            + (fields.isEmpty() ? "no fields" : String.join(", ", fields)));
  }

  private static String abbreviate(JsonNode node) {
    String text = node.toString();
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }

  static DatasetException rowError(String source, int line, String message) {
    return new DatasetException(source + ":" + line + ": " + message);
  }
}
