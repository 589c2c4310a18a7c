package rl.core.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import rl.core.config.LoraConfig;
import rl.core.model.Activations;
import rl.core.model.Decoder;
import rl.core.model.Fixtures;
import rl.core.model.HfModelConfig;
import rl.core.model.Parameter;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;

class LoraAdapterTest {
  private static final List<int[]> SEQUENCES =
      List.of(new int[] {3, 1, 4, 1, 5, 9, 2, 6}, new int[] {5, 3, 5}, new int[] {8, 9, 7, 9});
  private static final HfModelConfig CONFIG = HfModelConfig.of("qwen2", 32, 48, 2, 4, 2, 13);

  private static float[][] logprobs(Decoder model) {
    Activations acts = model.newActivations(32, false);
    return model.sequenceLogprobs(acts, SEQUENCES, 1f);
  }

  /** An adapter with both A and B random, so it changes the model. */
  private static LoraAdapter randomAdapter(Decoder model, LoraConfig config) {
    LoraAdapter adapter = LoraAdapter.create(model, config, 1);
    Random random = new Random(2);
    Ops ops = model.ops();
    for (Parameter p : adapter.parameters()) {
      float[] v = new float[(int) p.value().size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (random.nextGaussian() * 0.1);
      }
      p.setValue(ops.upload(v, p.value().rows(), p.value().cols()));
    }
    return adapter;
  }

  private static LoraConfig lora(int rank, List<String> targets, boolean rslora) {
    return new LoraConfig(rank, 16, targets, LoraConfig.Init.STANDARD, rslora);
  }

  @Test
  void saveAndLoadRoundTripIsBitExact(@TempDir Path dir) throws IOException {
    Ops ops = new Nd4jOps();
    Decoder model = Decoder.random(CONFIG, ops, 1, 0.1);
    LoraAdapter saved =
        randomAdapter(model, lora(2, List.of("q_proj", "v_proj", "down_proj"), true));
    saved.save(dir);
    float[][] before = logprobs(model);

    Decoder fresh = Decoder.random(CONFIG, ops, 1, 0.1);
    LoraAdapter loaded = LoraAdapter.load(dir, fresh);
    assertEquals(2, loaded.rank());
    assertEquals(16.0, loaded.alpha());
    assertTrue(loaded.rslora());
    assertEquals(List.of("q_proj", "v_proj", "down_proj"), loaded.targets());
    assertEquals(saved.parameters().size(), loaded.parameters().size());
    for (int i = 0; i < saved.parameters().size(); i++) {
      Parameter a = saved.parameters().get(i);
      Parameter b = loaded.parameters().get(i);
      assertEquals(a.name(), b.name());
      assertArrayEquals(ops.download(a.value()), ops.download(b.value()), a.name());
    }
    float[][] after = logprobs(fresh);
    for (int s = 0; s < before.length; s++) {
      assertArrayEquals(before[s], after[s], "sequence " + s);
    }
  }

  @Test
  void savedAdapterUsesPeftKeysAndConfigFields(@TempDir Path dir) throws IOException {
    Decoder model = Decoder.random(CONFIG, new Nd4jOps(), 1, 0.1);
    LoraAdapter.create(model, lora(1, LoraConfig.ALL_TARGETS, false), 3).save(dir);
    String config = Files.readString(dir.resolve("adapter_config.json"));
    for (String field :
        List.of(
            "\"peft_type\" : \"LORA\"",
            "\"r\" : 1",
            "\"lora_alpha\" : 16.0",
            "\"use_rslora\" : false")) {
      assertTrue(config.contains(field), field + " in " + config);
    }
    try (var store = rl.core.safetensors.SafetensorsStore.openDirectory(dir)) {
      assertTrue(
          store.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"),
          store.names().toString());
      assertEquals(2 * 7 * 2, store.names().size());
    }
  }

  @Test
  void freshAdaptersLeaveTheModelUnchanged() {
    for (LoraConfig.Init init : List.of(LoraConfig.Init.STANDARD, LoraConfig.Init.B_RANDOM)) {
      Decoder model = Decoder.random(CONFIG, new Nd4jOps(), 1, 0.1);
      float[][] base = logprobs(model);
      LoraAdapter adapter =
          LoraAdapter.create(model, new LoraConfig(1, 32, LoraConfig.ALL_TARGETS, init, false), 7);
      float[] a = model.ops().download(adapter.parameters().get(0).value());
      float[] b = model.ops().download(adapter.parameters().get(1).value());
      boolean aZero = allZero(a);
      boolean bZero = allZero(b);
      assertEquals(init == LoraConfig.Init.B_RANDOM, aZero, init + ": A zero");
      assertEquals(init == LoraConfig.Init.STANDARD, bZero, init + ": B zero");
      float[][] adapted = logprobs(model);
      for (int s = 0; s < base.length; s++) {
        assertArrayEquals(base[s], adapted[s], init + " sequence " + s);
      }
    }
  }

