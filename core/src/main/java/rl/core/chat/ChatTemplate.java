package rl.core.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face chat template (Jinja2), rendered as transformers' {@code apply_chat_template}
 * renders it: {@code trim_blocks} and {@code lstrip_blocks} on, Python semantics for values,
 * transformers' {@code tojson}, {@code raise_exception} and {@code strftime_now}, and the variables
 * {@code messages}, {@code add_generation_prompt}, {@code tools}, {@code documents} plus the
 * tokenizer's special tokens.
 *
 * <p>The template is compiled once ({@link JinjaCompiler}) into a Jinjava template and parsed by
 * Jinjava; each {@link #render} runs it with a fresh interpreter. Instances are immutable and safe
 * to use from several threads.
 *
 * <p>Variables: {@link #render} binds {@code messages} and {@code add_generation_prompt}; {@code
 * tools} and {@code documents} are None unless given. The special tokens of {@link #load} ({@code
 * bos_token}, {@code eos_token}, ...) come next, and the caller's variables last, so a caller can
 * override any of them, as with {@code apply_chat_template(..., **kwargs)}. Use ordered maps
 * ({@code LinkedHashMap}) for anything a template serializes with {@code tojson}: Python keeps
 * insertion order.
 *
 * <p>Java nulls in the caller's data are Python's None. Unsupported (reported as errors, never
 * rendered wrongly): recursive loops, {@code loop.previtem}/{@code nextitem}/{@code changed},
 * {@code call}/{@code filter}/{@code with} blocks, {@code *args} in calls, {@code include}/{@code
 * import}/{@code extends}.
 */
public final class ChatTemplate {
  /** The file newer transformers versions save the template to, beside tokenizer_config.json. */
  public static final String TEMPLATE_FILE = "chat_template.jinja";

  public static final String CONFIG_FILE = "tokenizer_config.json";

  private static final List<String> SPECIAL_TOKENS =
      List.of(
          "bos_token",
          "eos_token",
          "unk_token",
          "sep_token",
          "pad_token",
          "cls_token",
          "mask_token");

  private static final Jinjava SYSTEM_CLOCK = newJinjava(Clock.systemDefaultZone());

  private final String source;
  private final String compiled;
  private final Node tree;
  private final Map<String, Object> specialTokens;
  private final Jinjava jinjava;

  private ChatTemplate(
      String source,
      String compiled,
      Node tree,
      Map<String, Object> specialTokens,
      Jinjava jinjava) {
    this.source = source;
    this.compiled = compiled;
    this.tree = tree;
    this.specialTokens = specialTokens;
    this.jinjava = jinjava;
  }

  /** Compiles a template; throws {@link ChatTemplateException} if it is not valid. */
  public static ChatTemplate of(String source) {
    return of(source, Map.of());
  }

  /**
   * Compiles a template with default variables: the special tokens of a tokenizer ({@code
   * bos_token}, {@code eos_token}, ...). A null token is left out (undefined in the template), as
   * transformers leaves out special tokens a tokenizer does not set.
   */
  public static ChatTemplate of(String source, Map<String, ?> specialTokens) {
    String compiled =
        JinjaCompiler.compile(
            source, name -> SYSTEM_CLOCK.getGlobalContext().getFilter(name) != null);
    JinjavaInterpreter interpreter = SYSTEM_CLOCK.newInterpreter();
    Node tree = interpreter.parse(compiled);
    if (!interpreter.getErrors().isEmpty()) {
      throw failure(source, interpreter.getErrors());
    }
    Map<String, Object> defaults = new LinkedHashMap<>();
    specialTokens.forEach(
        (name, value) -> {
          if (value != null) {
            defaults.put(name, Py.value(value));
          }
        });
    return new ChatTemplate(
        source, compiled, tree, Collections.unmodifiableMap(defaults), SYSTEM_CLOCK);
  }

