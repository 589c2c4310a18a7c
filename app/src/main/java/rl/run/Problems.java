package rl.run;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import rl.rewards.Problem;
import rl.rewards.task.FieldMapping;
import rl.rewards.task.JsonlDataset;
import rl.rewards.task.ProblemGenerator;
import rl.rewards.task.Split;
import rl.rewards.task.Tasks;

/** A run's training and held-out problems, built from its {@link TaskConfig}. */
public record Problems(List<Problem> train, List<Problem> eval) {

  public static final String JSONL = "jsonl";

  /** Generates or loads the problems; the same config and seed always give the same lists. */
  public static Problems load(TaskConfig task, long seed) {
    if (task.name().equals(JSONL)) {
      if (task.trainFile().isEmpty()) {
        throw new IllegalArgumentException("task.train_file is required when task.name is jsonl");
      }
      FieldMapping mapping = mapping(task);
      List<Problem> train = JsonlDataset.load(Path.of(task.trainFile()), mapping);
      List<Problem> eval =
          task.evalFile().isEmpty()
              ? List.of()
              : JsonlDataset.load(Path.of(task.evalFile()), mapping);
      return new Problems(limit(train, task.trainSize()), limit(eval, task.evalSize()));
    }
    if (!Tasks.NAMES.contains(task.name())) {
      throw new IllegalArgumentException(
          "task.name: unknown task '"
              + task.name()
              + "', expected one of "
              + String.join(", ", Tasks.NAMES)
              + ", "
              + JSONL);
    }
    ProblemGenerator generator = Tasks.generator(task.name(), task.params());
    List<Problem> train = generator.generate(Split.TRAIN, task.trainSize(), seed);
    List<Problem> eval =
        task.evalSize() == 0
            ? List.of()
            : generator.generate(Split.EVAL, task.evalSize(), seed + 1);
    return new Problems(withSystem(train, task), withSystem(eval, task));
  }

  private static FieldMapping mapping(TaskConfig task) {
    FieldMapping mapping = FieldMapping.DEFAULTS;
    Map<String, String> fields = new HashMap<>(task.fields());
    if (fields.containsKey("prompt")) {
      mapping = mapping.withPrompt(fields.remove("prompt"));
    }
    if (fields.containsKey("answer")) {
      mapping = mapping.withAnswer(fields.remove("answer"));
    }
    if (!fields.isEmpty()) {
      throw new IllegalArgumentException(
          "task.fields: unknown keys " + fields.keySet() + ", expected prompt, answer");
    }
    if (!task.systemPrompt().isEmpty()) {
      mapping = mapping.withSystem(task.systemPrompt());
    }
    return mapping;
  }

  private static List<Problem> withSystem(List<Problem> problems, TaskConfig task) {
    if (task.systemPrompt().isEmpty()) {
      return problems;
    }
    return problems.stream()
        .map(
            p -> {
              List<rl.rewards.Message> messages = new java.util.ArrayList<>();
              messages.add(rl.rewards.Message.system(task.systemPrompt()));
              messages.addAll(p.prompt());
              return new Problem(p.id(), messages, p.answer(), p.metadata());
            })
        .toList();
  }

  private static List<Problem> limit(List<Problem> problems, int size) {
    return problems.size() <= size ? problems : problems.subList(0, size);
  }

  /** The prompt as chat messages for a template: maps of role and content. */
  public static List<Map<String, Object>> messages(Problem problem) {
    return problem.prompt().stream()
        .map(m -> Map.<String, Object>of("role", m.role(), "content", m.content()))
        .toList();
  }
}
