package rl.core.model;

import java.util.List;

/**
 * The model shapes the benchmarks use, with random weights: {@code small} (the PyTorch peer's: 4
 * layers, hidden 256, 4 heads, 2 KV heads, MLP 704, vocabulary 260), {@code qwen2.5-0.5b} and
 * {@code llama-3.2-1b} (the published models' shapes, tied embeddings).
 */
public final class BenchmarkShapes {
  private BenchmarkShapes() {}

  public static final List<String> NAMES = List.of("small", "qwen2.5-0.5b", "llama-3.2-1b");

  public static HfModelConfig of(String name) {
    return switch (name) {
      case "small" -> HfModelConfig.llama(256, 704, 4, 4, 2, 260);
      case "qwen2.5-0.5b" ->
          HfModelConfig.of("qwen2", 896, 4864, 24, 14, 2, 151936).withTiedEmbeddings(true);
      case "llama-3.2-1b" ->
          HfModelConfig.llama(2048, 8192, 16, 32, 8, 128256).withTiedEmbeddings(true);
      default ->
          throw new IllegalArgumentException(
              "unknown shape '" + name + "', expected one of " + String.join(", ", NAMES));
    };
  }
}
