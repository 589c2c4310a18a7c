package rl.learner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import rl.core.model.Parameter;
import rl.core.safetensors.FloatTensor;
import rl.core.safetensors.SafetensorsStore;
import rl.core.safetensors.SafetensorsWriter;

/**
 * Learner checkpoints: {@code step-N/} holds the trained tensors ({@code adapter/} in PEFT format,
 * or {@code model/} as a Hugging Face checkpoint in full fine-tuning), {@code
 * optimizer.safetensors} (AdamW moments) and {@code state.json} (step, version, anything the run
 * adds). Each is written under a hidden temporary name and renamed when complete, so a crash never
 * leaves a half-written {@code step-N}.
 */
public final class Checkpoints {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String OPTIMIZER_FILE = "optimizer.safetensors";

  /** ReLoRA runs: the adapted projections' weights after merges. */
  static final String MERGED_FILE = "merged_weights.safetensors";

  static final String STATE_FILE = "state.json";

  /** Called after each file of a checkpoint is written; tests use it to fail midway. */
  static Consumer<Path> afterFileWritten = path -> {};

  private Checkpoints() {}

  /**
   * Writes {@code dir/step-N} for the learner's current step; {@code extraState} is stored in
   * state.json under "run".
   */
  public static Path save(Learner learner, Path dir, Map<String, Object> extraState)
      throws IOException {
    Files.createDirectories(dir);
    Path target = dir.resolve("step-" + learner.step());
    Path temporary = Files.createTempDirectory(dir, ".step-" + learner.step() + ".tmp-");
    try {
      if (learner.adapter() != null) {
        learner.adapter().save(temporary.resolve("adapter"));
        afterFileWritten.accept(temporary.resolve("adapter"));
      } else {
        learner.model().saveHuggingFace(temporary.resolve("model"));
        afterFileWritten.accept(temporary.resolve("model"));
      }
      if (learner.adapter() != null && learner.baseMerged()) {
        // ReLoRA changed the adapted projections' weights: the model directory no longer has them.
        Map<String, FloatTensor> merged = new LinkedHashMap<>();
        for (Parameter p : learner.mergedWeights()) {
          merged.put(
              p.name(),
              new FloatTensor(
                  learner.ops().download(p.value()),
                  new long[] {p.value().rows(), p.value().cols()}));
        }
        SafetensorsWriter.write(temporary.resolve(MERGED_FILE), merged, Map.of());
        afterFileWritten.accept(temporary.resolve(MERGED_FILE));
      }
      SafetensorsWriter.write(
          temporary.resolve(OPTIMIZER_FILE), learner.optimizerState(), Map.of());
      afterFileWritten.accept(temporary.resolve(OPTIMIZER_FILE));
      ObjectNode state = JSON.createObjectNode();
      state.put("step", learner.step());
      state.set("run", JSON.valueToTree(extraState));
      Files.writeString(temporary.resolve(STATE_FILE), JSON.writeValueAsString(state));
      afterFileWritten.accept(temporary.resolve(STATE_FILE));
      if (Files.exists(target)) {
        deleteTree(target);
      }
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (IOException | RuntimeException e) {
      deleteTree(temporary);
      throw e;
    }
  }

  /** The newest complete checkpoint under {@code dir} (temporary directories are ignored). */
  public static Optional<Path> latest(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries
          .filter(p -> p.getFileName().toString().matches("step-\\d+"))
          .filter(p -> Files.exists(p.resolve(STATE_FILE)))
          .max(
              Comparator.comparingInt(
                  p -> Integer.parseInt(p.getFileName().toString().substring(5))));
    }
  }

  /** Restores the learner from {@code stepDir}; returns the stored "run" state. */
  public static JsonNode restore(Learner learner, Path stepDir) throws IOException {
    Path stateFile = stepDir.resolve(STATE_FILE);
    if (!Files.exists(stateFile)) {
      throw new IOException(stepDir + ": not a checkpoint (no " + STATE_FILE + ")");
    }
    JsonNode state = JSON.readTree(stateFile.toFile());
    Map<String, float[]> values = new HashMap<>();
    Path tensors = stepDir.resolve(learner.adapter() != null ? "adapter" : "model");
    try (SafetensorsStore store = SafetensorsStore.openDirectory(tensors)) {
      for (Parameter p : learner.trainable()) {
        values.put(p.name(), store.readFloats(p.name()));
      }
    }
    Map<String, float[]> optimizer = new LinkedHashMap<>();
    try (SafetensorsStore store = SafetensorsStore.openFile(stepDir.resolve(OPTIMIZER_FILE))) {
      for (String name : store.names()) {
        optimizer.put(name, store.readFloats(name));
      }
    }
    learner.restore(values, optimizer, state.path("step").asInt());
    Path merged = stepDir.resolve(MERGED_FILE);
    if (learner.adapter() != null && Files.exists(merged)) {
      Map<String, float[]> weights = new HashMap<>();
      try (SafetensorsStore store = SafetensorsStore.openFile(merged)) {
        for (String name : store.names()) {
          weights.put(name, store.readFloats(name));
        }
      }
      learner.restoreMergedWeights(weights);
    }
    return state.path("run");
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** For tests: the optimizer moments as FloatTensors. */
  static Map<String, FloatTensor> moments(Learner learner) {
    return learner.optimizerState();
  }
}
