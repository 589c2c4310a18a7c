package rl.core.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The LoRA adapter trained on the model: {@code y = x Wᵀ + s · (x Aᵀ) Bᵀ}, {@code A: [r, in]},
 * {@code B: [out, r]}.
 *
 * @param rank r, the adapter's rank
 * @param alpha the scale numerator: {@code s = alpha / r}, or {@code alpha / sqrt(r)} with rslora
 * @param targets the projections that carry an adapter
 * @param init how A and B start
 * @param rslora scale by {@code alpha / sqrt(r)} instead of {@code alpha / r}
 */
public record LoraConfig(int rank, double alpha, List<String> targets, Init init, boolean rslora) {

  /** Every attention and MLP projection of a Llama-style decoder layer. */
  public static final List<String> ALL_TARGETS =
      List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

  public static final LoraConfig DEFAULTS =
      new LoraConfig(1, 32, ALL_TARGETS, Init.STANDARD, false);

  public enum Init {
    /** A random (Kaiming-uniform, as PEFT), B = 0. */
    @JsonProperty("standard")
    STANDARD,
    /** A = 0, B random. */
    @JsonProperty("b-random")
    B_RANDOM,
    /** A = top right-singular vectors of the first step's weight gradient, B = 0. */
    @JsonProperty("gradient-svd")
    GRADIENT_SVD
  }

  public LoraConfig {
    Checks.atLeast("rank", rank, 1);
    Checks.positive("alpha", alpha);
    if (targets == null || targets.isEmpty()) {
      throw new IllegalArgumentException(
          "targets must name at least one of " + String.join(", ", ALL_TARGETS));
    }
    for (String target : targets) {
      if (!ALL_TARGETS.contains(target)) {
        throw new IllegalArgumentException(
            "targets: unknown projection '"
                + target
                + "', expected some of "
                + String.join(", ", ALL_TARGETS));
      }
    }
    if (targets.stream().distinct().count() != targets.size()) {
      throw new IllegalArgumentException("targets: a projection is listed twice: " + targets);
    }
    if (init == null) {
      throw new IllegalArgumentException("init must be one of standard, b-random, gradient-svd");
    }
    targets = List.copyOf(targets);
  }

  /** The factor s that multiplies {@code B A}. */
  public double scale() {
    return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
  }
}
