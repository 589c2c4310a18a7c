package rl.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import rl.run.SftConfig;
import rl.run.SftTrainer;

/** {@code rl sft}: supervised fine-tuning on a task's (prompt, answer) pairs. */
@Command(
    name = "sft",
    description =
        "Supervised training on a task's (prompt, answer) pairs; writes a Hugging Face model.",
    mixinStandardHelpOptions = true,
    usageHelpAutoWidth = true,
    footer = {
      "",
      "The config (YAML, strict) names the output directory, the start (init: random with a model"
          + " shape, or init: checkpoint with model.path), the tokenizer (toy: byte-level with a"
          + " ChatML template), the task, the answer template, optimizer, training, LoRA and"
          + " evaluation settings; see examples/arithmetic/sft.yaml.",
      "",
      "Each prompt goes through the chat template with the generation prompt; the model learns"
          + " the answer template followed by the end-of-sequence token (cross-entropy on those"
          + " tokens only). The output directory gets config.json, model.safetensors (float32),"
          + " the tokenizer files and sft.yaml (the resolved config); with LoRA also adapter/"
          + " (PEFT), merged into the weights of the checkpoint."
    })
final class SftCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "CONFIG", description = "The SFT config, YAML.")
  Path config;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description = "Override a config key, e.g. --set training.steps=100 (repeatable).")
  List<String> overrides = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    SftConfig resolved = SftTrainer.loadConfig(config, overrides);
    PrintWriter out = spec.commandLine().getOut();
    SftTrainer trainer;
    try {
      trainer = SftTrainer.prepare(resolved, out);
    } catch (IllegalArgumentException e) {
      throw new Main.InputException(config + ": " + e.getMessage());
    }
    try (trainer) {
      trainer.run();
    }
    return 0;
  }
}
