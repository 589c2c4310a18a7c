package rl.run;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import rl.core.config.ConfigException;
import rl.core.config.ConfigLoader;
import rl.core.config.ObjectiveConfig;
import rl.core.config.TrainingConfig;
import rl.core.lora.LoraAdapter;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Nd4jOps;
import rl.core.tensor.Ops;
import rl.core.tokenizer.HfTokenizer;
import rl.core.tokenizer.PromptEncoder;
import rl.core.tokenizer.TokenizerConfig;
import rl.core.tokenizer.ToyTokenizer;
import rl.learner.Learner;
import rl.learner.StepMetrics;
import rl.learner.TrainingSequence;
import rl.rewards.Problem;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.task.Template;
import rl.sampler.GenerationEngine;

/**
 * Supervised fine-tuning ({@code rl sft}): cross-entropy ({@link Learner#sftStep}) on the answers
 * of a task's training problems, each prompt rendered through the chat template with the generation
 * prompt and each completion the {@code answer_template} followed by the end-of-sequence token.
 * Evaluates greedy pass@1 on the held-out split every {@code eval.every} steps and at the end, then
 * writes a Hugging Face checkpoint with its tokenizer (and, for LoRA, the PEFT adapter under {@code
 * adapter/}; the checkpoint has it merged).
 *
 * <p>{@link #prepare} checks everything that can be checked and loads the model, tokenizer,
 * problems and reward functions, so bad input fails before any training; its {@link
 * IllegalArgumentException}s (and {@link ConfigException}s) describe bad input.
 */
public final class SftTrainer implements AutoCloseable {
  /** Files of the tokenizer copied next to the model. */
  static final List<String> TOKENIZER_FILES =
      List.of(
          HfTokenizer.TOKENIZER_FILE,
          TokenizerConfig.CONFIG_FILE,
          "special_tokens_map.json",
          TokenizerConfig.GENERATION_CONFIG_FILE);

  /** The resolved config, written beside the model. */
  public static final String CONFIG_FILE = "sft.yaml";

  /** Sequences decoded at once during evaluation. */
  private static final int EVAL_SLOTS = 64;

  /**
   * What a finished run reports.
   *
   * @param output where the model was written
   * @param steps steps trained
   * @param firstLoss the first step's loss
   * @param lastLoss the mean loss of the last logging window
   * @param eval the final evaluation, or null when {@code eval.problems} is 0
   * @param seconds wall time of training and evaluation
   */
  public record Result(
      Path output,
      int steps,
      double firstLoss,
      double lastLoss,
      Evaluation.EvalResult eval,
      double seconds) {}

  private final SftConfig config;
  private final PrintWriter log;
  private final Path tokenizerDir;
  private final Path temporaryTokenizer;
  private final PromptEncoder encoder;
  private final int[] eosIds;
  private final Decoder model;
  private final LoraAdapter adapter;
  private final List<TrainingSequence> train;
  private final List<Problem> evalProblems;
  private final RewardPipeline rewards;

  private SftTrainer(
      SftConfig config,
      PrintWriter log,
      Path tokenizerDir,
      Path temporaryTokenizer,
      PromptEncoder encoder,
      int[] eosIds,
      Decoder model,
      LoraAdapter adapter,
      List<TrainingSequence> train,
      List<Problem> evalProblems,
      RewardPipeline rewards) {
    this.config = config;
    this.log = log;
    this.tokenizerDir = tokenizerDir;
    this.temporaryTokenizer = temporaryTokenizer;
    this.encoder = encoder;
    this.eosIds = eosIds;
    this.model = model;
    this.adapter = adapter;
    this.train = train;
    this.evalProblems = evalProblems;
    this.rewards = rewards;
  }

  /** Loads {@code file} over the defaults with {@code overrides}, strictly. */
  public static SftConfig loadConfig(Path file, List<String> overrides) {
    return ConfigLoader.load(file, SftConfig.DEFAULTS, overrides);
  }

