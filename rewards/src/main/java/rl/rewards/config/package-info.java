/**
 * The {@code rewards:} section of a run config as records: which functions score completions, with
 * what parameters, weights and call limits, and where plug-in jars live. Bound by Jackson with
 * snake_case keys; every default is a constant of these records.
 */
package rl.rewards.config;
