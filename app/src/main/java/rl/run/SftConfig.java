package rl.run;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Objects;
import rl.core.config.LoraConfig;
import rl.core.config.OptimizerConfig;
import rl.core.model.HfModelConfig;
import rl.rewards.config.RewardsConfig;
import rl.rewards.task.Template;

/**
 * A supervised fine-tuning run ({@code rl sft}) as written in its YAML file: cross-entropy on
 * (prompt, answer) pairs of a task, from a random model of a given shape or from a checkpoint,
 * training every weight or a LoRA adapter. Every default lives here.
 *
 * @param output the directory the trained model is written to (a Hugging Face checkpoint with its
 *     tokenizer)
 * @param seed seeds the random model, problem order, LoRA init and evaluation sampling
 * @param init {@code random}: a fresh model of {@code model}'s shape; {@code checkpoint}: the model
 *     at {@code model.path}
 * @param model the shape of a random model, or the checkpoint to start from
 * @param tokenizer {@code toy} (the byte-level tokenizer of {@link rl.core.tokenizer.ToyTokenizer})
 *     or a directory holding {@code tokenizer.json} and {@code tokenizer_config.json}; empty:
 *     {@code model.path}'s tokenizer
 * @param answerTemplate the completion the model learns, {@code {answer}} replaced by the reference
 *     answer; the tokenizer's end-of-sequence token is appended so the model learns to stop. {@code
 *     {{} and {@code }}} are literal braces: {@code \boxed{{{answer}}}} gives {@code \boxed{42}}
 * @param lora the adapter trained when {@code training.full_finetune} is false
 * @param optimizer AdamW and the learning-rate schedule
 * @param training steps, batch size, logging
 * @param task where the problems come from (the held-out split is evaluated)
 * @param rewards the reward functions evaluation scores with
 * @param eval evaluation during and after training
 */