  /** Checks the config against the disk and loads everything training needs. */
  public static SftTrainer prepare(SftConfig config, PrintWriter log) throws IOException {
    Path output = Path.of(config.output());
    if (Files.exists(output) && !Files.isDirectory(output)) {
      throw new IllegalArgumentException("output " + output + " exists and is not a directory");
    }
    Path modelPath = config.model().path().isEmpty() ? null : Path.of(config.model().path());
    if (modelPath != null && !Files.isRegularFile(modelPath.resolve(HfModelConfig.CONFIG_FILE))) {
      throw new IllegalArgumentException(
          "model.path "
              + modelPath
              + (Files.isDirectory(modelPath)
                  ? " has no " + HfModelConfig.CONFIG_FILE + ": not a Hugging Face model directory"
                  : ": no such directory"));
    }

    // The tokenizer, and with it the vocabulary and the end-of-sequence token.
    Path temporary = null;
    Path tokenizerDir;
    if (config.tokenizer().equals(SftConfig.TOY_TOKENIZER)) {
      temporary = Files.createTempDirectory("rl-sft-tokenizer-");
      ToyTokenizer.write(temporary);
      tokenizerDir = temporary;
    } else {
      tokenizerDir = config.tokenizer().isEmpty() ? modelPath : Path.of(config.tokenizer());
      if (!Files.isRegularFile(tokenizerDir.resolve(HfTokenizer.TOKENIZER_FILE))) {
        throw new IllegalArgumentException(
            "tokenizer: "
                + tokenizerDir
                + " has no "
                + HfTokenizer.TOKENIZER_FILE
                + "; give 'toy' or a directory with tokenizer.json and tokenizer_config.json");
      }
    }
    PromptEncoder encoder = null;
    RewardPipeline rewards = null;
    try {
      encoder = PromptEncoder.load(tokenizerDir);
      if (!encoder.hasChatTemplate()) {
        // Throws the TokenizerException that names tokenizer_config.json.
        encoder.config().chatTemplate(null);
      }
      int[] eos = encoder.eosIds();
      if (eos.length == 0) {
        throw new IllegalArgumentException(
            "tokenizer "
                + tokenizerDir
                + " has no end-of-sequence token (eos_token in tokenizer_config.json): the model"
                + " could not learn to stop");
      }

      Problems problems = Problems.load(config.task(), config.seed());
      List<Problem> evalProblems =
          problems.eval().subList(0, Math.min(config.eval().problems(), problems.eval().size()));
      rewards = RewardPipeline.create(config.rewards());

      Ops ops = new Nd4jOps();
      Decoder model;
      if (config.init() == SftConfig.Init.RANDOM) {
        HfModelConfig shape =
            config
                .model()
                .toHf(
                    encoder.tokenizer().vocabSize(),
                    Arrays.stream(eos).boxed().toList(),
                    encoder.config().bosToken() == null
                        ? null
                        : encoder.tokenizer().tokenId(encoder.config().bosToken()).stream()
                            .boxed()
                            .findFirst()
                            .orElse(null));
        model = Decoder.random(shape, ops, config.seed(), config.model().initStd());
      } else {
        model = Decoder.load(modelPath, ops);
        if (model.config().vocabSize() < encoder.tokenizer().vocabSize()) {
          throw new IllegalArgumentException(
              "tokenizer "
                  + tokenizerDir
                  + " has "
                  + encoder.tokenizer().vocabSize()
                  + " tokens but the model at "
                  + modelPath
                  + " only "
                  + model.config().vocabSize());
        }
      }
      LoraAdapter adapter =
          config.training().fullFinetune()
              ? null
              : LoraAdapter.create(model, config.lora(), config.seed());

      List<TrainingSequence> train = sequences(problems.train(), encoder, config, eos[0]);
      return new SftTrainer(
          config,
          log,
          tokenizerDir,
          temporary,
          encoder,
          Evaluation.eosIds(encoder, model),
          model,
          adapter,
          train,
          evalProblems,
          rewards);
    } catch (RuntimeException e) {
      if (rewards != null) {
        rewards.close();
      }
      if (encoder != null) {
        encoder.close();
      }
      deleteTree(temporary);
      throw e;
    }
  }

  /** Prompt (chat template, generation prompt) + answer template + EOS, for every problem. */
  static List<TrainingSequence> sequences(
      List<Problem> problems, PromptEncoder encoder, SftConfig config, int eos) {
    Template template = Template.of(config.answerTemplate());
    List<TrainingSequence> out = new ArrayList<>(problems.size());
    for (Problem problem : problems) {
      int[] prompt = encoder.encodeChat(Problems.messages(problem), true, Map.of());
      int[] answer =
          encoder.tokenizer().encode(template.render(Map.of("answer", problem.answer())));
      int[] tokens = Arrays.copyOf(prompt, prompt.length + answer.length + 1);
      System.arraycopy(answer, 0, tokens, prompt.length, answer.length);
      tokens[tokens.length - 1] = eos;
      out.add(new TrainingSequence(tokens, prompt.length, null, 0));
    }
    return out;
  }

  public Decoder model() {
    return model;
  }

