/**
 * The {@code math} verifier: finds the final answer in a completion ({@link
 * rl.rewards.math.AnswerExtractor}), normalises LaTeX and plain-text answers ({@link
 * rl.rewards.math.AnswerNormalizer}), reads them as exact rationals or approximate reals ({@link
 * rl.rewards.math.MathExpression}, {@link rl.rewards.math.Fraction}) and compares them ({@link
 * rl.rewards.math.AnswerComparator}). Parsing is a real recursive-descent parser with size and
 * depth limits; nothing is ever evaluated as code.
 */
package rl.rewards.math;
