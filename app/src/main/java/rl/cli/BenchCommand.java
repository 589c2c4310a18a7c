package rl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Pointer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import rl.bench.MemoryMonitor;
import rl.bench.ModelBench;
import rl.bench.ModelShape;
import rl.bench.ModelTable;

/** {@code rl bench}: throughput benchmarks, one subcommand per part of the system. */
@Command(
    name = "bench",
    description = "Measure throughput (tokens/s) of the model, and later of other parts.",
    mixinStandardHelpOptions = true,
    subcommands = {BenchCommand.Model.class})
final class BenchCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code rl bench model}: prefill, decode and learner throughput with random weights. */
  @Command(
      name = "model",
      description = {
        "Prefill, decode and learner tokens/s of a model shape with random weights and a rank-1"
            + " LoRA adapter on all seven projections.",
        "qwen2.5-0.5b needs about 3 GiB to generate and 7 GiB to train in 2048-token"
            + " micro-batches. JavaCPP caps the process's resident memory at"
            + " org.bytedeco.javacpp.maxphysicalbytes (default 4 × -Xmx): with a small -Xmx raise"
            + " it, e.g. RL_JAVA_OPTS=\"-Xmx2g -Dorg.bytedeco.javacpp.maxphysicalbytes=22g\"."
      },
      mixinStandardHelpOptions = true,
      sortOptions = false,
      usageHelpAutoWidth = true)
  static final class Model implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec CommandSpec spec;

    @Option(
        names = "--shape",
        split = ",",
        paramLabel = "SHAPE",
        description = "small, qwen2.5-0.5b or all (repeatable; default: small).")
    List<String> shapes = new ArrayList<>(List.of("small"));

    @Option(
        names = "--prompt-tokens",
        paramLabel = "N",
        description = "Prompt length of prefill and decode (default: ${DEFAULT-VALUE}).")
    int promptTokens = 128;

    @Option(
        names = "--new-tokens",
        paramLabel = "N",
        description = "Decode steps per batch size (default: 256 for small, 32 for qwen2.5-0.5b).")
    Integer newTokens;

    @Option(
        names = "--batches",
        split = ",",
        paramLabel = "B",
        description = "Decode batch sizes, comma-separated (default: 1,16,64).")
    List<Integer> batches = new ArrayList<>(List.of(1, 16, 64));

    @Option(
        names = "--train-seqs",
        paramLabel = "N",
        description = "Sequences per learner step (default: ${DEFAULT-VALUE}).")
    int trainSeqs = 16;

    @Option(
        names = "--train-len",
        paramLabel = "T",
        description = "Tokens per learner sequence (default: ${DEFAULT-VALUE}).")
    int trainLen = 512;

    @Option(
        names = "--train-micro-tokens",
        paramLabel = "N",
        description =
            "Learner micro-batch token budget; gradients accumulate over micro-batches, 0 runs the"
                + " step in one pass (default: 0 for small, 2048 for qwen2.5-0.5b).")
    Integer microTokens;

    @Option(
        names = "--train-steps",
        paramLabel = "N",
        description = "Timed learner steps (default: 2 for small, 1 for qwen2.5-0.5b).")
    Integer trainSteps;

    @Option(
        names = "--warmup",
        paramLabel = "N",
        description =
            "Untimed rounds before each measurement: a prefill plus up to 16 decode steps, or one"
                + " learner micro-batch (default: ${DEFAULT-VALUE}).")
    int warmup = 1;

    @Option(
        names = "--seed",
        paramLabel = "N",
        description =
            "Seeds weights, adapter, token ids and advantages (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(
        names = "--phases",
        split = ",",
        paramLabel = "PHASE",
        description = "generate (prefill and decode), train, or both (default: generate,train).")
    List<String> phases = new ArrayList<>(List.of("generate", "train"));

    @Option(names = "--json", description = "Also print one JSON line per result after the table.")
    boolean json;

    @Option(
        names = "--profile",
        description = "Time every tensor kernel and print where each phase's time goes.")
    boolean profile;

    @Option(
        names = "--progress",
        negatable = true,
        description =
            "Progress of long phases on standard error (default: on for qwen2.5-0.5b only).")
    Boolean progress;

    @Override
    public Integer call() throws JsonProcessingException {
      List<ModelShape> selected = selectedShapes();
      validate();
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      out.println(ModelTable.environment());
      out.flush();
      try (MemoryMonitor memory = MemoryMonitor.start(20)) {
        for (ModelShape shape : selected) {
          ModelBench.Settings settings = settings(shape);
          ModelBench.Report report;
          try {
            report = new ModelBench(shape, settings, err, memory).run();
          } catch (OutOfMemoryError e) {
            err.println(
                "rl: bench model "
                    + shape.id()
                    + " ran out of memory ("
                    + e.getMessage()
                    + "). JavaCPP refuses native allocations once the process's resident memory"
                    + " passes org.bytedeco.javacpp.maxphysicalbytes, here "
                    + (Pointer.maxPhysicalBytes() >> 20)
                    + " MiB (default 4 × -Xmx, here "
                    + (Runtime.getRuntime().maxMemory() >> 20)
                    + " MiB). Raise it through RL_JAVA_OPTS, e.g. RL_JAVA_OPTS=\"-Xmx2g"
                    + " -Dorg.bytedeco.javacpp.maxphysicalbytes=22g\", or lower"
                    + " --train-micro-tokens, --batches or --prompt-tokens.");
            err.flush();
            return 1;
          }
          ModelTable.print(report, out);
          if (json) {
            for (ModelBench.Result result : report.results()) {
              out.println(JSON.writeValueAsString(ModelTable.json(report, result)));
            }
          }
          out.flush();
        }
      }
      return 0;
    }

    private List<ModelShape> selectedShapes() {
      Set<ModelShape> selected = new LinkedHashSet<>();
      for (String name : shapes) {
        if (name.equalsIgnoreCase("all")) {
          selected.addAll(List.of(ModelShape.values()));
          continue;
        }
        try {
          selected.add(ModelShape.of(name.trim()));
        } catch (IllegalArgumentException e) {
          throw new ParameterException(spec.commandLine(), "--shape: " + e.getMessage());
        }
      }
      return List.copyOf(selected);
    }

    private void validate() {
      positive("--prompt-tokens", promptTokens);
      if (newTokens != null) {
        positive("--new-tokens", newTokens);
      }
      if (batches.isEmpty()) {
        throw new ParameterException(spec.commandLine(), "--batches: give at least one size");
      }
      for (int b : batches) {
        positive("--batches", b);
      }
      positive("--train-seqs", trainSeqs);
      if (trainLen < 2) {
        throw new ParameterException(
            spec.commandLine(), "--train-len must be at least 2, found " + trainLen);
      }
      if (microTokens != null && microTokens < 0) {
        throw new ParameterException(
            spec.commandLine(), "--train-micro-tokens must be 0 or more, found " + microTokens);
      }
      if (trainSteps != null) {
        positive("--train-steps", trainSteps);
      }
      if (warmup < 0) {
        throw new ParameterException(
            spec.commandLine(), "--warmup must be 0 or more, found " + warmup);
      }
      for (String phase : phases) {
        if (!phase.equals("generate") && !phase.equals("train")) {
          throw new ParameterException(
              spec.commandLine(),
              "--phases: unknown phase '" + phase + "', expected generate or train");
        }
      }
    }

    private void positive(String option, int value) {
      if (value < 1) {
        throw new ParameterException(
            spec.commandLine(), option + " must be at least 1, found " + value);
      }
    }

    private ModelBench.Settings settings(ModelShape shape) {
      return new ModelBench.Settings(
          promptTokens,
          newTokens != null ? newTokens : shape.defaultNewTokens(),
          batches,
          trainSeqs,
          trainLen,
          microTokens != null ? microTokens : shape.defaultMicroTokens(),
          trainSteps != null ? trainSteps : shape.defaultTrainSteps(),
          warmup,
          seed,
          phases.contains("generate"),
          phases.contains("train"),
          profile,
          progress != null ? progress : shape == ModelShape.QWEN2_5_0_5B);
    }
  }
}
