package rl.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rl.core.safetensors.TestFiles.doubles;
import static rl.core.safetensors.TestFiles.floats;
import static rl.core.safetensors.TestFiles.header;
import static rl.core.safetensors.TestFiles.raw;
import static rl.core.safetensors.TestFiles.shorts;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
  @TempDir Path dir;

  private static Path fixtureModel(String name) {
    return TestFiles.fixtureModels().resolve(name).resolve("model/model.safetensors");
  }

  private String openError(Path file) {
    return assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file)).getMessage();
  }

  private static void assertContains(String message, String... parts) {
    for (String part : parts) {
      assertTrue(message.contains(part), () -> "expected '" + part + "' in: " + message);
    }
  }

  @Test
  void readsEveryTensorOfTheThreeFixtureModels() {
    Map<String, Integer> tensorCounts =
        Map.of("llama-tiny", 21, "qwen2-tiny", 26, "qwen3-tiny", 24);
    tensorCounts.forEach(
        (model, count) -> {
          try (SafetensorsFile file = SafetensorsFile.open(fixtureModel(model))) {
            assertEquals(count, file.names().size(), model);
            assertEquals(Map.of("format", "pt"), file.metadata(), model);
            for (String name : file.names()) {
              TensorInfo info = file.info(name);
              assertEquals(DType.F64, info.dtype(), name);
              assertEquals(info.elementCount() * 8, info.end() - info.begin(), name);
              assertEquals(info.elementCount(), file.readFloats(name).length, name);
            }
          }
        });
  }

  /** Expected values were read from the files with Python's struct module ('<d'). */
  @Test
  void fixtureValuesMatchAnIndependentReader() {
    try (SafetensorsFile llama = SafetensorsFile.open(fixtureModel("llama-tiny"))) {
      float[] embed = llama.readFloats("model.embed_tokens.weight");
      assertArrayEquals(new long[] {97, 64}, llama.info("model.embed_tokens.weight").shape());
      assertEquals((float) 0.28382906460017554, embed[0]);
      assertEquals((float) 0.18919283929195072, embed[5]);
      assertEquals((float) 0.25890765018581385, embed[97 * 64 - 1]);
      assertEquals(7.215818650808744, sum(embed), 1e-5);
      float[] norm = llama.readFloats("model.norm.weight");
      assertEquals((float) 1.2355069892367343, norm[0]);
      assertEquals(65.18091554421153, sum(norm), 1e-5);
      assertEquals(-6.386070482499325, sum(llama.readFloats("lm_head.weight")), 1e-5);
    }
    try (SafetensorsFile qwen2 = SafetensorsFile.open(fixtureModel("qwen2-tiny"))) {
      float[] bias = qwen2.readFloats("model.layers.0.self_attn.q_proj.bias");
      assertEquals((float) -0.02043935143375784, bias[0]);
      assertEquals((float) 0.044673690656350934, bias[63]);
      assertEquals(-0.4590608354558473, sum(bias), 1e-6);
    }
    try (SafetensorsFile qwen3 = SafetensorsFile.open(fixtureModel("qwen3-tiny"))) {
      float[] kNorm = qwen3.readFloats("model.layers.1.self_attn.k_norm.weight");
      assertEquals(32, kNorm.length);
      assertEquals((float) 1.2260151432165523, kNorm[5]);
      float[] down = qwen3.readFloats("model.layers.0.mlp.down_proj.weight");
      assertArrayEquals(
          new long[] {64, 176}, qwen3.info("model.layers.0.mlp.down_proj.weight").shape());
      assertEquals((float) 0.08839642648736903, down[0]);
      assertEquals((float) -0.022577430478278485, down[64 * 176 - 1]);
      assertEquals(-0.6371563382908028, sum(down), 1e-5);
    }
  }

  private static double sum(float[] values) {
    double total = 0;
    for (float v : values) {
      total += v;
    }
    return total;
  }

  @Test
  void convertsFloat16Exactly() {
    // 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), +inf, -0
    byte[] data = shorts(0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00, 0x8000);
    Path file = raw(dir.resolve("f16.safetensors"), header("h", "F16", "[7]", 0, 14), data);
    try (SafetensorsFile st = SafetensorsFile.open(file)) {
      assertEquals(DType.F16, st.info("h").dtype());
      float[] expected = {1f, -2f, 0.5f, 65504f, 0x1p-24f, Float.POSITIVE_INFINITY, -0f};
      assertArrayEquals(expected, st.readFloats("h"));
    }
  }

  @Test
  void convertsBfloat16Exactly() {
    // 1, -2, 3.140625, smallest subnormal, -inf, largest finite
    byte[] data = shorts(0x3F80, 0xC000, 0x4049, 0x0001, 0xFF80, 0x7F7F);
    Path file = raw(dir.resolve("bf16.safetensors"), header("b", "BF16", "[2,3]", 0, 12), data);
    try (SafetensorsFile st = SafetensorsFile.open(file)) {
      float[] expected = {
        1f,
        -2f,
        3.140625f,
        Float.intBitsToFloat(0x00010000),
        Float.NEGATIVE_INFINITY,
        Float.intBitsToFloat(0x7F7F0000)
      };
      assertArrayEquals(expected, st.readFloats("b"));
      assertArrayEquals(new long[] {2, 3}, st.info("b").shape());
    }
  }

  @Test
  void convertsFloat64ByRoundingToNearestFloat() {
    byte[] data = doubles(1.5, -0.25, 0.1, 1e300, -3.0e-46);
    Path file = raw(dir.resolve("f64.safetensors"), header("d", "F64", "[5]", 0, 40), data);
    try (SafetensorsFile st = SafetensorsFile.open(file)) {
      float[] expected = {1.5f, -0.25f, 0.1f, Float.POSITIVE_INFINITY, -0f};
      assertArrayEquals(expected, st.readFloats("d"));
    }
  }

  @Test
  void readsScalarsAndEmptyTensors() {
    String header =
        "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
            + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]}}";
    try (SafetensorsFile st =
        SafetensorsFile.open(raw(dir.resolve("s.safetensors"), header, floats(7f)))) {
      assertArrayEquals(new float[] {7f}, st.readFloats("s"));
      assertEquals(1, st.info("s").elementCount());
      assertEquals(0, st.readFloats("e").length);
    }
  }

  @Test
  void unsupportedDtypeFailsOnlyWhenThatTensorIsUsed() {
    String header =
        "{\"ids\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    Path file = raw(dir.resolve("mixed.safetensors"), header, floats(0f, 0f, 1.25f, -4f));
    try (SafetensorsFile st = SafetensorsFile.open(file)) {
      assertEquals(java.util.List.of("ids", "w"), java.util.List.copyOf(st.names()));
      assertArrayEquals(new float[] {1.25f, -4f}, st.readFloats("w"));
      String message =
          assertThrows(SafetensorsException.class, () -> st.readFloats("ids")).getMessage();
      assertEquals(
          file + ": tensor 'ids' has unsupported dtype I32; supported: F64, F32, F16, BF16",
          message);
      assertThrows(SafetensorsException.class, () -> st.info("ids"));
    }
  }

  @Test
  void truncatedDataSectionNamesTensorAndSizes() {
    Path file =
        raw(dir.resolve("cut.safetensors"), header("w", "F32", "[4]", 0, 16), floats(1f, 2f));
    assertEquals(
        file + ": truncated: tensor 'w' needs data bytes up to 16, the data section has 8",
        openError(file));
  }

  @Test
  void fileShorterThanTheLengthPrefix() {
    Path file = TestFiles.bytes(dir.resolve("tiny.safetensors"), new byte[] {1, 2, 3});
    assertEquals(
        file + ": truncated: expected at least the 8-byte header length, found a file of 3 bytes",
        openError(file));
  }

  @Test
  void headerLengthPastTheEndOfTheFile() {
    byte[] content = ByteBuffer.allocate(8 + 10).order(ByteOrder.LITTLE_ENDIAN).putLong(50).array();
    Path file = TestFiles.bytes(dir.resolve("short.safetensors"), content);
    assertEquals(
        file
            + ": truncated: header length says 50 bytes, but only 10 bytes follow the 8-byte length",
        openError(file));
  }

  @Test
  void headerLengthOver100MiBIsRejectedBeforeReading() {
    long claimed = 200L * 1024 * 1024;
    byte[] content = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(claimed).array();
    Path file = TestFiles.bytes(dir.resolve("huge.safetensors"), content);
    assertEquals(
        file
            + ": header length 209715200 bytes exceeds the limit of 104857600 bytes (100 MiB);"
            + " not a safetensors file, or corrupt",
        openError(file));
    // A length with the top bit set is huge, not negative.
    byte[] top = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
    assertContains(
        openError(TestFiles.bytes(dir.resolve("top.safetensors"), top)), "18446744073709551615");
  }

  @Test
  void headerThatIsNotAJsonObject() {
    Path notJson = raw(dir.resolve("a.safetensors"), "{\"w\": [", new byte[0]);
    assertContains(openError(notJson), notJson.toString(), "header is not valid JSON");
    Path array = raw(dir.resolve("b.safetensors"), "[1, 2]  ", new byte[0]);
    assertEquals(array + ": header must be a JSON object, found array", openError(array));
  }

  @Test
  void incompleteTensorEntry() {
    Path file =
        raw(dir.resolve("e.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", floats(1f));
    assertEquals(file + ": tensor 'w': missing 'data_offsets'", openError(file));
  }

  @Test
  void byteSpanDisagreeingWithShape() {
    Path file =
        raw(dir.resolve("span.safetensors"), header("w", "F32", "[4]", 0, 12), floats(1, 2, 3));
    assertEquals(
        file
            + ": tensor 'w': data_offsets [0, 12] span 12 bytes, but shape [4] of F32 needs 16 bytes",
        openError(file));
  }

  @Test
  void missingTensorSuggestsCloseNames() {
    Path path = fixtureModel("llama-tiny");
    try (SafetensorsFile file = SafetensorsFile.open(path)) {
      String message =
          assertThrows(
                  SafetensorsException.class,
                  () -> file.readFloats("model.layers.0.self_attn.q_proj.weigth"))
              .getMessage();
      assertContains(
          message,
          path.toString(),
          "no tensor 'model.layers.0.self_attn.q_proj.weigth'",
          "'model.layers.0.self_attn.q_proj.weight'");
      String unrelated =
          assertThrows(SafetensorsException.class, () -> file.info("xyz")).getMessage();
      assertEquals(path + ": no tensor 'xyz'. It has 21 tensors.", unrelated);
    }
  }

  @Test
  void readingAfterCloseIsAnError() {
    Path path = fixtureModel("llama-tiny");
    SafetensorsFile file = SafetensorsFile.open(path);
    file.close();
    file.close();
    assertEquals(
        path + ": already closed",
        assertThrows(SafetensorsException.class, () -> file.readFloats("model.norm.weight"))
            .getMessage());
  }

  @Test
  void missingFile() {
    Path file = dir.resolve("absent.safetensors");
    assertEquals(file + ": no such file", openError(file));
  }
}
