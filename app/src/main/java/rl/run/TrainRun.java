package rl.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import rl.core.config.ConfigLoader;
import rl.core.config.LoraConfig;
import rl.core.lora.LoraAdapter;
import rl.core.messages.MessageCodecs;
import rl.core.model.Decoder;
import rl.core.tensor.Backends;
import rl.core.tensor.Ops;
import rl.core.tokenizer.PromptEncoder;
import rl.dashboard.DashboardVerticle;
import rl.dashboard.RunEvents;
import rl.learner.Checkpoints;
import rl.learner.Learner;
import rl.learner.LearnerVerticle;
import rl.rewards.Problem;
import rl.rewards.pipeline.RewardPipeline;
import rl.rewards.plugin.RewardRegistry;
import rl.sampler.GenerationEngine;
import rl.sampler.SamplerVerticle;

/**
 * One {@code rl train} run: checks the config before any compute, sets up the run directory, loads
 * the policy twice (sampler and learner each own a copy on the CPU), deploys the sampler, reward,
 * learner and coordinator verticles in one Vert.x instance, and writes {@code metrics.jsonl},
 * {@code samples.jsonl} and checkpoints as steps complete.
 */
public final class TrainRun {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final TrainConfig config;
  private final Path runDir;
  private final PrintStream console;
  private final boolean resume;
  private volatile RunCoordinator coordinator;

  /** For tests: behave as if Ctrl-C came right after this step was recorded (0: never). */
  int stopAfterStep;

  private TrainRun(TrainConfig config, Path runDir, boolean resume, PrintStream console) {
    this.config = config;
    this.runDir = runDir;
    this.resume = resume;
    this.console = console;
  }

  /** A new run from a config file: {@code runs_dir/NAME} must not exist yet. */
  public static TrainRun fresh(Path configFile, List<String> overrides, PrintStream console)
      throws IOException {
    TrainConfig config = ConfigLoader.load(configFile, TrainConfig.DEFAULTS, overrides);
    String name = config.name().isEmpty() ? derivedName(configFile) : config.name();
    Path runDir = Path.of(config.runsDir()).resolve(name);
    if (Files.exists(runDir.resolve("config.yaml"))) {
      throw new IllegalArgumentException(
          runDir + " already holds a run; continue it with --resume " + runDir + ", or set name");
    }
    return new TrainRun(config, runDir, false, console);
  }

  /** Continues the run in {@code runDir} from its last checkpoint, with its saved config. */
  public static TrainRun resume(Path runDir, PrintStream console) throws IOException {
    Path configFile = runDir.resolve("config.yaml");
    if (!Files.exists(configFile)) {
      throw new IllegalArgumentException(runDir + " is not a run directory (no config.yaml)");
    }
    TrainConfig config = ConfigLoader.load(configFile, TrainConfig.DEFAULTS, List.of());
    return new TrainRun(config, runDir, true, console);
  }

  private static String derivedName(Path configFile) {
    String file = configFile.getFileName().toString().replaceFirst("\\.ya?ml$", "");
    return file
        + "-"
        + java.time.LocalDateTime.now()
            .format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
  }

  public Path runDir() {
    return runDir;
  }

  /** Asks a running run to finish its step, checkpoint and stop. */
  public void requestStop() {
    RunCoordinator c = coordinator;
    if (c != null) {
      c.requestStop();
    }
  }

