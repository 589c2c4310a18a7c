/**
 * Measuring code behind {@code rl bench}: the model benchmark (prefill, decode, learner step), a
 * memory sampler and a timing decorator for {@link rl.core.tensor.Ops}.
 */
package rl.bench;
