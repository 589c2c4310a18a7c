package rl.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.model.BenchmarkShapes;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.model.Parameter;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;
import rl.core.tokenizer.HfTokenizer;

/** {@code rl random-model}: a loadable model directory in a benchmark shape; bad input named. */
class RandomModelCommandTest {
  private static final Path REPO = Path.of(System.getProperty("rl.repo", ".."));
  private static final Path DEMO_TOKENIZER = REPO.resolve("examples/arithmetic/base");

  @Test
  void writesTheShapesRandomWeightsAndTheTokenizer(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("small");
    CliTest.Result result =
        CliTest.rl(
            "random-model",
            "small",
            out.toString(),
            "--tokenizer",
            DEMO_TOKENIZER.toString(),
            "--seed",
            "7",
            "--backend",
            "nd4j");
    assertEquals(0, result.exitCode(), result.err());
    assertTrue(result.out().contains("small shape"), result.out());

    Ops ops = new Nd4jOps();
    Decoder loaded = Decoder.load(out, ops);
    Decoder expected = Decoder.random(BenchmarkShapes.of("small"), ops, 7);
    assertEquals(BenchmarkShapes.of("small").vocabSize(), loaded.config().vocabSize());
    List<Parameter> want = expected.parameters();
    List<Parameter> got = loaded.parameters();
    assertEquals(want.size(), got.size());
    for (int i = 0; i < want.size(); i++) {
      assertEquals(want.get(i).name(), got.get(i).name());
      assertArrayEquals(
          ops.download(want.get(i).value()), ops.download(got.get(i).value()), want.get(i).name());
    }
    assertEquals(HfTokenizer.load(DEMO_TOKENIZER).vocabSize(), HfTokenizer.load(out).vocabSize());
    assertTrue(Files.isRegularFile(out.resolve("tokenizer_config.json")));
  }

  @Test
  void aTokenizerLargerThanTheShapesVocabularyIsRefusedByName(@TempDir Path dir) {
    Path tokenizer = REPO.resolve("core/src/test/resources/fixtures/tokenizers/qwen3");
    CliTest.Result result =
        CliTest.rl(
            "random-model",
            "small",
            dir.resolve("m").toString(),
            "--tokenizer",
            tokenizer.toString());
    assertEquals(2, result.exitCode());
    assertTrue(result.err().contains(tokenizer.resolve("tokenizer.json").toString()), result.err());
    assertTrue(result.err().contains("vocabulary of 260"), result.err());
    assertFalse(Files.exists(dir.resolve("m")));
  }

  @Test
  void anUnavailableBackendIsOneClearLine(@TempDir Path dir) {
    CliTest.Result result =
        CliTest.rl(
            "random-model",
            "small",
            dir.resolve("m").toString(),
            "--tokenizer",
            DEMO_TOKENIZER.toString(),
            "--backend",
            "cuda");
    if (result.exitCode() != 0) { // no GPU here (CI): the reason in one line, no stack trace
      assertEquals(2, result.exitCode(), result.err());
      assertTrue(result.err().startsWith("rl: --backend CUDA: "), result.err());
      assertFalse(result.err().contains("\tat "), result.err());
    }
  }

  @Test
  void anExistingModelIsNotOverwrittenAndUnknownShapesAreNamed(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve(HfModelConfig.CONFIG_FILE), "{}");
    CliTest.Result existing =
        CliTest.rl(
            "random-model", "small", dir.toString(), "--tokenizer", DEMO_TOKENIZER.toString());
    assertEquals(2, existing.exitCode());
    assertTrue(existing.err().contains("already holds a model"), existing.err());

    CliTest.Result unknown =
        CliTest.rl(
            "random-model",
            "qwen-7b",
            dir.resolve("x").toString(),
            "--tokenizer",
            DEMO_TOKENIZER.toString());
    assertEquals(2, unknown.exitCode());
    assertTrue(unknown.err().contains("unknown shape 'qwen-7b'"), unknown.err());
  }
}