  /**
   * The chat template of a Hugging Face model or tokenizer directory: {@code chat_template.jinja}
   * if present, else {@code chat_template} of {@code tokenizer_config.json} (the one named
   * "default" when it holds several), with that file's special tokens as default variables.
   */
  public static ChatTemplate load(Path dir) {
    Path configFile = dir.resolve(CONFIG_FILE);
    Path templateFile = dir.resolve(TEMPLATE_FILE);
    try {
      JsonNode config =
          Files.isRegularFile(configFile)
              ? new ObjectMapper().readTree(configFile.toFile())
              : new ObjectMapper().createObjectNode();
      Map<String, Object> tokens = new LinkedHashMap<>();
      for (String name : SPECIAL_TOKENS) {
        String token = tokenContent(config.get(name));
        if (token != null) {
          tokens.put(name, token);
        }
      }
      JsonNode additional = config.get("additional_special_tokens");
      if (additional != null && additional.isArray()) {
        List<Object> list = new ArrayList<>();
        additional.forEach(t -> list.add(tokenContent(t)));
        tokens.put("additional_special_tokens", list);
      }
      String source;
      if (Files.isRegularFile(templateFile)) {
        source = Files.readString(templateFile);
      } else {
        source = templateSource(config.get("chat_template"), configFile);
      }
      return of(source, tokens);
    } catch (IOException e) {
      throw new ChatTemplateException(
          dir + ": cannot read the chat template: " + e.getMessage(), -1, e);
    }
  }

  private static String templateSource(JsonNode node, Path configFile) {
    if (node != null && node.isTextual()) {
      return node.asText();
    }
    if (node != null && node.isArray()) {
      for (JsonNode named : node) {
        if ("default".equals(named.path("name").asText())) {
          return named.path("template").asText();
        }
      }
    }
    throw new ChatTemplateException(
        configFile + ": no chat_template (and no " + TEMPLATE_FILE + " beside it)", -1);
  }

  /** A special token is a string or an AddedToken object with "content". */
  private static String tokenContent(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    return node.isObject() ? node.path("content").asText(null) : node.asText();
  }

  /** The same template with {@code strftime_now} reading this clock (and its time zone). */
  public ChatTemplate withClock(Clock clock) {
    return new ChatTemplate(source, compiled, tree, specialTokens, newJinjava(clock));
  }