  /** Trains, evaluates and writes the model. */
  public Result run() throws IOException {
    SftConfig.Training t = config.training();
    Learner learner =
        new Learner(
            model,
            adapter,
            config.lora(),
            ObjectiveConfig.DEFAULTS,
            config.optimizer(),
            new TrainingConfig(t.steps(), 2, 1, 1, 0, 0, t.microBatchTokens(), 0, adapter == null),
            1.0,
            config.eval().maxTokens());
    long trainable = learner.trainable().stream().mapToLong(p -> p.value().size()).sum();
    HfModelConfig shape = model.config();
    log.printf(
        "sft: %s model (%s, hidden %d, %d layers, %d heads, vocab %d), training %,d %s; %d train"
            + " problems, %d held out; %d steps of %d%n",
        config.init() == SftConfig.Init.RANDOM ? "random" : "checkpoint " + config.model().path(),
        shape.modelType(),
        shape.hiddenSize(),
        shape.numLayers(),
        shape.numHeads(),
        shape.vocabSize(),
        trainable,
        adapter == null
            ? "weights (full fine-tuning)"
            : "LoRA weights (rank " + adapter.rank() + ")",
        train.size(),
        evalProblems.size(),
        t.steps(),
        t.batchSize());
    log.flush();

    long start = System.nanoTime();
    Evaluation.Settings settings = config.eval().settings(config.seed());
    GenerationEngine engine = evalProblems.isEmpty() ? null : engine(settings);
    List<Integer> order = new ArrayList<>();
    int next = 0;
    int epoch = 0;
    double firstLoss = Double.NaN;
    double windowLoss = 0;
    long windowTokens = 0;
    int windowSteps = 0;
    long windowStart = System.nanoTime();
    double lastLoss = Double.NaN;
    Evaluation.EvalResult eval = null;
    for (int step = 1; step <= t.steps(); step++) {
      List<TrainingSequence> batch = new ArrayList<>(t.batchSize());
      while (batch.size() < t.batchSize()) {
        if (next == order.size()) {
          order = shuffled(train.size(), config.seed() * 1_000_003L + epoch++);
          next = 0;
        }
        batch.add(train.get(order.get(next++)));
      }
      StepMetrics metrics = learner.sftStep(batch);
      if (!Double.isFinite(metrics.loss())) {
        throw new IllegalStateException(
            "step " + step + ": the loss is " + metrics.loss() + "; lower optimizer.lr");
      }
      if (step == 1) {
        firstLoss = metrics.loss();
      }
      windowLoss += metrics.loss();
      for (TrainingSequence s : batch) {
        windowTokens += s.tokens().length;
      }
      windowSteps++;
      if (step % t.logEvery() == 0 || step == t.steps() || step == 1) {
        double now = (System.nanoTime() - windowStart) / 1e9;
        double elapsed = (System.nanoTime() - start) / 1e9;
        lastLoss = windowLoss / windowSteps;
        log.printf(
            "step %d/%d  loss %.4f  lr %.2e  grad %.3f  tokens/s %,.0f  epoch %.2f  elapsed %s"
                + "  eta %s%n",
            step,
            t.steps(),
            lastLoss,
            metrics.learningRate(),
            metrics.gradNorm(),
            windowTokens / Math.max(now, 1e-9),
            (double) step * t.batchSize() / train.size(),
            duration(elapsed),
            duration(elapsed / step * (t.steps() - step)));
        log.flush();
        windowLoss = 0;
        windowTokens = 0;
        windowSteps = 0;
        windowStart = System.nanoTime();
      }
      boolean last = step == t.steps();
      if (engine != null
          && (last || (config.eval().every() > 0 && step % config.eval().every() == 0))) {
        eval = Evaluation.run(engine, encoder, eosIds, rewards, evalProblems, settings);
        log.printf("eval step %d: %s%n", step, eval.summary());
        log.flush();
        windowStart = System.nanoTime(); // evaluation time is not training throughput
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Path output = save();
    log.printf("sft: wrote %s (%s) in %s%n", output, humanBytes(sizeOf(output)), duration(seconds));
    log.flush();
    return new Result(output, t.steps(), firstLoss, lastLoss, eval, seconds);
  }

  private GenerationEngine engine(Evaluation.Settings settings) {
    int longest = 0;
    for (int[] prompt : Evaluation.prompts(encoder, evalProblems)) {
      longest = Math.max(longest, prompt.length);
    }
    return Evaluation.engine(model, encoder, eosIds, longest, settings, EVAL_SLOTS);
  }

  /** Writes the checkpoint, tokenizer and resolved config to {@code output}. */
  private Path save() throws IOException {
    Path output = Path.of(config.output());
    Files.createDirectories(output);
    if (adapter != null) {
      adapter.save(output.resolve("adapter"));
      model.mergeAdapter();
    }
    model.saveHuggingFace(output);
    for (String name : TOKENIZER_FILES) {
      Path source = tokenizerDir.resolve(name);
      if (Files.isRegularFile(source)) {
        Files.copy(source, output.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Files.writeString(output.resolve(CONFIG_FILE), ConfigLoader.toYaml(config));
    return output;
  }

  private static List<Integer> shuffled(int n, long seed) {
    List<Integer> order = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random(seed));
    return order;
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return (s / 60) + "m" + String.format("%02d", s % 60) + "s";
    }
    return (s / 3600) + "h" + String.format("%02d", (s % 3600) / 60) + "m";
  }

  static long sizeOf(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      long total = 0;
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        total += Files.size(p);
      }
      return total;
    }
  }

  static String humanBytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    if (bytes < 1024 * 1024) {
      return String.format("%.1f KiB", bytes / 1024.0);
    }
    return String.format("%.2f MiB", bytes / (1024.0 * 1024));
  }

  @Override
  public void close() throws IOException {
    rewards.close();
    encoder.close();
    deleteTree(temporaryTokenizer);
  }

  private static void deleteTree(Path root) throws IOException {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
