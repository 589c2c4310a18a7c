package rl.rewards.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.rewards.Message;
import rl.rewards.Problem;

class JsonlDatasetTest {
  @TempDir Path dir;

  private Path jsonl(String... lines) throws Exception {
    return Files.writeString(dir.resolve("data.jsonl"), String.join("\n", lines) + "\n");
  }

  @Test
  void fieldsAreMappedAndTheRestIsMetadata() throws Exception {
    Path file =
        jsonl(
            "{\"question\": \"What is 2+2?\", \"solution\": \"4\", \"level\": 1}",
            "",
            "{\"id\": \"gsm-7\", \"question\": \"Half of 1?\", \"solution\": 0.50}");
    FieldMapping mapping =
        FieldMapping.DEFAULTS.withPrompt("question").withAnswer("solution").withSystem("Be brief.");
    List<Problem> problems = JsonlDataset.load(file, mapping);
    assertEquals(2, problems.size());
    Problem first = problems.get(0);
    assertEquals(file + ":1", first.id());
    assertEquals(
        List.of(Message.system("Be brief."), Message.user("What is 2+2?")), first.prompt());
    assertEquals("4", first.answer());
    assertEquals(Map.of("question", "What is 2+2?", "solution", "4", "level", 1), first.metadata());
    Problem second = problems.get(1);
    assertEquals("gsm-7", second.id());
    assertEquals("0.50", second.answer(), "numbers keep their exact text");
    assertEquals(new BigDecimal("0.50"), second.metadata().get("solution"));
  }

  @Test
  void promptsMayBeChatMessagesOrATemplate() throws Exception {
    Path chat =
        jsonl(
            "{\"prompt\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"u\"}], \"answer\": \"a\"}");
    assertEquals(
        List.of(new Message("system", "s"), new Message("user", "u")),
        JsonlDataset.load(chat, FieldMapping.DEFAULTS).getFirst().prompt());

    Path countdown = jsonl("{\"nums\": [3, 7], \"target\": 21}");
    FieldMapping template =
        FieldMapping.DEFAULTS
            .withAnswer("target")
            .withTemplate("Make {target} from {nums}; answer in \\boxed{}. {{literal}}");
    Problem problem = JsonlDataset.load(countdown, template).getFirst();
    assertEquals(
        "Make 21 from [3,7]; answer in \\boxed{}. {literal}",
        problem.prompt().getFirst().content());
    assertEquals("21", problem.answer());
    assertEquals(List.of(3, 7), problem.metadata().get("nums"));
  }

  @Test
  void badRowsNameTheFileLineValueAndExpectation() throws Exception {
    assertError(
        "data.jsonl:2: malformed JSON: Unexpected character ('}' (code 125)): was expecting double-quote to start field name",
        "{\"prompt\": \"a\", \"answer\": \"1\"}",
        "{\"prompt\": \"b\",}");
    assertError("data.jsonl:1: expected a JSON object, found ARRAY", "[1, 2]");
    assertError(
        "data.jsonl:1: no field \"prompt\" (the prompt); the row has question, answer",
        "{\"question\": \"q\", \"answer\": \"1\"}");
    assertError(
        "data.jsonl:1: no field \"answer\" (the reference answer); the row has prompt",
        "{\"prompt\": \"q\"}");
    assertError(
        "data.jsonl:1: \"prompt\"[0] must be {\"role\": \"...\", \"content\": \"...\"}, found {\"content\":\"x\"}",
        "{\"prompt\": [{\"content\": \"x\"}], \"answer\": \"1\"}");
    assertError(
        "data.jsonl:2: id \"a\" is also the id of line 1; ids must be unique",
        "{\"id\": \"a\", \"prompt\": \"q\", \"answer\": \"1\"}",
        "{\"id\": \"a\", \"prompt\": \"r\", \"answer\": \"2\"}");
    assertError(
        "data.jsonl:1: malformed JSON: Duplicate field 'answer'",
        "{\"prompt\": \"q\", \"answer\": \"1\", \"answer\": \"2\"}");
    assertError("data.jsonl: no rows (an empty dataset)", "", "  ");
  }

  private void assertError(String expected, String... lines) throws Exception {
    Path file = jsonl(lines);
    DatasetException e =
        assertThrows(DatasetException.class, () -> JsonlDataset.load(file, FieldMapping.DEFAULTS));
    assertEquals(dir.resolve(expected).toString(), e.getMessage());
  }

  @Test
  void aMissingFileSaysSo() {
    Path missing = dir.resolve("none.jsonl");
    assertEquals(
        missing + ": no such file",
        assertThrows(
                DatasetException.class, () -> JsonlDataset.load(missing, FieldMapping.DEFAULTS))
            .getMessage());
  }
}
