package rl.bench;

import java.util.Arrays;
import java.util.List;
import rl.core.model.BenchmarkShapes;
import rl.core.model.HfModelConfig;

/**
 * The model shapes {@code rl bench model} measures, with random weights. Each has defaults sized
 * for a 2-core CPU: how many tokens to decode, the learner's micro-batch token budget and how many
 * learner steps to time.
 */
public enum ModelShape {
  /** The peer baseline's shape (../shared/bench/torch_cpu_ref.py): 4 layers, hidden 256. */
  SMALL("small", BenchmarkShapes.of("small"), 256, 0, 2),

  /** Qwen2.5-0.5B's shape: 24 layers, hidden 896, 14/2 heads, MLP 4864, vocab 151936, tied. */
  QWEN2_5_0_5B("qwen2.5-0.5b", BenchmarkShapes.of("qwen2.5-0.5b"), 32, 2048, 1);

  private final String id;
  private final HfModelConfig config;
  private final int defaultNewTokens;
  private final int defaultMicroTokens;
  private final int defaultTrainSteps;

  ModelShape(
      String id,
      HfModelConfig config,
      int defaultNewTokens,
      int defaultMicroTokens,
      int defaultTrainSteps) {
    this.id = id;
    this.config = config;
    this.defaultNewTokens = defaultNewTokens;
    this.defaultMicroTokens = defaultMicroTokens;
    this.defaultTrainSteps = defaultTrainSteps;
  }

  /** The name on the command line. */
  public String id() {
    return id;
  }

  public HfModelConfig config() {
    return config;
  }

  /** Decode steps when {@code --new-tokens} is not given. */
  public int defaultNewTokens() {
    return defaultNewTokens;
  }

  /** Learner micro-batch token budget when not given; 0 runs the whole step in one pass. */
  public int defaultMicroTokens() {
    return defaultMicroTokens;
  }

  /** Timed learner steps when not given. */
  public int defaultTrainSteps() {
    return defaultTrainSteps;
  }

  /** Every shape's command-line name. */
  public static List<String> ids() {
    return Arrays.stream(values()).map(ModelShape::id).toList();
  }

  /** The shape named {@code id}; an unknown name is an {@link IllegalArgumentException}. */
  public static ModelShape of(String id) {
    for (ModelShape shape : values()) {
      if (shape.id.equalsIgnoreCase(id)) {
        return shape;
      }
    }
    throw new IllegalArgumentException(
        "unknown shape '" + id + "', expected one of " + String.join(", ", ids()) + " or all");
  }

  /** One line: the architecture and its size. */
  public String describe(long parameters) {
    HfModelConfig c = config;
    return String.format(
        "%s (%s): %d layers, hidden %d, %d heads / %d KV heads of %d, MLP %d, vocab %d%s%s,"
            + " %s parameters",
        id,
        c.modelType(),
        c.numLayers(),
        c.hiddenSize(),
        c.numHeads(),
        c.numKvHeads(),
        c.headDim(),
        c.intermediateSize(),
        c.vocabSize(),
        c.tieWordEmbeddings() ? ", tied embeddings" : "",
        c.attentionBias() ? ", q/k/v biases" : "",
        Format.count(parameters));
  }
}