  /** Runs to the configured step count (or a stop request); returns the last step done. */
  public int run() throws Exception {
    // ---- checks before compute: fail fast and clearly ----
    Path modelDir = Path.of(config.model().path());
    if (!Files.isDirectory(modelDir)) {
      throw new IllegalArgumentException(
          "model.path: " + modelDir + " is not a directory (expected a Hugging Face model)");
    }
    RewardRegistry registry =
        config.rewards().plugins().isEmpty()
            ? RewardRegistry.classPath()
            : RewardRegistry.load(Path.of(config.rewards().plugins()));
    RewardPipeline pipeline = RewardPipeline.create(config.rewards(), registry);
    Problems problems = Problems.load(config.task(), config.seed());
    PromptEncoder encoder = PromptEncoder.load(modelDir);
    if (!encoder.hasChatTemplate()) {
      encoder
          .config()
          .chatTemplate(
              config.task().chatTemplate().isEmpty() ? null : config.task().chatTemplate());
    }
    Map<String, int[]> prompts = new HashMap<>();
    Map<String, Problem> byId = new HashMap<>();
    int longestPrompt = 0;
    for (List<Problem> split : List.of(problems.train(), problems.eval())) {
      for (Problem p : split) {
        int[] ids = encoder.encodeChat(Problems.messages(p), true, Map.of());
        prompts.put(p.id(), ids);
        byId.put(p.id(), p);
        longestPrompt = Math.max(longestPrompt, ids.length);
      }
    }

    // ---- models: the sampler's and the learner's copies ----
    Ops ops = Backends.create(config.model().backend(), line -> console.println("rl: " + line));
    // With LoRA and no ReLoRA merges the base never changes: one copy serves both sides, each
    // with its own adapter, activations and cache. Full fine-tuning and merges change the weights,
    // so the sampler keeps its own copy and receives the changed weights at each sync.
    Decoder learnerModel = Decoder.load(modelDir, ops);
    boolean baseChanges = config.training().fullFinetune() || config.training().mergeEvery() > 0;
    Decoder samplerModel =
        baseChanges ? Decoder.load(modelDir, ops) : learnerModel.sharingBaseWeights();
    LoraConfig lora = config.lora();
    LoraConfig createWith =
        lora.init() == LoraConfig.Init.GRADIENT_SVD
            ? new LoraConfig(
                lora.rank(), lora.alpha(), lora.targets(), LoraConfig.Init.STANDARD, lora.rslora())
            : lora;
    LoraAdapter learnerAdapter = null;
    if (!config.training().fullFinetune()) {
      learnerAdapter =
          config.model().adapter().isEmpty()
              ? LoraAdapter.create(learnerModel, createWith, config.seed())
              : LoraAdapter.load(Path.of(config.model().adapter()), learnerModel);
      LoraAdapter.create(samplerModel, createWith, config.seed());
    }
    Learner learner =
        new Learner(
            learnerModel,
            learnerAdapter,
            lora,
            config.objective(),
            config.optimizer(),
            config.training(),
            config.sampling().temperature(),
            config.sampling().maxTokens());

    // Sampler and learner share one backend here: syncs are device snapshots, copied device to
    // device (on a GPU no adapter tensor crosses to the host).
    learner.syncOnDevice(true);

    Path checkpoints = runDir.resolve("checkpoints");
    int firstStep = 0;
    if (resume) {
      Path latest =
          Checkpoints.latest(checkpoints)
              .orElseThrow(
                  () -> new IllegalArgumentException(runDir + " has no checkpoint to resume from"));
      Checkpoints.restore(learner, latest);
      firstStep = learner.step();
      truncateRecords(firstStep);
      console.println("rl: resuming " + runDir + " from " + latest.getFileName());
    } else {
      Files.createDirectories(runDir);
      Files.writeString(runDir.resolve("config.yaml"), ConfigLoader.toYaml(config));
    }
    int[] eos = eosIds(encoder, samplerModel);
    int slots =
        Math.max(
            config.training().groupSize() * config.training().groupsPerStep(),
            Math.max(config.eval().samples(), 1));
    GenerationEngine engine =
        new GenerationEngine(
            samplerModel,
            Math.min(slots, 512),
            longestPrompt + config.sampling().maxTokens(),
            Math.max(2048, longestPrompt),
            eos,
            config.sampling().stop().isEmpty() ? null : encoder.tokenizer());
    // The sampler starts from exactly the learner's policy (fresh, loaded or resumed).
    engine.updateAdapter(learner.adapterUpdate(firstStep));

    // ---- the verticles ----
    RunRecorder recorder = new RunRecorder(runDir, config, console, firstStep);
    java.util.function.Consumer<io.vertx.core.json.JsonObject> onStep =
        record -> {
          recorder.record(record);
          if (stopAfterStep > 0
              && record.getInteger("step") == stopAfterStep
              && record.containsKey("loss")) {
            requestStop();
          }
        };
    Vertx vertx = Vertx.vertx();
    try {
      MessageCodecs.register(vertx.eventBus());
      recorder.onWritten(RunEvents.publisher(vertx));
      DashboardVerticle.startLive(
          vertx, config.dashboard(), runDir, config.training().steps(), firstStep, console);
      Promise<Integer> finished = Promise.promise();
      coordinator =
          new RunCoordinator(config, problems, prompts, checkpoints, firstStep, onStep, finished);
      await(
          vertx.deployVerticle(
              new SamplerVerticle(
                  engine,
                  e ->
                      finished.tryFail(
                          new IllegalStateException(
                              "the sampler failed "
                                  + SamplerVerticle.MAX_FAILED_STEPS
                                  + " steps in a row (their requests were aborted); last error: "
                                  + e,
                              e)))));
      await(vertx.deployVerticle(new RewardVerticle(pipeline, byId, encoder.tokenizer(), eos)));
      await(
          vertx.deployVerticle(
              new LearnerVerticle(
                  learner,
                  config.training().groupsPerStep(),
                  config.training().syncEvery(),
                  config.training().maxPolicyLag())));
      await(vertx.deployVerticle(coordinator));
      int last;
      try {
        last = finished.future().toCompletionStage().toCompletableFuture().get();
      } catch (java.util.concurrent.ExecutionException e) {
        recorder.close();
        throw e.getCause() instanceof Exception cause ? cause : e;
      }
      recorder.close();
      console.println("rl: run finished at step " + last + "; " + runDir + drawCurve(runDir));
      return last;
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      pipeline.close();
      encoder.close();
    }
  }

