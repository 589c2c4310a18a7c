/**
 * Runs reward functions safely and combines them: {@link rl.rewards.pipeline.RewardPipeline} scores
 * a completion with every configured function and sums the weighted scores; each function runs in
 * its own {@link rl.rewards.pipeline.RewardRunner}, which calls it on its own threads with a
 * time-out, a concurrency limit and a cache, and turns every failure into a recorded {@link
 * rl.rewards.pipeline.RewardError} scored with a fallback. Counters per function are read as {@link
 * rl.rewards.pipeline.RewardMetrics}.
 */
package rl.rewards.pipeline;
