/**
 * Where problems come from: {@link rl.rewards.task.JsonlDataset} reads JSONL files with a field
 * mapping, and {@link rl.rewards.task.ArithmeticTask} and {@link rl.rewards.task.CountdownTask}
 * generate problems, seeded and reproducible, split into train and eval sets that never share a
 * problem ({@link rl.rewards.task.Split}).
 *
 * <p>Problems carry their prompt as chat messages. Applying the model's chat template is the
 * caller's job (module {@code core}, which this module must not depend on); the rendered text is
 * then passed to the reward functions as {@link rl.rewards.RewardInput#promptText()}.
 */
package rl.rewards.task;
