package rl.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import rl.core.model.Fixtures;

/** {@link HfTokenizer} against the ids and strings Hugging Face {@code tokenizers} produced. */
class HfTokenizerTest {
  /** {@code len(tokenizer)} of the fixture tokenizers: vocabulary plus added tokens. */
  private static final Map<String, Integer> VOCAB_SIZES = Map.of("qwen3", 151669, "llama3", 128256);

  static List<Path> tokenizers() {
    return Fixtures.find("tokenizers", "reference.json");
  }

  @ParameterizedTest
  @MethodSource("tokenizers")
  void encodesAndDecodesEveryReferenceTextExactly(Path dir) throws Exception {
    JsonNode reference = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
    List<String> failures = new ArrayList<>();
    int checked = 0;
    try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
      for (JsonNode encoding : reference.get("encodings")) {
        String text = encoding.get("text").asText();
        int[] expected = ids(encoding.get("ids"));
        int[] actual = tokenizer.encode(text);
        if (!java.util.Arrays.equals(expected, actual)) {
          failures.add(
              "encode("
                  + quote(text)
                  + "): expected "
                  + java.util.Arrays.toString(expected)
                  + ", got "
                  + java.util.Arrays.toString(actual));
        }
        String decoded = tokenizer.decode(expected);
        if (!encoding.get("decoded").asText().equals(decoded)) {
          failures.add(
              "decode("
                  + java.util.Arrays.toString(expected)
                  + "): expected "
                  + quote(encoding.get("decoded").asText())
                  + ", got "
                  + quote(decoded));
        }
        checked++;
      }
    }
    assertTrue(checked > 0, "no encodings in " + dir);
    assertTrue(failures.isEmpty(), dir.getFileName() + ":\n" + String.join("\n", failures));
  }

  @ParameterizedTest
  @MethodSource("tokenizers")
  void reportsItsVocabularySizeAndSource(Path dir) {
    try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
      Integer expected = VOCAB_SIZES.get(dir.getFileName().toString());
      if (expected != null) {
        assertEquals(expected, tokenizer.vocabSize());
      }
      assertEquals(dir.resolve("tokenizer.json"), tokenizer.source());
    }
  }

  @Test
  void neverTruncatesLongTexts() {
    String text = "counting sheep, ".repeat(2000);
    try (HfTokenizer tokenizer = HfTokenizer.load(tokenizers().getFirst())) {
      int[] ids = tokenizer.encode(text);
      assertTrue(ids.length > 4000, "only " + ids.length + " ids");
      assertEquals(text, tokenizer.decode(ids));
    }
  }

  @Test
  void asksDjlForTheCpuBuildItShipsUnlessAFlavorWasChosen() {
    try (HfTokenizer tokenizer = HfTokenizer.load(tokenizers().getFirst())) {
      String chosen = System.getenv(HfTokenizer.FLAVOR_PROPERTY);
      assertEquals(chosen == null ? "cpu" : null, System.getProperty(HfTokenizer.FLAVOR_PROPERTY));
      assertTrue(tokenizer.vocabSize() > 0);
    }
  }

  @Test
  void missingTokenizerFileIsNamed(@TempDir Path dir) {
    TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
    assertEquals(
        dir.resolve("tokenizer.json")
            + ": no such file; a Hugging Face tokenizer directory holds tokenizer.json",
        e.getMessage());
  }

  @Test
  void malformedJsonNamesFileAndLine(@TempDir Path dir) throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("tokenizer.json"), "{\n  \"model\": {\"vocab\": {\"a\": 0,}}\n}");
    TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
    assertTrue(
        e.getMessage().startsWith(file + ": malformed JSON at line 2, column "), e.getMessage());
  }

  @Test
  void jsonWithoutVocabularyIsRejected(@TempDir Path dir) throws Exception {
    Path file =
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\"}}");
    TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
    assertEquals(file + ": no model.vocab; not a Hugging Face tokenizer.json", e.getMessage());
  }

  @Test
  void tokenizerTheLibraryRejectsIsNamed(@TempDir Path dir) throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("tokenizer.json"),
            "{\"model\": {\"type\": \"Nonsense\", \"vocab\": {\"a\": 0}}}");
    TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
    assertTrue(
        e.getMessage().startsWith(file + ": not a usable Hugging Face tokenizer: "),
        e.getMessage());
  }

  private static int[] ids(JsonNode array) {
    int[] ids = new int[array.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = array.get(i).asInt();
    }
    return ids;
  }

  private static String quote(String text) {
    return "\"" + text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "\"";
  }
}