public record SftConfig(
    @JsonProperty(required = true) String output,
    long seed,
    Init init,
    Model model,
    String tokenizer,
    String answerTemplate,
    LoraConfig lora,
    OptimizerConfig optimizer,
    Training training,
    TaskConfig task,
    RewardsConfig rewards,
    Eval eval) {

  /** The tokenizer value that selects the byte-level toy tokenizer. */
  public static final String TOY_TOKENIZER = "toy";

  public static final SftConfig DEFAULTS =
      new SftConfig(
          null,
          0,
          Init.RANDOM,
          Model.DEFAULTS,
          TOY_TOKENIZER,
          "{answer}",
          LoraConfig.DEFAULTS,
          new OptimizerConfig(
              1e-3, 1.0, 0.9, 0.999, 1e-8, 0.0, 1.0, OptimizerConfig.Schedule.COSINE, 0),
          Training.DEFAULTS,
          TaskConfig.DEFAULTS,
          RewardsConfig.DEFAULTS,
          Eval.DEFAULTS);

  public enum Init {
    @JsonProperty("random")
    RANDOM,
    @JsonProperty("checkpoint")
    CHECKPOINT
  }

  public SftConfig {
    // Null only in DEFAULTS: a config that omits it fails as a missing required key.
    if (output != null && output.isBlank()) {
      throw new IllegalArgumentException(
          "output must name the directory the trained model is written to, found \"\"");
    }
    if (init == null) {
      throw new IllegalArgumentException("init must be one of random, checkpoint");
    }
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(tokenizer, "tokenizer");
    if (init == Init.CHECKPOINT && model.path().isEmpty()) {
      throw new IllegalArgumentException(
          "model.path is required with init: checkpoint (the Hugging Face directory to start"
              + " from)");
    }
    if (init == Init.RANDOM && !model.path().isEmpty()) {
      throw new IllegalArgumentException(
          "model.path is '"
              + model.path()
              + "' but init is random; set init: checkpoint to start from it, or drop the path");
    }
    if (init == Init.RANDOM && tokenizer.isEmpty()) {
      throw new IllegalArgumentException(
          "tokenizer must be 'toy' or a tokenizer directory with init: random (there is no"
              + " model.path to take it from)");
    }
    if (answerTemplate == null || !Template.of(answerTemplate).names().equals(List.of("answer"))) {
      throw new IllegalArgumentException(
          "answer_template must contain the placeholder {answer} once and no other, found \""
              + answerTemplate
              + "\"");
    }
    Objects.requireNonNull(lora, "lora");
    Objects.requireNonNull(optimizer, "optimizer");
    Objects.requireNonNull(training, "training");
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(rewards, "rewards");
    Objects.requireNonNull(eval, "eval");
  }

  /**
   * The model: the shape of a random one ({@code init: random}) or the checkpoint to start from
   * ({@code init: checkpoint}, which ignores the shape keys).
   *
   * @param path a Hugging Face model directory
   * @param modelType {@code llama}, {@code mistral}, {@code qwen2} or {@code qwen3}
   * @param hidden the residual width C
   * @param layers L
   * @param heads query heads NH
   * @param kvHeads key/value heads NKV (divides heads)
   * @param intermediate the MLP's inner width
   * @param headDim HS; 0 means hidden / heads
   * @param tieEmbeddings the output head is the embedding matrix
   * @param ropeTheta the rotary base
   * @param maxPositions the context length written to config.json
   * @param initStd standard deviation of the random normal weights (norm scales start at 1)
   */
  public record Model(
      String path,
      String modelType,
      int hidden,
      int layers,
      int heads,
      int kvHeads,
      int intermediate,
      int headDim,
      boolean tieEmbeddings,
      double ropeTheta,
      int maxPositions,
      double initStd) {

    public static final Model DEFAULTS =
        new Model("", "llama", 64, 2, 4, 4, 256, 0, false, 10000.0, 512, 0.02);

    public Model {
      Objects.requireNonNull(path, "path");
      if (!HfModelConfig.SUPPORTED_MODEL_TYPES.contains(modelType)) {
        throw new IllegalArgumentException(
            "model_type must be one of "
                + String.join(", ", HfModelConfig.SUPPORTED_MODEL_TYPES)
                + ", found '"
                + modelType
                + "'");
      }
      atLeast("hidden", hidden, 2);
      atLeast("layers", layers, 1);
      atLeast("heads", heads, 1);
      atLeast("kv_heads", kvHeads, 1);
      atLeast("intermediate", intermediate, 1);
      atLeast("head_dim", headDim, 0);
      atLeast("max_positions", maxPositions, 2);
      if (heads % kvHeads != 0) {
        throw new IllegalArgumentException(
            "kv_heads must divide heads (" + heads + "), found " + kvHeads);
      }
      int hs = headDim > 0 ? headDim : hidden / heads;
      if (headDim == 0 && hidden % heads != 0) {
        throw new IllegalArgumentException(
            "heads must divide hidden (" + hidden + ") when head_dim is 0, found " + heads);
      }
      if (hs % 2 != 0) {
        throw new IllegalArgumentException(
            "head_dim must be even (rotary embedding rotates pairs), found " + hs);
      }
      if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
        throw new IllegalArgumentException("rope_theta must be positive, found " + ropeTheta);
      }
      if (!(initStd > 0) || Double.isInfinite(initStd)) {
        throw new IllegalArgumentException("init_std must be positive, found " + initStd);
      }
    }

    /** The Hugging Face config of a random model of this shape with {@code vocab} tokens. */
    public HfModelConfig toHf(int vocab, List<Integer> eosIds, Integer bosId) {
      HfModelConfig base =
          HfModelConfig.of(modelType, hidden, intermediate, layers, heads, kvHeads, vocab);
      return new HfModelConfig(
          modelType,
          hidden,
          intermediate,
          layers,
          heads,
          kvHeads,
          headDim > 0 ? headDim : hidden / heads,
          vocab,
          base.rmsNormEps(),
          ropeTheta,
          HfModelConfig.RopeScaling.DEFAULT,
          tieEmbeddings,
          base.attentionBias(),
          base.qkNorm(),
          maxPositions,
          eosIds,
          bosId);
    }
  }

  /**
   * The training loop.
   *
   * @param steps optimizer steps
   * @param batchSize (prompt, answer) pairs per step; problems are drawn without replacement, in a
   *     fresh seeded order every epoch
   * @param microBatchTokens most tokens in one forward/backward pass
   * @param fullFinetune train every weight (true) or a LoRA adapter ({@code lora})
   * @param logEvery print a progress line every this many steps
   */
  public record Training(
      int steps, int batchSize, int microBatchTokens, boolean fullFinetune, int logEvery) {
    public static final Training DEFAULTS = new Training(1000, 32, 4096, true, 50);

    public Training {
      atLeast("steps", steps, 1);
      atLeast("batch_size", batchSize, 1);
      atLeast("micro_batch_tokens", microBatchTokens, 1);
      atLeast("log_every", logEvery, 1);
    }
  }

  /**
   * Evaluation on the task's held-out split during and after training.
   *
   * @param every evaluate every this many steps; 0 only at the end
   * @param problems how many held-out problems (at most {@code task.eval_size}); 0 skips evaluation
   * @param samples completions per problem at {@code temperature} (mean reward, pass@k); 0 none
   * @param temperature softmax temperature of the sampled completions
   * @param maxTokens most tokens per completion
   * @param passThreshold a completion passes when its reward is at least this
   */
  public record Eval(
      int every,
      int problems,
      int samples,
      double temperature,
      int maxTokens,
      double passThreshold) {
    public static final Eval DEFAULTS = new Eval(0, 200, 0, 1.0, 16, 1.0);

    public Eval {
      atLeast("every", every, 0);
      atLeast("problems", problems, 0);
      atLeast("samples", samples, 0);
      atLeast("max_tokens", maxTokens, 1);
      if (!(temperature > 0) || Double.isInfinite(temperature)) {
        throw new IllegalArgumentException(
            "temperature must be a positive number, found " + temperature);
      }
      if (!Double.isFinite(passThreshold)) {
        throw new IllegalArgumentException(
            "pass_threshold must be a finite number, found " + passThreshold);
      }
    }

    /** The evaluation settings for {@link Evaluation}. */
    public Evaluation.Settings settings(long seed) {
      return new Evaluation.Settings(
          samples, temperature, 1.0, 0, maxTokens, List.of(), passThreshold, seed);
    }
  }

  private static void atLeast(String key, long value, long min) {
    if (value < min) {
      throw new IllegalArgumentException(key + " must be at least " + min + ", found " + value);
    }
  }
}
