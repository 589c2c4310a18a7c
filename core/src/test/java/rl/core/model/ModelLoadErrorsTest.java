package rl.core.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.safetensors.FloatTensor;
import rl.core.safetensors.SafetensorsStore;
import rl.core.safetensors.SafetensorsWriter;
import rl.core.tensor.Nd4jOps;

/** Loading a broken checkpoint fails with a message naming the file, the tensor or key, and why. */
class ModelLoadErrorsTest {
  private static Path copyOfLlamaTiny(Path dir) throws IOException {
    Path source = Fixtures.root().resolve("models/llama-tiny/model");
    Path target = Files.createDirectories(dir.resolve("model"));
    for (String file :
        new String[] {"config.json", "generation_config.json", "model.safetensors"}) {
      Files.copy(source.resolve(file), target.resolve(file));
    }
    return target;
  }

  private static String loadError(Path model) {
    return assertThrows(RuntimeException.class, () -> Decoder.load(model, new Nd4jOps()))
        .getMessage();
  }

  private static void assertMentions(String message, String... parts) {
    for (String part : parts) {
      assertTrue(message.contains(part), "'" + part + "' missing from: " + message);
    }
  }

  /** Rewrites the checkpoint through {@code edit} (float32). */
  private static void rewrite(
      Path model, java.util.function.Consumer<Map<String, FloatTensor>> edit) throws IOException {
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    Path file = model.resolve("model.safetensors");
    try (SafetensorsStore store = SafetensorsStore.openFile(file)) {
      for (String name : store.names()) {
        tensors.put(name, new FloatTensor(store.readFloats(name), store.info(name).shape()));
      }
    }
    edit.accept(tensors);
    SafetensorsWriter.write(file, tensors, Map.of());
  }

  @Test
  void tensorWhoseShapeDisagreesWithTheConfig(@TempDir Path dir) throws IOException {
    Path model = copyOfLlamaTiny(dir);
    rewrite(
        model,
        t ->
            t.put(
                "model.layers.1.mlp.up_proj.weight",
                new FloatTensor(new float[175 * 64], new long[] {175, 64})));
    assertMentions(
        loadError(model),
        "model.safetensors",
        "model.layers.1.mlp.up_proj.weight",
        "[175, 64]",
        "[176, 64]");
  }

  @Test
  void missingTensor(@TempDir Path dir) throws IOException {
    Path model = copyOfLlamaTiny(dir);
    rewrite(model, t -> t.remove("model.layers.0.self_attn.v_proj.weight"));
    assertMentions(loadError(model), "model.safetensors", "model.layers.0.self_attn.v_proj.weight");
  }

  @Test
  void truncatedCheckpoint(@TempDir Path dir) throws IOException {
    Path model = copyOfLlamaTiny(dir);
    Path file = model.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));
    assertMentions(loadError(model), "model.safetensors", "truncated");
  }

  @Test
  void unsupportedModelType(@TempDir Path dir) throws IOException {
    Path model = copyOfLlamaTiny(dir);
    Path config = model.resolve("config.json");
    Files.writeString(
        config,
        Files.readString(config).replace("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\""));
    assertMentions(loadError(model), "config.json", "model_type", "gpt2", "llama");
  }

  @Test
  void unsupportedRopeType(@TempDir Path dir) throws IOException {
    Path model = copyOfLlamaTiny(dir);
    Path config = model.resolve("config.json");
    Files.writeString(
        config,
        Files.readString(config).replace("\"rope_type\": \"default\"", "\"rope_type\": \"yarn\""));
    assertMentions(loadError(model), "config.json", "rope_type", "yarn", "llama3");
  }

  @Test
  void missingModelDirectory(@TempDir Path dir) {
    assertMentions(loadError(dir.resolve("nope")), "nope", "config.json");
  }
}
