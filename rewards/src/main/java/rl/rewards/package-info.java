/**
 * The reward plug-in API: what a reward function receives ({@link rl.rewards.RewardInput}), what it
 * returns ({@link rl.rewards.RewardResult}), the function itself ({@link
 * rl.rewards.RewardFunction}, or {@link rl.rewards.SyncRewardFunction} for simple ones) and the
 * {@link rl.rewards.RewardFunctionFactory} service a plug-in jar registers.
 *
 * <p>The module is plain Java (Jackson and Caffeine only, no Vert.x or ND4J), so a plug-in author
 * depends on a small jar. Built-in verifiers live in {@code rl.rewards.math}, {@code
 * rl.rewards.countdown} and {@code rl.rewards.text}; isolation, caching and weighting in {@code
 * rl.rewards.pipeline}; discovery in {@code rl.rewards.plugin}; datasets in {@code
 * rl.rewards.task}.
 */
package rl.rewards;
