package rl.rewards.task;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;

/**
 * Which fields of a JSONL row make a {@link rl.rewards.Problem}.
 *
 * <pre>{@code
 * prompt: question        # a string (one user message) or a list of {role, content} messages
 * answer: answer          # the reference answer; "" when the task has none
 * id: id                  # the problem's id; rows without it get "<file>:<line>"
 * system: ""              # a system message put before the prompt
 * template: ""            # if set, the user message: {field} placeholders filled from the row
 * }</pre>
 *
 * Every field of the row also goes to the problem's metadata under its own name, so a verifier can
 * read puzzle data (countdown's {@code numbers} and {@code target}) without mapping.
 *
 * @param prompt the prompt field; unused when {@code template} is set
 * @param answer the reference-answer field, or {@code ""}
 * @param id the id field
 * @param system text of a system message to prepend, or {@code ""}
 * @param template the user message with {@code {field}} placeholders (see {@link Template}), or
 *     {@code ""} to take the prompt field as it is
 */
public record FieldMapping(
    @JsonProperty("prompt") String prompt,
    @JsonProperty("answer") String answer,
    @JsonProperty("id") String id,
    @JsonProperty("system") String system,
    @JsonProperty("template") String template) {

  public static final FieldMapping DEFAULTS = new FieldMapping("prompt", "answer", "id", "", "");

  public FieldMapping {
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(answer, "answer");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(system, "system");
    Objects.requireNonNull(template, "template");
    if (prompt.isBlank() && template.isBlank()) {
      throw new IllegalArgumentException("a field mapping needs a prompt field or a template");
    }
  }

  @JsonCreator
  static FieldMapping fromConfig(
      @JsonProperty("prompt") String prompt,
      @JsonProperty("answer") String answer,
      @JsonProperty("id") String id,
      @JsonProperty("system") String system,
      @JsonProperty("template") String template) {
    return new FieldMapping(
        Objects.requireNonNullElse(prompt, DEFAULTS.prompt()),
        Objects.requireNonNullElse(answer, DEFAULTS.answer()),
        Objects.requireNonNullElse(id, DEFAULTS.id()),
        Objects.requireNonNullElse(system, DEFAULTS.system()),
        Objects.requireNonNullElse(template, DEFAULTS.template()));
  }

  public FieldMapping withPrompt(String field) {
    return new FieldMapping(field, answer, id, system, template);
  }

  public FieldMapping withAnswer(String field) {
    return new FieldMapping(prompt, field, id, system, template);
  }

  public FieldMapping withSystem(String text) {
    return new FieldMapping(prompt, answer, id, text, template);
  }

  public FieldMapping withTemplate(String text) {
    return new FieldMapping(prompt, answer, id, system, text);
  }
}
