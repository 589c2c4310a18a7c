/**
 * Reward plug-ins: the API a reward function implements, the built-in verifiers and task datasets.
 * Plain Java on purpose, so a plug-in author depends on a small jar only.
 */
package rl.rewards;
