package rl.core.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import rl.core.config.LoraConfig;
import rl.core.model.Decoder;
import rl.core.model.Linear;
import rl.core.model.Parameter;
import rl.core.safetensors.FloatTensor;
import rl.core.safetensors.SafetensorsStore;
import rl.core.safetensors.SafetensorsWriter;
import rl.core.tensor.Ops;

/**
 * A LoRA adapter on a {@link Decoder}, in PEFT's format: {@code adapter_config.json} plus {@code
 * adapter_model.safetensors} with keys {@code base_model.model.<module>.lora_A.weight} ({@code [r,
 * in]}) and {@code ...lora_B.weight} ({@code [out, r]}), so what is trained here loads in PEFT and
 * vLLM unchanged.
 */
public final class LoraAdapter {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String PREFIX = "base_model.model.";

  private final Decoder model;
  private final int rank;
  private final double alpha;
  private final boolean rslora;
  private final List<String> targets;

  /** The adapted projections and their A/B parameters, in model order. */
  private final List<Linear> adapted = new ArrayList<>();

  private LoraAdapter(Decoder model, int rank, double alpha, boolean rslora, List<String> targets) {
    this.model = model;
    this.rank = rank;
    this.alpha = alpha;
    this.rslora = rslora;
    this.targets = List.copyOf(targets);
  }

  public int rank() {
    return rank;
  }

  public double alpha() {
    return alpha;
  }

  public boolean rslora() {
    return rslora;
  }

  public List<String> targets() {
    return targets;
  }

  /** The factor s in {@code W + s · B A}: alpha / r, or alpha / √r with rsLoRA. */
  public float scale() {
    return (float) (rslora ? alpha / Math.sqrt(rank) : alpha / rank);
  }

  /** Every LoRA tensor, A then B per projection, in model order. */
  public List<Parameter> parameters() {
    List<Parameter> all = new ArrayList<>();
    for (Linear linear : adapted) {
      all.add(linear.loraA());
      all.add(linear.loraB());
    }
    return all;
  }

  /**
   * Creates a fresh adapter on {@code model} and attaches it. {@code standard}: A uniform in ±1/√in
   * (PEFT's Kaiming-uniform with a = √5), B = 0; {@code b-random}: A = 0, B uniform in ±1/√r.
   * Either way the adapted model starts equal to the base model.
   */
  public static LoraAdapter create(Decoder model, LoraConfig config, long seed) {
    if (config.init() == LoraConfig.Init.GRADIENT_SVD) {
      throw new IllegalArgumentException(
          "lora.init gradient-svd sets A from the first training gradient: the learner does that"
              + " after creating a standard adapter");
    }
    LoraAdapter adapter =
        new LoraAdapter(model, config.rank(), config.alpha(), config.rslora(), config.targets());
    Random random = new Random(seed);
    Ops ops = model.ops();
    int r = config.rank();
    for (Linear linear : model.linears()) {
      if (!config.targets().contains(linear.kind())) {
        continue;
      }
      float[] a = new float[r * linear.in()];
      float[] b = new float[linear.out() * r];
      if (config.init() == LoraConfig.Init.STANDARD) {
        fillUniform(a, 1.0 / Math.sqrt(linear.in()), random);
      } else {
        fillUniform(b, 1.0 / Math.sqrt(r), random);
      }
      adapter.attach(linear, ops.upload(a, r, linear.in()), ops.upload(b, linear.out(), r));
    }
    return adapter;
  }