  /**
   * Draws the run's learning curve; a curve that cannot be drawn (a runtime without java.desktop, a
   * metrics file without points) is reported, never fatal: the run's results are on disk.
   */
  static String drawCurve(Path runDir) {
    Path curve = runDir.resolve(LearningCurve.FILE);
    try {
      LearningCurve.draw(
          runDir.resolve(RunRecorder.METRICS_FILE), curve, runDir.getFileName().toString());
      return " (curve: " + curve + ")";
    } catch (IOException | RuntimeException | LinkageError e) {
      return " (learning curve not drawn: " + e + "; `rl curve " + runDir + "` draws it later)";
    }
  }

  private static void await(io.vertx.core.Future<?> future) throws Exception {
    future.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  private static int[] eosIds(PromptEncoder encoder, Decoder model) {
    Set<Integer> ids = new LinkedHashSet<>();
    for (int id : encoder.eosIds()) {
      ids.add(id);
    }
    ids.addAll(model.config().eosTokenIds());
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  /** On resume, drops records of steps after the checkpoint: they are about to be redone. */
  private void truncateRecords(int step) throws IOException {
    for (String file : List.of(RunRecorder.METRICS_FILE, RunRecorder.SAMPLES_FILE)) {
      Path path = runDir.resolve(file);
      if (!Files.exists(path)) {
        continue;
      }
      List<String> kept = new ArrayList<>();
      for (String line : Files.readAllLines(path)) {
        JsonNode row = JSON.readTree(line);
        if (row.path("step").asInt() <= step) {
          kept.add(line);
        }
      }
      Files.write(path, kept);
    }
  }

  /** For tests: run in the background. */
  CompletableFuture<Integer> start() {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return run();
          } catch (Exception e) {
            throw new java.util.concurrent.CompletionException(e);
          }
        });
  }
}
