package rl.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import rl.core.config.ModelConfig;
import rl.core.model.BenchmarkShapes;
import rl.core.model.Decoder;
import rl.core.model.HfModelConfig;
import rl.core.model.Parameter;
import rl.core.tensor.Backends;
import rl.core.tensor.Ops;
import rl.core.tokenizer.HfTokenizer;

/**
 * {@code rl random-model}: a Hugging Face model directory with random weights in one of the
 * benchmark shapes and a real tokenizer, so that {@code rl train} can be timed at a published
 * model's size without its weights (random weights cannot learn).
 */
@Command(
    name = "random-model",
    description =
        "Write a model directory with random weights in a benchmark shape (for speed runs).",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true,
    footer = {
      "",
      "Writes DIR/config.json, DIR/model.safetensors (float32, normal weights of std 0.02, norm"
          + " scales 1) and copies the tokenizer files of --tokenizer. Random weights sample"
          + " noise: use the directory to time `rl train` or `rl bench`, not to learn."
    })
final class RandomModelCommand implements Callable<Integer> {
  /** The tokenizer files copied when present (tokenizer.json is required). */
  static final List<String> TOKENIZER_FILES =
      List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      paramLabel = "SHAPE",
      description = "One of ${COMPLETION-CANDIDATES}.",
      completionCandidates = ShapeNames.class)
  String shape;

  @Parameters(index = "1", paramLabel = "DIR", description = "The directory to write.")
  Path out;

  @Option(
      names = "--tokenizer",
      required = true,
      paramLabel = "DIR",
      description = "A directory with the tokenizer.json to use (its vocabulary must fit).")
  Path tokenizer;

  @Option(
      names = "--seed",
      defaultValue = "0",
      description = "Weight seed (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--backend",
      defaultValue = "auto",
      description = "Tensor backend that draws the weights: auto, nd4j or cuda.")
  ModelConfig.Backend backend;

  @Override
  public Integer call() throws IOException {
    HfModelConfig config;
    try {
      config = BenchmarkShapes.of(shape);
    } catch (IllegalArgumentException e) {
      throw new Main.InputException("SHAPE: " + e.getMessage());
    }
    int tokens;
    try (HfTokenizer vocabulary = HfTokenizer.load(tokenizer)) {
      tokens = vocabulary.vocabSize();
    }
    if (tokens > config.vocabSize()) {
      throw new Main.InputException(
          "--tokenizer: "
              + tokenizer.resolve("tokenizer.json")
              + " has "
              + tokens
              + " tokens, more than the "
              + shape
              + " shape's vocabulary of "
              + config.vocabSize());
    }
    if (Files.exists(out.resolve(HfModelConfig.CONFIG_FILE))) {
      throw new Main.InputException(out + " already holds a model (config.json); not overwriting");
    }
    Ops ops;
    try {
      ops = Backends.create(backend, CliBackend::report);
    } catch (IllegalArgumentException e) {
      throw new Main.InputException("--backend " + backend + ": " + e.getMessage());
    }
    Decoder model = Decoder.random(config, ops, seed);
    long parameters = 0;
    for (Parameter p : model.parameters()) {
      parameters += p.value().size();
    }
    model.saveHuggingFace(out);
    for (String name : TOKENIZER_FILES) {
      Path file = tokenizer.resolve(name);
      if (Files.isRegularFile(file)) {
        Files.copy(file, out.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    spec.commandLine()
        .getOut()
        .printf(
            "rl: wrote %s: %s shape, %,d parameters, random weights (seed %d), tokenizer of %s%n",
            out, shape, parameters, seed, tokenizer);
    return 0;
  }

  /** The shape names for the usage text. */
  static final class ShapeNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return BenchmarkShapes.NAMES.iterator();
    }
  }
}
