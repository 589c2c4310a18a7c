package rl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import rl.core.chat.ChatTemplateException;
import rl.core.config.ConfigLoader;
import rl.core.config.ModelConfig;
import rl.core.config.SamplingConfig;
import rl.core.lora.LoraAdapter;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.tensor.Backends;
import rl.core.tokenizer.HfTokenizer;
import rl.core.tokenizer.PromptEncoder;
import rl.rewards.Problem;
import rl.rewards.RewardConfigException;
import rl.rewards.config.RewardSpec;
import rl.rewards.config.RewardsConfig;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.task.CountdownTask;
import rl.rewards.task.Tasks;
import rl.run.Evaluation;
import rl.run.Problems;
import rl.run.TaskConfig;
import rl.run.TrainConfig;
import rl.sampler.GenerationEngine;

/**
 * {@code rl eval}: greedy pass@1 (and optionally mean reward and pass@k of sampled completions) of
 * a model on a task's held-out problems, the same evaluation {@code rl sft} prints.
 */
@Command(
    name = "eval",
    description =
        "Evaluate a model on a task's held-out problems: greedy pass@1, mean reward, pass@k.",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true,
    footer = {
      "",
      "The task, rewards, seed and sampling options come from --config (a run config, as rl"
          + " train reads; its model.path and model.adapter unless --model/--adapter are given)"
          + " or from --task with --param and --reward (default reward: math for arithmetic,"
          + " countdown for countdown). The held-out problems are those rl train evaluates with"
          + " the same task settings and seed.",
      "",
      "A completion passes when its combined reward is at least --pass-threshold. pass@1 is of"
          + " greedy completions; with --samples k, each problem also gets k completions at"
          + " --temperature: their mean reward, the share that pass, and pass@k (unbiased"
          + " estimator). Prints one summary line; --output writes one JSON object per problem."
    })
