/**
 * The {@code countdown} verifier: the completion's arithmetic expression must use only the given
 * numbers, each at most once, and reach the target exactly. {@link
 * rl.rewards.countdown.CountdownExpression} is a small recursive-descent parser with limits on
 * length, nesting and number size that evaluates in exact rational arithmetic; nothing is ever
 * evaluated as code.
 */
package rl.rewards.countdown;