  private static void fillUniform(float[] values, double bound, Random random) {
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
    }
  }

  private void attach(Linear linear, rl.core.tensor.Tensor a, rl.core.tensor.Tensor b) {
    Parameter pa = new Parameter(PREFIX + linear.module() + ".lora_A.weight", a);
    Parameter pb = new Parameter(PREFIX + linear.module() + ".lora_B.weight", b);
    pa.setTrainable(true);
    pb.setTrainable(true);
    linear.setLora(pa, pb, scale());
    adapted.add(linear);
  }

  /** Removes the adapter from the model (its tensors stay readable here). */
  public void detach() {
    for (Linear linear : adapted) {
      linear.setLora(null, null, 0f);
    }
  }

  // ---- PEFT format ----

  /** Reads a PEFT LoRA adapter directory and attaches it to {@code model}. */
  public static LoraAdapter load(Path dir, Decoder model) {
    Path configFile = dir.resolve("adapter_config.json");
    JsonNode config;
    try {
      config = JSON.readTree(Files.readString(configFile));
    } catch (NoSuchFileException e) {
      throw new AdapterFormatException(
          configFile
              + ": not found; a PEFT adapter directory holds"
              + " adapter_config.json and adapter_model.safetensors");
    } catch (IOException e) {
      throw new AdapterFormatException(configFile + ": cannot read: " + e.getMessage(), e);
    }
    if (config == null || !config.isObject()) {
      throw new AdapterFormatException(configFile + ": expected a JSON object");
    }
    String type = config.path("peft_type").asText("LORA");
    if (!type.equals("LORA")) {
      throw new AdapterFormatException(
          configFile + ": peft_type is '" + type + "', expected 'LORA'");
    }
    int rank = requiredInt(configFile, config, "r");
    double alpha = config.has("lora_alpha") ? config.get("lora_alpha").asDouble() : rank;
    boolean rslora = config.path("use_rslora").asBoolean(false);
    unsupportedIfSet(configFile, config, "use_dora", n -> n.asBoolean(false));
    unsupportedIfSet(configFile, config, "fan_in_fan_out", n -> n.asBoolean(false));
    unsupportedIfSet(configFile, config, "rank_pattern", n -> n.isObject() && !n.isEmpty());
    unsupportedIfSet(configFile, config, "alpha_pattern", n -> n.isObject() && !n.isEmpty());
    unsupportedIfSet(configFile, config, "layers_to_transform", n -> !n.isNull());
    unsupportedIfSet(configFile, config, "bias", n -> !n.isNull() && !n.asText().equals("none"));
    List<String> targets = new ArrayList<>();
    JsonNode targetNode = config.get("target_modules");
    if (targetNode == null || !targetNode.isArray()) {
      throw new AdapterFormatException(
          configFile + ": target_modules must be a list of projection names, found " + targetNode);
    }
    for (JsonNode t : targetNode) {
      if (!LoraConfig.ALL_TARGETS.contains(t.asText())) {
        throw new AdapterFormatException(
            configFile
                + ": target_modules names '"
                + t.asText()
                + "', expected some of "
                + String.join(", ", LoraConfig.ALL_TARGETS));
      }
      targets.add(t.asText());
    }
    LoraAdapter adapter = new LoraAdapter(model, rank, alpha, rslora, targets);
    Ops ops = model.ops();
    try (SafetensorsStore store = SafetensorsStore.openDirectory(dir)) {
      for (Linear linear : model.linears()) {
        if (!targets.contains(linear.kind())) {
          continue;
        }
        String prefix = PREFIX + linear.module();
        float[] a = store.readFloats(prefix + ".lora_A.weight", rank, linear.in());
        float[] b = store.readFloats(prefix + ".lora_B.weight", linear.out(), rank);
        adapter.attach(linear, ops.upload(a, rank, linear.in()), ops.upload(b, linear.out(), rank));
      }
    }
    return adapter;
  }

  /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} (float32). */
  public void save(Path dir) throws IOException {
    Files.createDirectories(dir);
    ObjectNode config = JSON.createObjectNode();
    config.put("peft_type", "LORA");
    config.put("task_type", "CAUSAL_LM");
    config.putNull("base_model_name_or_path");
    config.put("r", rank);
    config.put("lora_alpha", alpha);
    config.put("use_rslora", rslora);
    config.putArray("target_modules").addAll(targets.stream().map(config::textNode).toList());
    config.put("lora_dropout", 0.0);
    config.put("bias", "none");
    config.put("fan_in_fan_out", false);
    config.put("use_dora", false);
    config.put("init_lora_weights", true);
    config.put("inference_mode", true);
    config.putNull("modules_to_save");
    config.putNull("layers_to_transform");
    config.putObject("rank_pattern");
    config.putObject("alpha_pattern");
    Path configFile = dir.resolve("adapter_config.json");
    Path temporary = dir.resolve("adapter_config.json.tmp");
    Files.writeString(temporary, JSON.writeValueAsString(config) + "\n");
    Files.move(
        temporary,
        configFile,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    Ops ops = model.ops();
    for (Parameter p : parameters()) {
      tensors.put(
          p.name(),
          new FloatTensor(
              ops.download(p.value()), new long[] {p.value().rows(), p.value().cols()}));
    }
    SafetensorsWriter.write(
        dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
  }

  private static int requiredInt(Path file, JsonNode config, String key) {
    JsonNode node = config.get(key);
    if (node == null || !node.canConvertToInt() || !node.isIntegralNumber() || node.asInt() < 1) {
      throw new AdapterFormatException(
          file + ": '" + key + "' must be a positive integer, found " + node);
    }
    return node.asInt();
  }

  private static void unsupportedIfSet(
      Path file, JsonNode config, String key, java.util.function.Predicate<JsonNode> isSet) {
    JsonNode node = config.get(key);
    if (node != null && isSet.test(node)) {
      throw new AdapterFormatException(
          file + ": '" + key + "' = " + node + " is not supported (plain LoRA only)");
    }
  }
}