final class EvalCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final YAMLMapper YAML = new YAMLMapper();

  /** Sequences decoded at once. */
  static final int SLOTS = 64;

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      paramLabel = "DIR",
      description = "Hugging Face model directory with its tokenizer (default: --config's).")
  Path model;

  @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter to apply.")
  Path adapter;

  @Option(
      names = "--config",
      paramLabel = "RUN.yaml",
      description = "A run config: task, rewards, eval and sampling settings, seed.")
  Path config;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description = "Override a key of --config (repeatable).")
  List<String> overrides = new ArrayList<>();

  @Option(
      names = "--task",
      paramLabel = "NAME",
      description = "A generated task: arithmetic or countdown.")
  String task;

  @Option(
      names = "--param",
      paramLabel = "KEY=VALUE",
      description = "A parameter of --task (repeatable), e.g. --param digits=2.")
  List<String> params = new ArrayList<>();

  @Option(
      names = "--reward",
      paramLabel = "NAME",
      description = "A reward function, weight 1 (repeatable); default by task.")
  List<String> rewardNames = new ArrayList<>();

  @Option(
      names = "--samples",
      paramLabel = "K",
      description = "Sampled completions per problem (default: --config's eval.samples, else 0).")
  Integer samples;

  @Option(
      names = "--temperature",
      paramLabel = "T",
      description = "Temperature of the sampled completions (default: --config's, else 1.0).")
  Double temperature;

  @Option(
      names = "--max-tokens",
      paramLabel = "N",
      description = "Most tokens per completion (default: --config's, else 256).")
  Integer maxTokens;

  @Option(
      names = "--problems",
      paramLabel = "N",
      description = "Held-out problems to evaluate (default: --config's eval_size, else 200).")
  Integer problems;

  @Option(
      names = "--pass-threshold",
      paramLabel = "R",
      description = "A completion passes when its reward is >= R (default: --config's, else 1.0).")
  Double passThreshold;

  @Option(
      names = "--seed",
      paramLabel = "S",
      description = "Seeds the task's problems and sampling (default: --config's, else 0).")
  Long seed;

  @Option(
      names = "--output",
      paramLabel = "FILE",
      description = "Write one JSON object per problem (completions, rewards) here.")
  Path output;

  /** Everything an evaluation needs, from --config or the options. */
  private record Plan(
      Path model,
      Path adapter,
      TaskConfig task,
      RewardsConfig rewards,
      Evaluation.Settings settings,
      long seed) {}

  @Override
  public Integer call() throws IOException {
    Plan plan = plan();
    if (!Files.isDirectory(plan.model())) {
      throw new Main.InputException("--model " + plan.model() + ": no such directory");
    }
    if (!Files.isRegularFile(plan.model().resolve(HfModelConfig.CONFIG_FILE))) {
      throw new Main.InputException(
          "--model "
              + plan.model()
              + ": no "
              + HfModelConfig.CONFIG_FILE
              + ", not a Hugging Face model directory");
    }
    if (plan.adapter() != null && !Files.isDirectory(plan.adapter())) {
      throw new Main.InputException("--adapter " + plan.adapter() + ": no such directory");
    }
    if (!Files.isRegularFile(plan.model().resolve(HfTokenizer.TOKENIZER_FILE))) {
      throw new Main.InputException(
          "--model "
              + plan.model()
              + ": no "
              + HfTokenizer.TOKENIZER_FILE
              + "; evaluation renders prompts and decodes completions with the model's tokenizer");
    }
    List<Problem> evalProblems;
    try {
      evalProblems = Problems.load(plan.task(), plan.seed()).eval();
    } catch (IllegalArgumentException e) {
      throw new Main.InputException(e.getMessage());
    }
    if (evalProblems.isEmpty()) {
      throw new Main.InputException("the task has no held-out problems to evaluate");
    }
    RewardPipeline pipeline;
    try {
      pipeline = RewardPipeline.create(plan.rewards());
    } catch (RewardConfigException e) {
      throw new Main.InputException((config == null ? "--reward: " : "rewards: ") + e.getMessage());
    }
    try (pipeline;
        PromptEncoder encoder = loadEncoder(plan.model())) {
      if (!encoder.hasChatTemplate()) {
        encoder.config().chatTemplate(null); // the TokenizerException naming the file
      }
      Decoder decoder =
          Decoder.load(plan.model(), Backends.create(ModelConfig.Backend.AUTO, CliBackend::report));
      if (plan.adapter() != null) {
        LoraAdapter.load(plan.adapter(), decoder);
      }
      int[] eosIds = Evaluation.eosIds(encoder, decoder);
      int longest = 0;
      for (int[] prompt : Evaluation.prompts(encoder, evalProblems)) {
        longest = Math.max(longest, prompt.length);
      }
      GenerationEngine engine =
          Evaluation.engine(decoder, encoder, eosIds, longest, plan.settings(), SLOTS);
      long start = System.nanoTime();
      Evaluation.EvalResult result =
          Evaluation.run(engine, encoder, eosIds, pipeline, evalProblems, plan.settings());
      double seconds = (System.nanoTime() - start) / 1e9;
      if (output != null) {
        writeOutput(result);
      }
      spec.commandLine()
          .getOut()
          .printf(
              "rl eval: %s%s on %s (%d held-out problems, %.1fs): %s%n",
              plan.model(),
              plan.adapter() == null ? "" : " + " + plan.adapter(),
              plan.task().name(),
              result.problems(),
              seconds,
              result.summary());
      spec.commandLine().getOut().flush();
    }
    return 0;
  }

  private PromptEncoder loadEncoder(Path dir) {
    try {
      return PromptEncoder.load(dir);
    } catch (ChatTemplateException e) {
      throw new Main.InputException(
          dir.resolve("tokenizer_config.json") + ": chat template: " + e.getMessage());
    }
  }

  private Plan plan() {
    if ((config == null) == (task == null)) {
      throw new Main.InputException(
          config == null
              ? "give the task with --config RUN.yaml or --task NAME"
              : "give --config or --task, not both");
    }
    if (config == null && !overrides.isEmpty()) {
      throw new Main.InputException("--set applies to --config, which is not given");
    }
    if (config != null && (!params.isEmpty() || !rewardNames.isEmpty())) {
      throw new Main.InputException(
          "--param and --reward go with --task; with --config set them in the file or with --set");
    }
    if (samples != null && samples < 0) {
      throw new Main.InputException("--samples must be >= 0, found " + samples);
    }
    if (temperature != null && (!(temperature > 0) || temperature.isInfinite())) {
      throw new Main.InputException(
          "--temperature must be a positive number (greedy pass@1 is always computed), found "
              + temperature);
    }
    if (maxTokens != null && maxTokens < 1) {
      throw new Main.InputException("--max-tokens must be at least 1, found " + maxTokens);
    }
    if (problems != null && problems < 1) {
      throw new Main.InputException("--problems must be at least 1, found " + problems);
    }
    if (passThreshold != null && !Double.isFinite(passThreshold)) {
      throw new Main.InputException("--pass-threshold must be a number, found " + passThreshold);
    }
    if (config != null) {
      TrainConfig run = ConfigLoader.load(config, TrainConfig.DEFAULTS, overrides);
      TaskConfig t = run.task();
      if (problems != null) {
        t = withEvalSize(t, problems);
      }
      SamplingConfig s = run.sampling();
      long resolvedSeed = seed != null ? seed : run.seed();
      Evaluation.Settings settings =
          new Evaluation.Settings(
              samples != null ? samples : run.eval().samples(),
              temperature != null ? temperature : s.temperature(),
              s.topP(),
              s.topK(),
              maxTokens != null ? maxTokens : s.maxTokens(),
              s.stop(),
              passThreshold != null ? passThreshold : run.eval().passThreshold(),
              resolvedSeed);
      Path modelDir = model != null ? model : Path.of(run.model().path());
      Path adapterDir =
          adapter != null
              ? adapter
              : model == null && !run.model().adapter().isEmpty()
                  ? Path.of(run.model().adapter())
                  : null;
      return new Plan(modelDir, adapterDir, t, run.rewards(), settings, resolvedSeed);
    }
    if (model == null) {
      throw new Main.InputException("--model DIR is required with --task");
    }
    if (!Tasks.NAMES.contains(task)) {
      throw new Main.InputException(
          "--task: unknown task '"
              + task
              + "'; available: "
              + String.join(", ", Tasks.NAMES)
              + " (JSONL datasets: use --config)");
    }
    Map<String, Object> taskParams = parseParams();
    try {
      Tasks.generator(task, taskParams);
    } catch (IllegalArgumentException e) {
      throw new Main.InputException("--param: " + e.getMessage());
    }
    List<RewardSpec> specs = new ArrayList<>();
    List<String> names =
        rewardNames.isEmpty()
            ? List.of(task.equals(CountdownTask.NAME) ? "countdown" : "math")
            : rewardNames;
    for (String name : names) {
      try {
        specs.add(RewardSpec.of(name));
      } catch (IllegalArgumentException e) {
        throw new Main.InputException("--reward: " + e.getMessage());
      }
    }
    RewardsConfig rewards;
    try {
      rewards = new RewardsConfig(specs, "", RewardsConfig.DEFAULT_CACHE_ENTRIES);
    } catch (IllegalArgumentException e) {
      throw new Main.InputException("--reward: " + e.getMessage());
    }
    long resolvedSeed = seed != null ? seed : 0;
    TaskConfig t =
        withEvalSize(
            new TaskConfig(task, taskParams, "", "", Map.of(), 1, 200, "", ""),
            problems != null ? problems : TaskConfig.DEFAULTS.evalSize());
    SamplingConfig defaults = SamplingConfig.DEFAULTS;
    Evaluation.Settings settings =
        new Evaluation.Settings(
            samples != null ? samples : 0,
            temperature != null ? temperature : defaults.temperature(),
            defaults.topP(),
            defaults.topK(),
            maxTokens != null ? maxTokens : defaults.maxTokens(),
            defaults.stop(),
            passThreshold != null ? passThreshold : 1.0,
            resolvedSeed);
    return new Plan(model, adapter, t, rewards, settings, resolvedSeed);
  }

  private static TaskConfig withEvalSize(TaskConfig t, int evalSize) {
    return new TaskConfig(
        t.name(),
        t.params(),
        t.trainFile(),
        t.evalFile(),
        t.fields(),
        t.trainSize(),
        evalSize,
        t.systemPrompt(),
        t.chatTemplate());
  }

  /** {@code --param k=v} as a map; each value read as YAML where it is YAML, else as written. */
  private Map<String, Object> parseParams() {
    Map<String, Object> parsed = new LinkedHashMap<>();
    for (String param : params) {
      int equals = param.indexOf('=');
      if (equals <= 0) {
        throw new Main.InputException("--param " + param + ": expected KEY=VALUE");
      }
      String key = param.substring(0, equals).strip();
      if (parsed.containsKey(key)) {
        throw new Main.InputException("--param " + key + " is given twice");
      }
      parsed.put(key, value(param.substring(equals + 1)));
    }
    return parsed;
  }

  /** A value read as YAML where it is YAML (3, true, [a, b]); other text as written. */
  private static Object value(String text) {
    Object value;
    try {
      value = YAML.readValue(text, Object.class);
    } catch (JsonProcessingException e) {
      return text; // not YAML, e.g. the template {expression} =
    }
    if (value instanceof String && !isQuoted(text)) {
      return text; // YAML would drop a comment ("a #b") or fold spaces; keep the text exact
    }
    String t = text.strip();
    boolean collection =
        (t.startsWith("[") && t.endsWith("]")) || (t.startsWith("{") && t.endsWith("}"));
    if ((value instanceof Map || value instanceof List) && !collection) {
      return text; // "{expression} =" is a template, not a mapping followed by junk
    }
    return value == null ? text : value;
  }

  private static boolean isQuoted(String text) {
    String t = text.strip();
    return t.length() >= 2
        && (t.charAt(0) == '"' || t.charAt(0) == '\'')
        && t.charAt(t.length() - 1) == t.charAt(0);
  }

  private void writeOutput(Evaluation.EvalResult result) throws IOException {
    try {
      Path parent = output.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new Main.InputException("--output " + output + ": cannot write: " + e.getMessage());
    }
    try (Writer writer = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
      for (Evaluation.ProblemOutcome outcome : result.outcomes()) {
        writer.write(JSON.writeValueAsString(outcome.toMap(result.passThreshold())));
        writer.write('\n');
      }
    }
  }
}
