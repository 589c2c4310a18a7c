package rl.core.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A decoder-only transformer as described by a Hugging Face {@code config.json}: the Llama family
 * (pre-norm RMSNorm, rotary positions, grouped-query attention, SwiGLU MLP) in its {@code llama},
 * {@code mistral}, {@code qwen2} and {@code qwen3} variants.
 *
 * <p>Variants differ only in flags: {@code qwen2} has biases on the q/k/v projections, {@code
 * qwen3} has a per-head RMSNorm on q and k ({@link #qkNorm}) and usually an explicit {@code
 * head_dim}. Mistral's and Qwen2's {@code sliding_window} is accepted and ignored: attention is
 * always full, which is exact for sequences shorter than the window (4096 and more tokens in the
 * published checkpoints), and only differs beyond it.
 *
 * <p>{@link #load} is lenient about keys it does not need and strict about the ones it does: a
 * missing required key, a value of the wrong type, an unsupported {@code model_type}, rope type or
 * activation are errors naming the file, the key and the value.
 *
 * @param modelType {@code llama}, {@code mistral}, {@code qwen2} or {@code qwen3}
 * @param hiddenSize C, the residual stream width
 * @param intermediateSize the MLP's inner width
 * @param numLayers L
 * @param numHeads NH, query heads
 * @param numKvHeads NKV, key/value heads (NH is a multiple of it)
 * @param headDim HS; NH × HS need not equal C (Qwen3)
 * @param vocabSize V
 * @param rmsNormEps epsilon inside every RMSNorm
 * @param ropeTheta the rotary base
 * @param rope the rotary frequency scaling
 * @param tieWordEmbeddings the output projection is the embedding matrix (no {@code lm_head})
 * @param attentionBias q/k/v projections have biases
 * @param qkNorm per-head RMSNorm on q and k before rotation (Qwen3)
 * @param maxPositionEmbeddings the context length the model was trained for
 * @param eosTokenIds tokens that end generation; may be empty
 * @param bosTokenId the beginning-of-sequence token, or null
 */
public record HfModelConfig(
    String modelType,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int vocabSize,
    double rmsNormEps,
    double ropeTheta,
    RopeScaling rope,
    boolean tieWordEmbeddings,
    boolean attentionBias,
    boolean qkNorm,
    int maxPositionEmbeddings,
    List<Integer> eosTokenIds,
    Integer bosTokenId) {

  public static final String CONFIG_FILE = "config.json";
  public static final String GENERATION_CONFIG_FILE = "generation_config.json";

  /** The Hugging Face architecture class of each supported {@code model_type}. */
  private static final Map<String, String> ARCHITECTURES =
      Map.of(
          "llama", "LlamaForCausalLM",
          "mistral", "MistralForCausalLM",
          "qwen2", "Qwen2ForCausalLM",
          "qwen3", "Qwen3ForCausalLM");

  public static final List<String> SUPPORTED_MODEL_TYPES =
      List.of("llama", "mistral", "qwen2", "qwen3");

  // Defaults for keys a config may omit (transformers' own defaults where they agree).
  public static final double DEFAULT_ROPE_THETA = 10000.0;
  public static final double DEFAULT_RMS_NORM_EPS = 1e-6;
  public static final int DEFAULT_MAX_POSITION_EMBEDDINGS = 2048;

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * How rotary frequencies are scaled. {@code default} leaves them alone (the other fields are then
   * normalised to factor 1 and zeros, so two default scalings are always equal); {@code llama3}
   * divides the low frequencies by {@code factor} and blends the middle band, see {@link
   * HfModelConfig#ropeInverseFrequencies()}.
   */
  public record RopeScaling(
      String type,
      double factor,
      double lowFreqFactor,
      double highFreqFactor,
      int originalMaxPositions) {

    public static final List<String> SUPPORTED_TYPES = List.of("default", "llama3");
    public static final RopeScaling DEFAULT = new RopeScaling("default", 1.0, 0, 0, 0);

    public RopeScaling {
      Objects.requireNonNull(type, "type");
      switch (type) {
        case "default" -> {
          factor = 1.0;
          lowFreqFactor = 0;
          highFreqFactor = 0;
          originalMaxPositions = 0;
        }
        case "llama3" -> {
          if (!(factor > 0)
              || !(lowFreqFactor > 0)
              || !(highFreqFactor > lowFreqFactor)
              || originalMaxPositions <= 0) {
            throw new IllegalArgumentException(
                "llama3 rope scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and"
                    + " original_max_position_embeddings > 0, found factor "
                    + factor
                    + ", low_freq_factor "
                    + lowFreqFactor
                    + ", high_freq_factor "
                    + highFreqFactor
                    + ", original_max_position_embeddings "
                    + originalMaxPositions);
          }
        }
        default ->
            throw new IllegalArgumentException(
                "rope type '" + type + "' is not supported; supported: " + SUPPORTED_TYPES);
      }
    }

    public static RopeScaling llama3(
        double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
      return new RopeScaling("llama3", factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
    }
  }

  public HfModelConfig {
    if (!SUPPORTED_MODEL_TYPES.contains(modelType)) {
      throw new IllegalArgumentException(
          "model_type '" + modelType + "' is not supported; supported: " + SUPPORTED_MODEL_TYPES);
    }
    requirePositive("hidden_size", hiddenSize);
    requirePositive("intermediate_size", intermediateSize);
    requirePositive("num_hidden_layers", numLayers);
    requirePositive("num_attention_heads", numHeads);
    requirePositive("num_key_value_heads", numKvHeads);
    requirePositive("head_dim", headDim);
    requirePositive("vocab_size", vocabSize);
    requirePositive("max_position_embeddings", maxPositionEmbeddings);
    if (numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException(
          "num_attention_heads "
              + numHeads
              + " must be a multiple of num_key_value_heads "
              + numKvHeads);
    }
    // Rotary embedding rotates pairs of dimensions.
    if (headDim % 2 != 0) {
      throw new IllegalArgumentException("head_dim must be even for rotary embedding: " + headDim);
    }
    if (!(rmsNormEps > 0)) {
      throw new IllegalArgumentException("rms_norm_eps must be positive: " + rmsNormEps);
    }
    if (!(ropeTheta > 0)) {
      throw new IllegalArgumentException("rope_theta must be positive: " + ropeTheta);
    }
    Objects.requireNonNull(rope, "rope");
    eosTokenIds = List.copyOf(eosTokenIds);
  }

  private static void requirePositive(String key, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(key + " must be positive: " + value);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Factories for tests and for building small random models.

  /**
   * A config of {@code modelType} with the variant's flags (q/k/v bias for qwen2, q/k norm for
   * qwen3) and the load defaults elsewhere: head_dim = hidden / heads, rope theta 10000 without
   * scaling, rms_norm_eps 1e-6, untied embeddings, 2048 positions, no special tokens.
   */
  public static HfModelConfig of(
      String modelType,
      int hiddenSize,
      int intermediateSize,
      int numLayers,
      int numHeads,
      int numKvHeads,
      int vocabSize) {
    return new HfModelConfig(
        modelType,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        hiddenSize / numHeads,
        vocabSize,
        DEFAULT_RMS_NORM_EPS,
        DEFAULT_ROPE_THETA,
        RopeScaling.DEFAULT,
        false,
        "qwen2".equals(modelType),
        "qwen3".equals(modelType),
        DEFAULT_MAX_POSITION_EMBEDDINGS,
        List.of(),
        null);
  }

  /** A llama config; see {@link #of}. */
  public static HfModelConfig llama(
      int hiddenSize,
      int intermediateSize,
      int numLayers,
      int numHeads,
      int numKvHeads,
      int vocabSize) {
    return of("llama", hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize);
  }

  public HfModelConfig withHeadDim(int headDim) {
    return new HfModelConfig(
        modelType,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        vocabSize,
        rmsNormEps,
        ropeTheta,
        rope,
        tieWordEmbeddings,
        attentionBias,
        qkNorm,
        maxPositionEmbeddings,
        eosTokenIds,
        bosTokenId);
  }

  public HfModelConfig withRope(double ropeTheta, RopeScaling rope) {
    return new HfModelConfig(
        modelType,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        vocabSize,
        rmsNormEps,
        ropeTheta,
        rope,
        tieWordEmbeddings,
        attentionBias,
        qkNorm,
        maxPositionEmbeddings,
        eosTokenIds,
        bosTokenId);
  }

  public HfModelConfig withTiedEmbeddings(boolean tieWordEmbeddings) {
    return new HfModelConfig(
        modelType,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        vocabSize,
        rmsNormEps,
        ropeTheta,
        rope,
        tieWordEmbeddings,
        attentionBias,
        qkNorm,
        maxPositionEmbeddings,
        eosTokenIds,
        bosTokenId);
  }

  public HfModelConfig withTokenIds(List<Integer> eosTokenIds, Integer bosTokenId) {
    return new HfModelConfig(
        modelType,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        vocabSize,
        rmsNormEps,
        ropeTheta,
        rope,
        tieWordEmbeddings,
        attentionBias,
        qkNorm,
        maxPositionEmbeddings,
        eosTokenIds,
        bosTokenId);
  }

  // ---------------------------------------------------------------------------------------------
  // Rotary frequencies.

  /**
   * The rotary inverse frequencies, HS/2 of them: {@code 1 / theta^(2i / HS)}, adjusted as
   * transformers does for {@code llama3} scaling. Computed in float64; note that transformers
   * computes them in float32.
   */
  public double[] ropeInverseFrequencies() {
    double[] inv = new double[headDim / 2];
    for (int i = 0; i < inv.length; i++) {
      inv[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
    }
    if (rope.type().equals("llama3")) {
      // Long wavelengths (beyond the original context) are slowed by `factor`, short ones are kept,
      // and the band between is interpolated linearly in (original context / wavelength).
      double lowFreqWavelen = rope.originalMaxPositions() / rope.lowFreqFactor();
      double highFreqWavelen = rope.originalMaxPositions() / rope.highFreqFactor();
      for (int i = 0; i < inv.length; i++) {
        double wavelen = 2 * Math.PI / inv[i];
        if (wavelen > lowFreqWavelen) {
          inv[i] = inv[i] / rope.factor();
        } else if (wavelen >= highFreqWavelen) {
          double smooth =
              (rope.originalMaxPositions() / wavelen - rope.lowFreqFactor())
                  / (rope.highFreqFactor() - rope.lowFreqFactor());
          inv[i] = (1 - smooth) * inv[i] / rope.factor() + smooth * inv[i];
        }
      }
    }
    return inv;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading.

  /**
   * Reads {@code modelDir/config.json}, and the end-of-sequence ids from {@code
   * generation_config.json} when that file sets them (it is what generation uses; else
   * config.json's). Both transformers-5 {@code rope_parameters} and transformers-4 {@code
   * rope_theta} + {@code rope_scaling} are understood.
   */
  public static HfModelConfig load(Path modelDir) {
    Path configFile = modelDir.resolve(CONFIG_FILE);
    Keys config = new Keys(configFile, readObject(configFile));

    String modelType = config.requiredString("model_type");
    if (!SUPPORTED_MODEL_TYPES.contains(modelType)) {
      throw config.error(
          "model_type '"
              + modelType
              + "' is not supported; supported: "
              + String.join(", ", SUPPORTED_MODEL_TYPES));
    }
    String activation = config.optionalString("hidden_act", "silu");
    if (!activation.equals("silu")) {
      throw config.error(
          "hidden_act '" + activation + "' is not supported; the MLP is SwiGLU, expected 'silu'");
    }
    if (config.optionalBoolean("mlp_bias", false)) {
      throw config.error("mlp_bias true is not supported; expected false (no MLP biases)");
    }

    int hiddenSize = config.requiredPositiveInt("hidden_size");
    int intermediateSize = config.requiredPositiveInt("intermediate_size");
    int numLayers = config.requiredPositiveInt("num_hidden_layers");
    int numHeads = config.requiredPositiveInt("num_attention_heads");
    int vocabSize = config.requiredPositiveInt("vocab_size");
    int numKvHeads = config.optionalPositiveInt("num_key_value_heads", numHeads);
    if (numHeads % numKvHeads != 0) {
      throw config.error(
          "num_attention_heads "
              + numHeads
              + " must be a multiple of num_key_value_heads, found "
              + numKvHeads);
    }
    int headDim;
    if (config.has("head_dim")) {
      headDim = config.optionalPositiveInt("head_dim", 0);
    } else if (hiddenSize % numHeads == 0) {
      headDim = hiddenSize / numHeads;
    } else {
      throw config.error(
          "no head_dim, and hidden_size "
              + hiddenSize
              + " is not a multiple of num_attention_heads "
              + numHeads);
    }
    if (headDim % 2 != 0) {
      throw config.error("head_dim must be even for rotary embedding, found " + headDim);
    }
    double rmsNormEps = config.optionalPositiveDouble("rms_norm_eps", DEFAULT_RMS_NORM_EPS);
    boolean tie = config.optionalBoolean("tie_word_embeddings", false);
    boolean attentionBias = config.optionalBoolean("attention_bias", modelType.equals("qwen2"));
    int maxPositions =
        config.optionalPositiveInt("max_position_embeddings", DEFAULT_MAX_POSITION_EMBEDDINGS);

    // Rope: transformers 5 nests everything in rope_parameters; transformers 4 has a top-level
    // rope_theta and an optional rope_scaling (null meaning none).
    double ropeTheta;
    RopeScaling rope;
    if (config.has("rope_parameters")) {
      Keys params = config.object("rope_parameters");
      ropeTheta =
          params.optionalPositiveDouble(
              "rope_theta", config.optionalPositiveDouble("rope_theta", DEFAULT_ROPE_THETA));
      rope = ropeScaling(params);
    } else {
      ropeTheta = config.optionalPositiveDouble("rope_theta", DEFAULT_ROPE_THETA);
      rope =
          config.has("rope_scaling")
              ? ropeScaling(config.object("rope_scaling"))
              : RopeScaling.DEFAULT;
    }

    // Special tokens: generation_config.json wins where it sets them.
    Path generationFile = modelDir.resolve(GENERATION_CONFIG_FILE);
    Keys generation =
        Files.exists(generationFile) ? new Keys(generationFile, readObject(generationFile)) : null;
    Keys eosSource = generation != null && generation.has("eos_token_id") ? generation : config;
    List<Integer> eos = eosSource.optionalIdList("eos_token_id");
    Keys bosSource = generation != null && generation.has("bos_token_id") ? generation : config;
    Integer bos = bosSource.optionalTokenId("bos_token_id");

    try {
      return new HfModelConfig(
          modelType,
          hiddenSize,
          intermediateSize,
          numLayers,
          numHeads,
          numKvHeads,
          headDim,
          vocabSize,
          rmsNormEps,
          ropeTheta,
          rope,
          tie,
          attentionBias,
          modelType.equals("qwen3"),
          maxPositions,
          eos,
          bos);
    } catch (IllegalArgumentException e) {
      // The checks above cover the known cases; this keeps any other one tied to the file.
      throw config.error(e.getMessage());
    }
  }

  /** Reads a rope scaling object ({@code rope_parameters} or {@code rope_scaling}). */
  private static RopeScaling ropeScaling(Keys scaling) {
    String typeKey = scaling.has("rope_type") ? "rope_type" : "type";
    if (!scaling.has(typeKey)) {
      throw scaling.error("missing key '" + scaling.path("rope_type") + "'");
    }
    String type = scaling.requiredString(typeKey);
    return switch (type) {
      case "default" -> RopeScaling.DEFAULT;
      case "llama3" -> {
        double factor = scaling.requiredPositiveDouble("factor");
        double low = scaling.requiredPositiveDouble("low_freq_factor");
        double high = scaling.requiredPositiveDouble("high_freq_factor");
        int original = scaling.requiredPositiveInt("original_max_position_embeddings");
        if (!(high > low)) {
          throw scaling.error(
              scaling.path("high_freq_factor")
                  + " must be greater than "
                  + scaling.path("low_freq_factor")
                  + ", found "
                  + high
                  + " and "
                  + low);
        }
        yield RopeScaling.llama3(factor, low, high, original);
      }
      default ->
          throw scaling.error(
              scaling.path(typeKey)
                  + ": rope type '"
                  + type
                  + "' is not supported; supported: "
                  + String.join(", ", RopeScaling.SUPPORTED_TYPES));
    };
  }

  private static JsonNode readObject(Path file) {
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw new ModelConfigException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
    } catch (NoSuchFileException | FileNotFoundException e) {
      throw new ModelConfigException(
          file + ": no such file; expected a Hugging Face model directory with " + CONFIG_FILE, e);
    } catch (IOException e) {
      throw new ModelConfigException(file + ": cannot read: " + e, e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelConfigException(file + ": expected a JSON object");
    }
    return root;
  }

  /**
   * Typed access to the keys of one JSON object, with errors naming the file and the key path
   * ({@code rope_scaling.factor}). JSON null counts as absent.
   */
  private record Keys(Path file, String prefix, JsonNode node) {
    Keys(Path file, JsonNode node) {
      this(file, "", node);
    }

    String path(String key) {
      return prefix + key;
    }

    boolean has(String key) {
      JsonNode value = node.get(key);
      return value != null && !value.isNull();
    }

    ModelConfigException error(String message) {
      return new ModelConfigException(file + ": " + message);
    }

    private ModelConfigException wrongType(String key, String expected) {
      return error(path(key) + ": expected " + expected + ", found " + node.get(key));
    }

    private JsonNode required(String key) {
      if (!has(key)) {
        throw error("missing required key '" + path(key) + "'");
      }
      return node.get(key);
    }

    Keys object(String key) {
      JsonNode value = node.get(key);
      if (!value.isObject()) {
        throw wrongType(key, "an object");
      }
      return new Keys(file, path(key) + ".", value);
    }

    String requiredString(String key) {
      JsonNode value = required(key);
      if (!value.isTextual()) {
        throw wrongType(key, "a string");
      }
      return value.asText();
    }

    String optionalString(String key, String fallback) {
      return has(key) ? requiredString(key) : fallback;
    }

    int requiredPositiveInt(String key) {
      JsonNode value = required(key);
      if (!value.isIntegralNumber() || !value.canConvertToInt()) {
        throw wrongType(key, "an integer");
      }
      if (value.intValue() <= 0) {
        throw wrongType(key, "a positive integer");
      }
      return value.intValue();
    }

    int optionalPositiveInt(String key, int fallback) {
      return has(key) ? requiredPositiveInt(key) : fallback;
    }

    double requiredPositiveDouble(String key) {
      JsonNode value = required(key);
      if (!value.isNumber()) {
        throw wrongType(key, "a number");
      }
      if (!(value.doubleValue() > 0) || Double.isInfinite(value.doubleValue())) {
        throw wrongType(key, "a positive number");
      }
      return value.doubleValue();
    }

    double optionalPositiveDouble(String key, double fallback) {
      return has(key) ? requiredPositiveDouble(key) : fallback;
    }

    boolean optionalBoolean(String key, boolean fallback) {
      if (!has(key)) {
        return fallback;
      }
      JsonNode value = node.get(key);
      if (!value.isBoolean()) {
        throw wrongType(key, "true or false");
      }
      return value.booleanValue();
    }

    Integer optionalTokenId(String key) {
      if (!has(key)) {
        return null;
      }
      return tokenId(key, node.get(key));
    }

    /** An int, a list of ints, or absent/null (an empty list). */
    List<Integer> optionalIdList(String key) {
      if (!has(key)) {
        return List.of();
      }
      JsonNode value = node.get(key);
      if (!value.isArray()) {
        return List.of(tokenId(key, value));
      }
      List<Integer> ids = new ArrayList<>();
      for (JsonNode item : value) {
        ids.add(tokenId(key, item));
      }
      return ids;
    }

    private Integer tokenId(String key, JsonNode value) {
      if (!value.isIntegralNumber() || !value.canConvertToInt() || value.intValue() < 0) {
        throw error(
            path(key)
                + ": expected a non-negative integer token id or a list of them, found "
                + node.get(key));
      }
      return value.intValue();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writing.

  /**
   * This config as a transformers-4 style {@code config.json}, which transformers 4 and 5, vLLM and
   * {@link #load} all read.
   */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.putArray("architectures").add(ARCHITECTURES.get(modelType));
    root.put("model_type", modelType);
    root.put("hidden_size", hiddenSize);
    root.put("intermediate_size", intermediateSize);
    root.put("num_hidden_layers", numLayers);
    root.put("num_attention_heads", numHeads);
    root.put("num_key_value_heads", numKvHeads);
    root.put("head_dim", headDim);
    root.put("vocab_size", vocabSize);
    root.put("hidden_act", "silu");
    root.put("rms_norm_eps", rmsNormEps);
    root.put("rope_theta", ropeTheta);
    if (rope.type().equals("llama3")) {
      ObjectNode scaling = root.putObject("rope_scaling");
      scaling.put("rope_type", "llama3");
      scaling.put("factor", rope.factor());
      scaling.put("low_freq_factor", rope.lowFreqFactor());
      scaling.put("high_freq_factor", rope.highFreqFactor());
      scaling.put("original_max_position_embeddings", rope.originalMaxPositions());
    } else {
      root.putNull("rope_scaling");
    }
    root.put("max_position_embeddings", maxPositionEmbeddings);
    root.put("tie_word_embeddings", tieWordEmbeddings);
    root.put("attention_bias", attentionBias);
    root.put("torch_dtype", "float32");
    if (eosTokenIds.isEmpty()) {
      root.putNull("eos_token_id");
    } else if (eosTokenIds.size() == 1) {
      root.put("eos_token_id", eosTokenIds.getFirst());
    } else {
      ArrayNode ids = root.putArray("eos_token_id");
      eosTokenIds.forEach(ids::add);
    }
    if (bosTokenId == null) {
      root.putNull("bos_token_id");
    } else {
      root.put("bos_token_id", bosTokenId);
    }
    return root.toPrettyString() + "\n";
  }

  /**
   * Writes {@code dir/config.json} (creating {@code dir}), via a temporary file and an atomic
   * rename. A {@code generation_config.json} already in {@code dir} is left alone; it takes
   * precedence for the end-of-sequence ids when loading.
   */
  public void write(Path dir) {
    Path target = dir.resolve(CONFIG_FILE);
    try {
      Files.createDirectories(dir);
      Path temp = Files.createTempFile(dir, "." + CONFIG_FILE + ".", ".tmp");
      try {
        Files.writeString(temp, toJson(), StandardCharsets.UTF_8);
        Files.move(
            temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(temp);
      }
    } catch (IOException e) {
      throw new ModelConfigException(target + ": cannot write: " + e, e);
    }
  }
}
