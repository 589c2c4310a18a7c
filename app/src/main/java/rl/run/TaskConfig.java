package rl.run;

import java.util.Map;

/**
 * Where a run's problems come from.
 *
 * @param name {@code arithmetic} or {@code countdown} (seeded generators), or {@code jsonl}
 * @param params the generator's parameters (see rl.rewards.task), e.g. {@code digits: 2}
 * @param trainFile for {@code jsonl}: the training problems
 * @param evalFile for {@code jsonl}: the held-out problems
 * @param fields for {@code jsonl}: which row fields hold the prompt, answer and id
 * @param trainSize problems drawn for training (generators) — prompts are reused every epoch
 * @param evalSize held-out problems for evaluation
 * @param systemPrompt a system message put before each prompt; empty for none
 * @param chatTemplate the tokenizer's named chat template to use; empty for the default
 */
public record TaskConfig(
    String name,
    Map<String, Object> params,
    String trainFile,
    String evalFile,
    Map<String, String> fields,
    int trainSize,
    int evalSize,
    String systemPrompt,
    String chatTemplate) {

  public static final TaskConfig DEFAULTS =
      new TaskConfig("arithmetic", Map.of(), "", "", Map.of(), 2000, 200, "", "");

  public TaskConfig {
    params = params == null ? Map.of() : Map.copyOf(params);
    fields = fields == null ? Map.of() : Map.copyOf(fields);
    if (trainSize < 1) {
      throw new IllegalArgumentException("train_size must be at least 1, found " + trainSize);
    }
    if (evalSize < 0) {
      throw new IllegalArgumentException("eval_size must be >= 0, found " + evalSize);
    }
  }
}
