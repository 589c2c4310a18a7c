package rl.core.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import rl.core.model.Fixtures;
import rl.core.tokenizer.HfTokenizer;

/**
 * {@link ChatTemplate} against transformers' {@code apply_chat_template} output for every fixture
 * tokenizer, and against Jinja2/Python semantics for the constructs chat templates use. Expected
 * strings in the unit tests are what Jinja2 3.1 (as transformers configures it) renders.
 */
class ChatTemplateTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  // ------------------------------------------------------------------ conformance

  /** One container per {@code tokenizers/NAME/}: every reference chat, rendered exactly. */
  @TestFactory
  Stream<DynamicContainer> rendersEveryReferenceChatExactly() {
    return Fixtures.find("tokenizers", "reference.json").stream().map(this::tokenizerContainer);
  }

  private DynamicContainer tokenizerContainer(Path dir) {
    JsonNode chats = read(dir.resolve("reference.json")).get("chats");
    ChatTemplate template = ChatTemplate.load(dir);
    List<DynamicNode> tests = new ArrayList<>();
    for (int i = 0; i < chats.size(); i++) {
      JsonNode chat = chats.get(i);
      tests.add(
          DynamicTest.dynamicTest(
              "chat " + i + " " + describe(chat),
              () -> assertEquals(chat.get("rendered").asText(), render(template, chat))));
    }
    tests.add(
        DynamicTest.dynamicTest(
            "ids of every rendered chat",
            () -> {
              // Rendered text already holds the special tokens: HF encodes it without adding any.
              try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
                for (JsonNode chat : chats) {
                  int[] expected = JSON.convertValue(chat.get("ids"), int[].class);
                  assertArrayEquals(
                      expected, tokenizer.encode(render(template, chat)), describe(chat));
                }
              }
            }));
    return DynamicContainer.dynamicContainer(dir.getFileName().toString(), tests);
  }

  private static String render(ChatTemplate template, JsonNode chat) {
    List<Map<String, Object>> messages =
        JSON.convertValue(chat.get("messages"), new TypeReference<>() {});
    Map<String, Object> variables = new HashMap<>();
    if (chat.has("enable_thinking")) {
      variables.put("enable_thinking", chat.get("enable_thinking").asBoolean());
    }
    return template.render(messages, chat.get("add_generation_prompt").asBoolean(), variables);
  }

  private static String describe(JsonNode chat) {
    StringBuilder sb = new StringBuilder();
    chat.get("messages").forEach(m -> sb.append(m.get("role").asText()).append(' '));
    sb.append("add_generation_prompt=").append(chat.get("add_generation_prompt").asBoolean());
    if (chat.has("enable_thinking")) {
      sb.append(" enable_thinking=").append(chat.get("enable_thinking").asBoolean());
    }
    return sb.toString();
  }

  private static JsonNode read(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new IllegalStateException(file + ": " + e.getMessage(), e);
    }
  }

  // ------------------------------------------------------------------ helpers

  private static final List<Map<String, Object>> CHAT =
      List.of(
          message("system", "Be brief."),
          message("user", "Hi"),
          message("assistant", "Hello"),
          message("user", "Bye"));

  private static Map<String, Object> message(String role, String content) {
    return map("role", role, "content", content);
  }

  /** An ordered map, as Python's dicts are. */
  private static Map<String, Object> map(Object... keysAndValues) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return map;
  }

  private static String render(String template) {
    return render(template, Map.of());
  }

  private static String render(String template, Map<String, ?> variables) {
    return ChatTemplate.of(template).render(CHAT, false, variables);
  }

  // ------------------------------------------------------------------ raise_exception and errors

  @Test
  void raiseExceptionReachesTheCallerVerbatim() {
    ChatTemplate template =
        ChatTemplate.of(
            "{% for m in messages %}\n"
                + "{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}\n"
                + "{{ raise_exception('Conversation roles must alternate') }}\n"
                + "{% endif %}\n"
                + "{{ m['content'] }}\n"
                + "{% endfor %}");
    assertEquals("Hi\nHello\n", template.render(CHAT.subList(1, 3), false, Map.of()));
    ChatTemplateException e =
        assertThrows(ChatTemplateException.class, () -> template.render(CHAT, false, Map.of()));
    assertEquals("Conversation roles must alternate", e.getMessage());
    assertEquals(3, e.line());
  }

  @Test
  void errorsNameTheirLineAndAreNeverRenderedSilently() {
    ChatTemplateException syntax =
        assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("a\n\n{% if x %}\nb"));
    assertEquals(3, syntax.line());
    assertTrue(syntax.getMessage().contains("'endif'"), syntax.getMessage());

    ChatTemplateException filter =
        assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("x\n{{ 1 | nofilter }}"));
    assertTrue(filter.getMessage().contains("no filter named 'nofilter'"), filter.getMessage());

    ChatTemplateException type =
        assertThrows(ChatTemplateException.class, () -> render("{# one #}\n\n{{ 'a' + 1 }}"));
    assertEquals(3, type.line());
    assertTrue(
        type.getMessage().contains("can only concatenate str (not \"int\") to str"),
        type.getMessage());

    ChatTemplateException undefined =
        assertThrows(ChatTemplateException.class, () -> render("{{ nothing.here }}"));
    assertTrue(undefined.getMessage().contains("'here'"), undefined.getMessage());

    assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("{% include 'x' %}"));
    assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("{% blah %}"));
    assertThrows(ChatTemplateException.class, () -> render("{{ 'abc'.nope() }}"));
  }

  // ------------------------------------------------------------------ Python string methods

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiterString = "=>",
      quoteCharacter = '`',
      textBlock =
          """
          'a.b|c'.split('.') => ['a', 'b|c']
          'a+b++c'.split('+') => ['a', 'b', '', 'c']
          '  a \\t b\\n'.split() => ['a', 'b']
          'a,b,c'.split(',', 1) => ['a', 'b,c']
          'x</think>y</think>z'.split('</think>')[-1] => z
          'xyhixy'.strip('xy') => hi
          '\\n\\nhi\\n'.strip('\\n') => hi
          ' \\t hi \\n'.strip() ~ '|' => hi|
          'xxhix'.lstrip('x') => hix
          '  hi  '.lstrip() ~ '|' => `hi  |`
          'hi\\n\\n'.rstrip('\\n') => hi
          'ab.*'.rstrip('.*') => ab
          '<tool_response>x'.startswith('<tool_response>') => True
          'abc'.startswith(('x', 'a')) => True
          'abc'.startswith('.') => False
          'abc'.endswith('bc') => True
          'abc'.endswith('.*') => False
          'a.b.c'.replace('.', '-') => a-b-c
          'aaa'.replace('a', 'b', 2) => bba
          'hello wORLD'.title() => Hello World
          'hELLO wORLD'.capitalize() => Hello world
          'Straße'.upper() => STRASSE
          'ÀB'.lower() => àb
          'a\\nb\\r\\nc'.splitlines() => ['a', 'b', 'c']
          'hello'.find('l') => 2
          ', '.join(['a', 'b']) => `a, b`
          """)
  void stringMethodsHavePythonSemantics(String expression, String expected) {
    assertEquals(expected, render("{{ " + expression + " }}"));
  }

  // ------------------------------------------------------------------ namespace and slices

  @Test
  void namespaceAttributesCanBeAssignedInsideLoops() {
    String template =
        "{%- set ns = namespace(found=false, last_user=messages|length - 1, n=0) %}\n"
            + "{%- for m in messages %}\n"
            + "    {%- set ns.n = ns.n + 1 %}\n"
            + "    {%- if m.role == 'user' %}\n"
            + "        {%- set ns.found = true %}\n"
            + "        {%- set ns.last_user = loop.index0 %}\n"
            + "    {%- endif %}\n"
            + "{%- endfor %}\n"
            + "{{- ns.found }} {{ ns.last_user }} {{ ns.n }}";
    assertEquals("True 3 4", render(template));
    // A keyword argument is a whole expression (Jinjava alone reads "a=x - 1" as "(a=x) - 1").
    assertEquals("3", render("{{ namespace(i=messages|length - 1).i }}"));
  }

  @Test
  void slicesWithAStepIncludingReversal() {
    assertEquals(
        "user assistant user system",
        render("{{ messages[::-1] | map(attribute='role') | join(' ') }}"));
    assertEquals(
        "3:user 2:assistant 1:user 0:system ",
        render(
            "{% for m in messages[::-1] %}"
                + "{{ (messages|length - 1) - loop.index0 }}:{{ m.role }} {% endfor %}"));
    assertEquals(
        "olleh|hlo|el|o",
        render("{{ 'hello'[::-1] }}|{{ 'hello'[::2] }}|" + "{{ 'hello'[1:3] }}|{{ 'hello'[-1] }}"));
    assertEquals("[5, 3]|[1, 2, 3]", render("{{ [1,2,3,4,5][4:0:-2] }}|{{ [1,2,3][-100:100] }}"));
  }

  // ------------------------------------------------------------------ tojson

  @Test
  void tojsonIsPythonJsonDumpsWithoutAsciiEscaping() {
    Map<String, Object> tool =
        map(
            "name", "get_weather",
            "description", "Say \"hi\" — in 東京\n",
            "parameters",
                map(
                    "type", "object",
                    "required", List.of("city"),
                    "enum", Arrays.asList(1, 2.5, true, null, 1e16, 0.1)),
            "path", "C:\\tmp",
            "control", "\u0001\t");
    // json.dumps(tool, ensure_ascii=False): ", " and ": " separators, non-ASCII kept, quote and
    // backslash escaped, \n and \t short escapes, other control characters as lowercase \\u00XX,
    // None as null, floats as Python's repr (1e16 -> 1e+16).
    String expected =
        "{\"name\": \"get_weather\", \"description\": \"Say \\\"hi\\\" — in 東京\\n\", "
            + "\"parameters\": {\"type\": \"object\", \"required\": [\"city\"], "
            + "\"enum\": [1, 2.5, true, null, 1e+16, 0.1]}, "
            + "\"path\": \"C:\\\\tmp\", \"control\": \"\\u0001\\t\"}";
    assertEquals(expected, render("{{ tool | tojson }}", Map.of("tool", tool)));

    // indent: "," between items, one item per line; empty containers stay [] and {}.
    assertEquals(
        "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}",
        render("{{ {'a': [1, {}], 'b': []} | tojson(indent=2) }}"));
    // ensure_ascii escapes UTF-16 units; sort_keys sorts every level.
    assertEquals("\"\\ud83d\\ude00\\u00e9\"", render("{{ '😀é' | tojson(ensure_ascii=true) }}"));
    assertEquals(
        "{\"a\": {\"c\": 2, \"d\": 1}, \"b\": 1}",
        render("{{ {'b': 1, 'a': {'d': 1, 'c': 2}} | tojson(sort_keys=true) }}"));
  }

  // ------------------------------------------------------------------ whitespace and semantics

  @Test
  void whitespaceControlMatchesJinja2WithTrimAndLstripBlocks() {
    // trim_blocks drops the newline after a block tag, lstrip_blocks the indentation before it;
    // the indentation of text and expressions stays.
    assertEquals("    a\nb\n", render("{% if true %}\n    a\n{% endif %}\nb\n\n"));
    assertEquals(
        "    system\n    user\n    assistant\n    user\n",
        render("{% for m in messages %}\n    {{ m.role }}\n{% endfor %}"));
    assertEquals("x  y", render("x  {% if true %}\n  {% endif %}y"));
    // "-" strips all whitespace on its side (newlines included), and only there.
    assertEquals("x  \n  y", render("x  {%- if true -%}  \n  {%- endif %}  \n  y"));
    // "+" keeps what lstrip_blocks and trim_blocks would remove.
    assertEquals("  \na", render("  {%+ if true +%}\na{% endif %}\n\n"));
    assertEquals(" v \n", render(" {{ 'v' }} \n\n"));
    // One trailing newline of the template is dropped, as keep_trailing_newline=False does.
    assertEquals("end", render("end\n"));
  }

  @Test
  void valuesPrintAndCompareAsInPython() {
    assertEquals(
        "True False None 1.0 2.5 3",
        render("{{ true }} {{ false }} {{ none }} " + "{{ 1.0 }} {{ 10 / 4 }} {{ 7 // 2 }}"));
    assertEquals(
        "['a', 1, None] {'k': (1, 2)}", render("{{ ['a', 1, none] }} {{ {'k': (1, 2)} }}"));
    assertEquals("T", render("{% if 'false' %}T{% else %}F{% endif %}"));
    assertEquals("True", render("{{ not 1 == 2 }}"));
    assertEquals("-2 1", render("{{ -7 // 4 }} {{ -7 % 4 }}"));
    assertEquals("d", render("{{ '' or 'd' }}"));
  }

  @Test
  void noneAndUndefinedAreKeptApart() {
    assertEquals(
        "True True|False False|",
        render(
            "{{ tools is defined }} {{ tools is none }}|{{ nope is defined }} {{ nope is none }}|"
                + "{{ nope }}"));
    Map<String, Object> m = new HashMap<>();
    m.put("role", "assistant");
    m.put("reasoning_content", null);
    assertEquals(
        "True True False",
        ChatTemplate.of(
                "{{ messages[0].reasoning_content is defined }} "
                    + "{{ messages[0].reasoning_content is none }} "
                    + "{{ messages[0].tool_calls is defined }}")
            .render(List.of(m), false, Map.of()));
  }

  @Test
  void contentIsNeverRenderedAsATemplate() {
    ChatTemplate template = ChatTemplate.of("{% for m in messages %}{{ m.content }}{% endfor %}");
    assertEquals(
        "{{ 7*6 }} {% if x %}",
        template.render(List.of(message("user", "{{ 7*6 }} {% if x %}")), false, Map.of()));
  }

  @Test
  void constructsJinjavaLacksAreCompiled() {
    assertEquals("none", render("{% for m in [] %}x{% else %}none{% endfor %}"));
    assertEquals(
        "1:Hi 2:Bye.",
        render(
            "{% for m in messages if m.role == 'user' %}"
                + "{{ loop.index }}:{{ m.content }}{{ ' ' if not loop.last else '.' }}{% endfor %}"));
    assertEquals(
        "[1|d][2|x]",
        render(
            "{% macro f(a, b='d') %}[{{ a }}|{{ b }}]{% endmacro %}{{ f(1) }}{{ f(2, b='x') }}"));
    assertEquals("h.é.", render("{% for c in 'hé' %}{{ c }}.{% endfor %}"));
    assertEquals(
        "a=1;b=2;",
        render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};" + "{% endfor %}"));
    assertEquals("x", render("{% generation %}x{% endgeneration %}"));
  }

  @Test
  void strftimeNowReadsTheClock() {
    Clock clock = Clock.fixed(Instant.parse("2024-07-05T09:08:07Z"), ZoneOffset.UTC);
    ChatTemplate template = ChatTemplate.of("{{ strftime_now('%d %b %Y %H:%M:%S %A %-d %B') }}");
    assertEquals(
        "05 Jul 2024 09:08:07 Friday 5 July",
        template.withClock(clock).render(List.of(), false, Map.of()));
  }

  @Test
  void loadReadsTheTemplateAndSpecialTokensOfATokenizerDirectory(@TempDir Path dir)
      throws IOException {
    // tokenizer_config.json: special tokens as strings or AddedToken objects, None skipped, and
    // several named templates of which "default" is used.
    Files.writeString(
        dir.resolve(ChatTemplate.CONFIG_FILE),
        """
        {"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "pad_token": null,
         "chat_template": [
           {"name": "tool_use", "template": "tools"},
           {"name": "default",
            "template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}"}
         ]}
        """);
    ChatTemplate template = ChatTemplate.load(dir);
    assertEquals(Map.of("bos_token", "<s>", "eos_token", "</s>"), template.specialTokens());
    List<Map<String, Object>> chat = List.of(message("user", "Hi"));
    assertEquals("<s>Hi</s>", template.render(chat, true, Map.of()));
    // The caller's variables override the special tokens, as apply_chat_template's kwargs do.
    assertEquals("<BOS>Hi</s>", template.render(chat, true, Map.of("bos_token", "<BOS>")));

    // A null special token is unset: undefined (empty), not None.
    Map<String, Object> unset = new HashMap<>();
    unset.put("bos_token", null);
    assertEquals(
        "[]|False",
        ChatTemplate.of("[{{ bos_token }}]|{{ bos_token is defined }}", unset)
            .render(chat, true, Map.of()));

    // chat_template.jinja, where newer transformers save the template, comes first.
    Files.writeString(dir.resolve(ChatTemplate.TEMPLATE_FILE), "[{{ bos_token }}]\n");
    assertEquals("[<s>]", ChatTemplate.load(dir).render(chat, true, Map.of()));
  }
}
