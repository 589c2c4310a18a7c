package rl.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.model.HfModelConfig.RopeScaling;

class HfModelConfigTest {
  @TempDir Path dir;

  private static Path fixture(String name) {
    try {
      return Path.of(
          HfModelConfigTest.class.getResource("/fixtures/models/" + name + "/model").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A minimal transformers-4 llama config.json; {@code extra} is spliced in before the end. */
  private static final String LLAMA4 =
      """
      {"model_type": "llama", "hidden_size": 64, "intermediate_size": 176,
       "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 97%s}
      """;

  private Path config(String extra) {
    return write(LLAMA4.formatted(extra));
  }

  private Path write(String json) {
    try {
      Files.writeString(dir.resolve("config.json"), json);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String error(Path modelDir) {
    return assertThrows(ModelConfigException.class, () -> HfModelConfig.load(modelDir))
        .getMessage();
  }

  private Path configFile() {
    return dir.resolve("config.json");
  }

  @Test
  void loadsTheLlamaFixture() {
    HfModelConfig c = HfModelConfig.load(fixture("llama-tiny"));
    HfModelConfig expected =
        new HfModelConfig(
            "llama",
            64,
            176,
            2,
            4,
            2,
            16,
            97,
            1e-5,
            10000.0,
            RopeScaling.DEFAULT,
            false,
            false,
            false,
            256,
            List.of(2),
            1);
    assertEquals(expected, c);
  }

  @Test
  void loadsTheQwen2FixtureWithBiasesByModelType() {
    HfModelConfig c = HfModelConfig.load(fixture("qwen2-tiny"));
    assertEquals("qwen2", c.modelType());
    assertTrue(c.attentionBias());
    assertFalse(c.qkNorm());
    assertTrue(c.tieWordEmbeddings());
    assertEquals(16, c.headDim());
    assertEquals(1e6, c.ropeTheta());
    assertEquals(List.of(), c.eosTokenIds());
    assertNull(c.bosTokenId());
  }

  @Test
  void loadsTheQwen3FixtureWithExplicitHeadDimAndQkNorm() {
    HfModelConfig c = HfModelConfig.load(fixture("qwen3-tiny"));
    assertEquals("qwen3", c.modelType());
    assertEquals(32, c.headDim()); // != hidden_size / heads = 16
    assertTrue(c.qkNorm());
    assertFalse(c.attentionBias());
    assertTrue(c.tieWordEmbeddings());
    assertEquals(2, c.numKvHeads());
    assertEquals(RopeScaling.DEFAULT, c.rope());
  }

  @Test
  void appliesDefaultsForAbsentKeys() {
    HfModelConfig c = HfModelConfig.load(config(""));
    assertEquals(HfModelConfig.llama(64, 176, 2, 4, 4, 97), c);
    assertEquals(10000.0, c.ropeTheta());
    assertEquals(1e-6, c.rmsNormEps());
    assertEquals(4, c.numKvHeads());
    assertEquals(16, c.headDim());
    assertEquals(2048, c.maxPositionEmbeddings());
    assertFalse(c.tieWordEmbeddings());
  }

  /**
   * Expected frequencies computed in Python (float64) from the transformers llama3 formula for
   * theta 500000, factor 8, low 1, high 4, original 8192, head_dim 64: indices 0-14 keep their
   * frequency, 15-17 are blended, 18-31 are divided by 8.
   */
  @Test
  void readsTransformers4Llama3RopeScaling() {
    Path modelDir =
        config(
            """
            , "head_dim": 64, "num_key_value_heads": 1, "rope_theta": 500000.0,
              "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                               "original_max_position_embeddings": 8192, "rope_type": "llama3"}""");
    HfModelConfig c = HfModelConfig.load(modelDir);
    assertEquals(500000.0, c.ropeTheta());
    assertEquals(RopeScaling.llama3(8, 1, 4, 8192), c.rope());
    double[] inv = c.ropeInverseFrequencies();
    assertEquals(32, inv.length);
    assertRelative(1.0, inv[0]);
    assertRelative(0.12868737343265052, inv[5]);
    assertRelative(0.0032114459947525913, inv[14]);
    assertRelative(0.0013718935677611381, inv[15]);
    assertRelative(0.0005248461609929547, inv[16]);
    assertRelative(0.00017850781276799638, inv[17]);
    assertRelative(7.78465527393245e-05, inv[18]);
    assertRelative(4.411534674558404e-06, inv[25]);
    assertRelative(3.7673226901739635e-07, inv[31]);
  }

  private static void assertRelative(double expected, double actual) {
    assertEquals(expected, actual, Math.abs(expected) * 1e-12);
  }

  @Test
  void readsTransformers5RopeParametersAndTheOlderTypeKey() {
    HfModelConfig fromParameters =
        HfModelConfig.load(
            config(
                """
                , "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                   "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192}"""));
    assertEquals(500000.0, fromParameters.ropeTheta());
    assertEquals(RopeScaling.llama3(32, 1, 4, 8192), fromParameters.rope());
    HfModelConfig fromTypeKey =
        HfModelConfig.load(
            config(
                """
                , "rope_theta": 500000, "rope_scaling": {"type": "llama3", "factor": 32,
                   "low_freq_factor": 1, "high_freq_factor": 4,
                   "original_max_position_embeddings": 8192}"""));
    assertEquals(fromParameters, fromTypeKey);
    assertEquals(
        RopeScaling.DEFAULT, HfModelConfig.load(config(", \"rope_scaling\": null")).rope());
  }

  @Test
  void defaultRopeFrequenciesFollowTheta() {
    double[] inv = HfModelConfig.llama(64, 176, 2, 4, 4, 97).ropeInverseFrequencies();
    assertEquals(8, inv.length);
    assertEquals(1.0, inv[0]);
    assertRelative(1.0 / Math.pow(10000.0, 2.0 / 16), inv[1]);
  }

  @Test
  void unsupportedModelType() {
    assertEquals(
        configFile()
            + ": model_type 'gemma' is not supported; supported: llama, mistral, qwen2, qwen3",
        error(write(LLAMA4.formatted("").replace("\"llama\"", "\"gemma\""))));
  }

  @Test
  void unsupportedRopeType() {
    assertEquals(
        configFile()
            + ": rope_scaling.rope_type: rope type 'yarn' is not supported; supported: default,"
            + " llama3",
        error(config(", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}")));
    assertEquals(
        configFile()
            + ": rope_parameters.rope_type: rope type 'linear' is not supported; supported:"
            + " default, llama3",
        error(config(", \"rope_parameters\": {\"rope_type\": \"linear\", \"factor\": 2.0}")));
    assertEquals(
        configFile() + ": missing required key 'rope_scaling.low_freq_factor'",
        error(config(", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}")));
  }

  @Test
  void missingRequiredKey() {
    assertEquals(
        configFile() + ": missing required key 'hidden_size'",
        error(write(LLAMA4.formatted("").replace("\"hidden_size\": 64,", ""))));
  }

  @Test
  void wrongTypeNamesKeyValueAndExpected() {
    assertEquals(
        configFile() + ": hidden_size: expected an integer, found \"64\"",
        error(
            write(LLAMA4.formatted("").replace("\"hidden_size\": 64", "\"hidden_size\": \"64\""))));
    assertEquals(
        configFile() + ": tie_word_embeddings: expected true or false, found \"yes\"",
        error(config(", \"tie_word_embeddings\": \"yes\"")));
    assertEquals(
        configFile() + ": rms_norm_eps: expected a positive number, found 0",
        error(config(", \"rms_norm_eps\": 0")));
  }

  @Test
  void headsMustBeAMultipleOfKvHeads() {
    assertEquals(
        configFile() + ": num_attention_heads 4 must be a multiple of num_key_value_heads, found 3",
        error(config(", \"num_key_value_heads\": 3")));
  }

  @Test
  void onlySiluActivation() {
    assertEquals(
        configFile() + ": hidden_act 'gelu' is not supported; the MLP is SwiGLU, expected 'silu'",
        error(config(", \"hidden_act\": \"gelu\"")));
  }

  @Test
  void mistralSlidingWindowIsAccepted() {
    HfModelConfig c =
        HfModelConfig.load(
            write(
                LLAMA4
                    .formatted(", \"sliding_window\": 4096, \"num_key_value_heads\": 2")
                    .replace("\"llama\"", "\"mistral\"")));
    assertEquals("mistral", c.modelType());
    assertFalse(c.attentionBias());
  }

  @Test
  void eosIdsPreferGenerationConfig() throws IOException {
    Path modelDir = config(", \"eos_token_id\": 2, \"bos_token_id\": 1");
    assertEquals(List.of(2), HfModelConfig.load(modelDir).eosTokenIds());
    Files.writeString(modelDir.resolve("generation_config.json"), "{\"eos_token_id\": [5, 7]}");
    HfModelConfig c = HfModelConfig.load(modelDir);
    assertEquals(List.of(5, 7), c.eosTokenIds());
    assertEquals(1, c.bosTokenId());
    Files.writeString(modelDir.resolve("generation_config.json"), "{\"eos_token_id\": \"</s>\"}");
    assertEquals(
        modelDir.resolve("generation_config.json")
            + ": eos_token_id: expected a non-negative integer token id or a list of them, found"
            + " \"</s>\"",
        error(modelDir));
  }

  @Test
  void writeThenLoadGivesAnEqualConfig() throws IOException {
    List<HfModelConfig> configs =
        List.of(
            HfModelConfig.llama(64, 128, 3, 8, 2, 300)
                .withRope(500000.0, RopeScaling.llama3(8, 1, 4, 8192))
                .withTokenIds(List.of(128001, 128008, 128009), 128000),
            HfModelConfig.of("qwen2", 32, 64, 1, 4, 2, 50).withTiedEmbeddings(true),
            HfModelConfig.of("qwen3", 32, 64, 1, 4, 2, 50)
                .withHeadDim(16)
                .withTokenIds(List.of(3), null),
            HfModelConfig.of("mistral", 32, 64, 1, 4, 4, 50),
            HfModelConfig.load(fixture("llama-tiny")),
            HfModelConfig.load(fixture("qwen2-tiny")),
            HfModelConfig.load(fixture("qwen3-tiny")));
    for (int i = 0; i < configs.size(); i++) {
      Path out = dir.resolve("model-" + i);
      configs.get(i).write(out);
      assertEquals(configs.get(i), HfModelConfig.load(out), configs.get(i).toJson());
      try (var listing = Files.list(out)) {
        assertEquals(List.of(out.resolve("config.json")), listing.toList());
      }
    }
    String json = configs.getFirst().toJson();
    assertTrue(json.contains("\"LlamaForCausalLM\""), json);
    assertTrue(json.contains("\"torch_dtype\" : \"float32\""), json);
  }

  @Test
  void missingConfigFile() {
    assertEquals(
        configFile() + ": no such file; expected a Hugging Face model directory with config.json",
        error(dir));
  }
}
