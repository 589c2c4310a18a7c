/**
 * Built-in rewards on the completion text itself: {@code exact} (answer match), {@code regex}
 * (format rewards such as a {@code <think>} block before the answer) and {@code length} (a penalty
 * beyond a token budget).
 */
package rl.rewards.text;