  /**
   * Renders a conversation. Each message is a map with at least "role" and "content" (templates may
   * read more keys, such as "tool_calls" or "reasoning_content").
   *
   * @param variables more template variables (e.g. {@code enable_thinking}, {@code tools}); they
   *     override the special tokens
   */
  public String render(
      List<? extends Map<String, ?>> messages,
      boolean addGenerationPrompt,
      Map<String, ?> variables) {
    Map<String, Object> bindings = new HashMap<>();
    bindings.put("messages", messages);
    bindings.put("add_generation_prompt", addGenerationPrompt);
    bindings.put("tools", PyNone.NONE);
    bindings.put("documents", PyNone.NONE);
    bindings.putAll(specialTokens);
    // A null the caller passes is Python's None (null inside a rendering means undefined).
    variables.forEach((name, value) -> bindings.put(name, Py.value(value)));
    JinjavaConfig config = jinjava.getGlobalConfig();
    Context context = new Context(jinjava.getGlobalContext(), bindings, config.getDisabled());
    JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava, context, config);
    String output;
    // The py: functions find the interpreter (clock, context) as Jinjava's current one.
    try (var current = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
      output = current.value().render(tree);
    } catch (RuntimeException e) {
      throw new ChatTemplateException("chat template failed: " + e.getMessage(), -1, e);
    }
    if (!interpreter.getErrors().isEmpty()) {
      throw failure(source, interpreter.getErrors());
    }
    return output;
  }

  /** The Jinja2 source. */
  public String source() {
    return source;
  }

  /** The default variables (special tokens) this template renders with. */
  public Map<String, Object> specialTokens() {
    return specialTokens;
  }

  /** The Jinjava template this compiles to (for debugging a template). */
  String compiled() {
    return compiled;
  }

  /**
   * One exception for Jinjava's collected errors: a {@code raise_exception} message verbatim if the
   * template raised one, else every error with its line.
   */
  private static ChatTemplateException failure(String source, List<TemplateError> errors) {
    for (TemplateError error : errors) {
      for (Throwable t = error.getException(); t != null; t = t.getCause()) {
        if (t instanceof Py.RaisedException raised) {
          return new ChatTemplateException(raised.getMessage(), error.getLineno(), raised);
        }
      }
    }
    String[] lines = source.split("\n", -1);
    StringBuilder message = new StringBuilder("chat template error");
    for (TemplateError error : errors) {
      int line = error.getLineno();
      message.append("\n  ");
      if (line > 0) {
        message.append("line ").append(line).append(": ");
      }
      message.append(describe(error));
      if (line > 0 && line <= lines.length) {
        message.append("\n    ").append(lines[line - 1].strip());
      }
    }
    TemplateError first = errors.getFirst();
    return new ChatTemplateException(message.toString(), first.getLineno(), first.getException());
  }

  /** Our Python error's message when one caused it (Jinjava's wrapper says less). */
  private static String describe(TemplateError error) {
    for (Throwable t = error.getException(); t != null; t = t.getCause()) {
      if (t instanceof Py.PyError) {
        return t.getMessage();
      }
    }
    return error.getMessage();
  }

  private static Jinjava newJinjava(Clock clock) {
    JinjavaConfig config =
        JinjavaConfig.newBuilder()
            // A rendered value containing "{{" must stay text, never be rendered again.
            .withNestedInterpretationEnabled(false)
            // Whitespace control is applied by JinjaCompiler; Jinjava must keep text as is.
            .withTrimBlocks(false)
            .withLstripBlocks(false)
            .withKeepTrailingNewline(true)
            .withLegacyOverrides(
                // String literals are emitted with only \\ and \' escaped.
                LegacyOverrides.newBuilder().withHandleBackslashInQuotesOnly(true).build())
            .withDateTimeProvider(clock::millis)
            .withTimeZone(clock.getZone())
            .build();
    Jinjava jinjava = new Jinjava(config);
    PyFilters.all().forEach(jinjava::registerFilter);
    register(jinjava, "truth", "truth", Object.class);
    register(jinjava, "str", "str", Object.class);
    register(jinjava, "equal", "eq", Object.class, Object.class);
    register(jinjava, "less", "lt", Object.class, Object.class);
    register(jinjava, "lesseq", "le", Object.class, Object.class);
    register(jinjava, "greater", "gt", Object.class, Object.class);
    register(jinjava, "greatereq", "ge", Object.class, Object.class);
    register(jinjava, "contains", "contains", Object.class, Object.class);
    register(jinjava, "add", "add", Object.class, Object.class);
    register(jinjava, "sub", "sub", Object.class, Object.class);
    register(jinjava, "mul", "mul", Object.class, Object.class);
    register(jinjava, "truediv", "div", Object.class, Object.class);
    register(jinjava, "floordiv", "floordiv", Object.class, Object.class);
    register(jinjava, "modulo", "mod", Object.class, Object.class);
    register(jinjava, "power", "pow", Object.class, Object.class);
    register(jinjava, "neg", "neg", Object.class);
    register(jinjava, "pos", "pos", Object.class);
    register(jinjava, "concat", "concat", Object.class, Object.class);
    register(jinjava, "list", "list", Object[].class);
    register(jinjava, "dict", "dict", Object[].class);
    register(jinjava, "tuple", "tuple", Object[].class);
    register(jinjava, "none", "none");
    register(jinjava, "getattr", "getattr", Object.class, String.class);
    register(jinjava, "getitem", "getitem", Object.class, Object.class);
    register(jinjava, "slice", "slice", Object.class, Object.class, Object.class, Object.class);
    register(jinjava, "iter", "iter", Object.class);
    register(jinjava, "unpack", "unpack", Object.class, long.class);
    register(jinjava, "call", "call", Object.class, String.class, Object[].class);
    register(jinjava, "test", "test", String.class, Object.class, Object[].class);
    register(jinjava, "range", "range", Object[].class);
    register(jinjava, "kwdict", "kwdict", Object[].class);
    register(jinjava, "raise", "raiseException", Object.class);
    register(jinjava, "strftime", "strftimeNow", Object.class);
    register(
        jinjava, "loopfilter", "loopFilter", Object.class, String.class, String.class, long.class);
    register(jinjava, "var", "var", String.class);
    register(jinjava, "bigint", "bigint", String.class);
    return jinjava;
  }

  private static void register(Jinjava jinjava, String name, String method, Class<?>... types) {
    jinjava.registerFunction(new ELFunctionDefinition("py", name, Py.class, method, types));
  }
}
