/** Measurements of the rewards module, run as plain main classes (see BENCHMARKS.md). */
package rl.rewards.bench;