  private static boolean allZero(float[] values) {
    for (float v : values) {
      if (v != 0) {
        return false;
      }
    }
    return true;
  }

  @Test
  void switchingTheAdapterOffGivesTheBaseModel() {
    Decoder model = Decoder.random(CONFIG, new Nd4jOps(), 1, 0.1);
    float[][] base = logprobs(model);
    randomAdapter(model, lora(1, LoraConfig.ALL_TARGETS, false));
    float[][] adapted = logprobs(model);
    assertTrue(Math.abs(adapted[0][0] - base[0][0]) > 1e-4, "the adapter changes the model");
    model.setAdapterEnabled(false);
    float[][] off = logprobs(model);
    for (int s = 0; s < base.length; s++) {
      assertArrayEquals(base[s], off[s], "sequence " + s);
    }
  }

  @Test
  void mergedModelSavedAsHuggingFaceMatchesTheAdaptedModel(@TempDir Path dir) throws IOException {
    Ops ops = new Nd4jOps();
    Decoder model = Decoder.random(CONFIG.withTiedEmbeddings(true), ops, 1, 0.1);
    randomAdapter(model, lora(2, LoraConfig.ALL_TARGETS, false));
    float[][] adapted = logprobs(model);
    model.mergeAdapter();
    assertEquals(0, model.loraRank());
    float[][] merged = logprobs(model);
    model.saveHuggingFace(dir);
    Decoder reloaded = Decoder.load(dir, ops);
    float[][] fromDisk = logprobs(reloaded);
    for (int s = 0; s < adapted.length; s++) {
      assertArrayEquals(adapted[s], merged[s], 1e-5f, "merged, sequence " + s);
      assertArrayEquals(merged[s], fromDisk[s], "reloaded, sequence " + s);
    }
  }

  @Test
  void loadsTheFixtureAdapters() {
    for (Path dir : Fixtures.find("models", "fixture.json")) {
      Decoder model = Decoder.load(dir.resolve("model"), new Nd4jOps());
      LoraAdapter adapter = LoraAdapter.load(dir.resolve("adapter"), model);
      assertEquals(1, adapter.rank(), dir.toString());
      assertEquals(32f, adapter.scale(), dir.toString());
      assertEquals(2 * 7 * model.config().numLayers(), adapter.parameters().size());
    }
  }

  @Test
  void badAdapterConfigsNameTheFileKeyAndValue(@TempDir Path dir) throws IOException {
    Decoder model = Decoder.random(CONFIG, new Nd4jOps(), 1, 0.1);
    LoraAdapter.create(model, lora(1, LoraConfig.ALL_TARGETS, false), 3).save(dir);
    Path config = dir.resolve("adapter_config.json");
    String good = Files.readString(config);

    Files.writeString(config, good.replace("\"r\" : 1", "\"r\" : 0"));
    assertEquals(
        config + ": 'r' must be a positive integer, found 0",
        assertThrows(AdapterFormatException.class, () -> LoraAdapter.load(dir, model))
            .getMessage());

    Files.writeString(config, good.replace("\"use_dora\" : false", "\"use_dora\" : true"));
    assertEquals(
        config + ": 'use_dora' = true is not supported (plain LoRA only)",
        assertThrows(AdapterFormatException.class, () -> LoraAdapter.load(dir, model))
            .getMessage());

    Files.writeString(config, good.replace("\"q_proj\"", "\"qkv_proj\""));
    assertTrue(
        assertThrows(AdapterFormatException.class, () -> LoraAdapter.load(dir, model))
            .getMessage()
            .startsWith(config + ": target_modules names 'qkv_proj', expected some of q_proj"));

    Files.delete(config);
    assertTrue(
        assertThrows(AdapterFormatException.class, () -> LoraAdapter.load(dir, model))
            .getMessage()
            .startsWith(config + ": not found"));
  }

  @Test
  void adapterTensorOfTheWrongShapeIsNamed(@TempDir Path dir) throws IOException {
    Decoder small = Decoder.random(CONFIG, new Nd4jOps(), 1, 0.1);
    LoraAdapter.create(small, lora(1, LoraConfig.ALL_TARGETS, false), 3).save(dir);
    Decoder wider =
        Decoder.random(HfModelConfig.of("qwen2", 64, 48, 2, 4, 2, 13), new Nd4jOps(), 1, 0.1);
    String message =
        assertThrows(RuntimeException.class, () -> LoraAdapter.load(dir, wider)).getMessage();
    assertTrue(
        message.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
            && message.contains("[1, 32]")
            && message.contains("[1, 64]"),
        message);
  }
}
