package rl.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsStoreTest {
  @TempDir Path dir;

  private static FloatTensor tensor(long rows, long cols, float start) {
    float[] data = new float[(int) (rows * cols)];
    for (int i = 0; i < data.length; i++) {
      data[i] = start + i;
    }
    return new FloatTensor(data, new long[] {rows, cols});
  }

  private static String error(Runnable action) {
    return assertThrows(SafetensorsException.class, action::run).getMessage();
  }

  /** Two shards and an index, as transformers' save_pretrained writes them. */
  private void writeShardedModel() throws IOException {
    Map<String, FloatTensor> first = new LinkedHashMap<>();
    first.put("model.embed_tokens.weight", tensor(5, 4, 0));
    first.put("model.layers.0.self_attn.q_proj.weight", tensor(4, 4, 100));
    Map<String, FloatTensor> second = new LinkedHashMap<>();
    second.put("model.norm.weight", tensor(1, 4, 200));
    second.put("lm_head.weight", tensor(5, 4, 300));
    SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), first, Map.of());
    SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), second, Map.of());
    Files.writeString(
        dir.resolve(SafetensorsStore.INDEX_FILE),
        """
        {"metadata": {"total_size": 224},
         "weight_map": {
           "lm_head.weight": "model-00002-of-00002.safetensors",
           "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
           "model.layers.0.self_attn.q_proj.weight": "model-00001-of-00002.safetensors",
           "model.norm.weight": "model-00002-of-00002.safetensors"}}
        """);
  }

  @Test
  void readsShardsThroughTheIndex() throws IOException {
    writeShardedModel();
    try (SafetensorsStore store = SafetensorsStore.openDirectory(dir)) {
      assertEquals(dir.resolve(SafetensorsStore.INDEX_FILE), store.source());
      assertEquals(
          List.of(
              "lm_head.weight",
              "model.embed_tokens.weight",
              "model.layers.0.self_attn.q_proj.weight",
              "model.norm.weight"),
          List.copyOf(store.names()));
      assertTrue(store.contains("model.norm.weight"));
      assertFalse(store.contains("model.norm.bias"));
      assertEquals(dir.resolve("model-00002-of-00002.safetensors"), store.fileOf("lm_head.weight"));
      assertEquals(
          dir.resolve("model-00001-of-00002.safetensors"),
          store.fileOf("model.embed_tokens.weight"));
      assertArrayEquals(
          new float[] {200, 201, 202, 203}, store.readFloats("model.norm.weight", 1, 4));
      float[] head = store.readFloats("lm_head.weight", 5, 4);
      assertEquals(300f, head[0]);
      assertEquals(319f, head[19]);
      assertArrayEquals(
          new long[] {4, 4}, store.info("model.layers.0.self_attn.q_proj.weight").shape());
    }
  }

  @Test
  void findsTheSingleFileOfAFixtureModelAndAdapter() {
    Path llama = TestFiles.fixtureModels().resolve("llama-tiny");
    try (SafetensorsStore model = SafetensorsStore.openDirectory(llama.resolve("model"))) {
      assertEquals(llama.resolve("model/model.safetensors"), model.source());
      assertEquals(21, model.names().size());
      assertEquals(
          64 * 64, model.readFloats("model.layers.1.self_attn.q_proj.weight", 64, 64).length);
    }
    try (SafetensorsStore adapter = SafetensorsStore.openDirectory(llama.resolve("adapter"))) {
      assertEquals(llama.resolve("adapter/adapter_model.safetensors"), adapter.source());
      assertEquals(
          176,
          adapter.readFloats("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight", 1, 176)
              .length);
    }
  }

  @Test
  void shapeDisagreeingWithExpectedNamesFileTensorAndBothShapes() {
    Path file = dir.resolve("model.safetensors");
    SafetensorsWriter.write(
        file, Map.of("model.layers.0.self_attn.q_proj.weight", tensor(64, 32, 0)), Map.of());
    try (SafetensorsStore store = SafetensorsStore.openDirectory(dir)) {
      assertEquals(
          file
              + ": tensor 'model.layers.0.self_attn.q_proj.weight' has shape [64, 32], expected [64,"
              + " 64]",
          error(() -> store.readFloats("model.layers.0.self_attn.q_proj.weight", 64, 64)));
    }
  }

  @Test
  void missingTensorNamesTheSourceAndCloseNames() throws IOException {
    writeShardedModel();
    try (SafetensorsStore store = SafetensorsStore.openDirectory(dir)) {
      assertEquals(
          dir.resolve(SafetensorsStore.INDEX_FILE)
              + ": no tensor 'model.norm.bias'. Close names present: 'model.norm.weight'.",
          error(() -> store.readFloats("model.norm.bias")));
    }
  }

  @Test
  void indexNamingAMissingShard() throws IOException {
    writeShardedModel();
    Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
    Path index = dir.resolve(SafetensorsStore.INDEX_FILE);
    assertEquals(
        index
            + ": tensor 'lm_head.weight' is mapped to shard "
            + dir.resolve("model-00002-of-00002.safetensors")
            + ", which does not exist (found nothing there)",
        error(() -> SafetensorsStore.openDirectory(dir)));
  }

  @Test
  void indexMappingATensorToAShardThatLacksIt() throws IOException {
    writeShardedModel();
    Path index = dir.resolve(SafetensorsStore.INDEX_FILE);
    Files.writeString(
        index,
        Files.readString(index)
            .replace(
                "\"model.norm.weight\": \"model-00002-of-00002.safetensors\"",
                "\"model.norm.weight\": \"model-00001-of-00002.safetensors\""));
    String message = error(() -> SafetensorsStore.openDirectory(dir));
    assertTrue(
        message.startsWith(
            index
                + ": maps tensor 'model.norm.weight' to "
                + dir.resolve("model-00001-of-00002.safetensors")
                + ", but that shard has no such tensor."),
        message);
  }

  @Test
  void directoryWithoutAnUnambiguousFile() throws IOException {
    String expected =
        dir
            + ": expected model.safetensors.index.json, model.safetensors or exactly one"
            + " *.safetensors file, found ";
    assertEquals(
        expected + "no *.safetensors file", error(() -> SafetensorsStore.openDirectory(dir)));
    Map<String, FloatTensor> one = Map.of("w", tensor(1, 1, 0));
    SafetensorsWriter.write(dir.resolve("a.safetensors"), one, Map.of());
    SafetensorsWriter.write(dir.resolve("b.safetensors"), one, Map.of());
    assertEquals(
        expected + "2 *.safetensors files (a.safetensors, b.safetensors) and no index",
        error(() -> SafetensorsStore.openDirectory(dir)));
    Path notDir = dir.resolve("a.safetensors");
    assertEquals(
        notDir + ": expected a directory of safetensors weights, found a file",
        error(() -> SafetensorsStore.openDirectory(notDir)));
  }
}
