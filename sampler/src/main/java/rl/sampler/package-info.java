/**
 * The sampler: turns sample requests into groups of completions, recording the logprob of every
 * sampled token, and swaps in adapter updates between decode steps.
 */
package rl.sampler;
