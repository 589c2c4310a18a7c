/**
 * The learner: group-centred advantages, the importance-weighted policy-gradient objective, the
 * optimizer, checkpoints, and adapter sync to the sampler.
 */
package rl.learner;
