package rl.rewards;

/**
 * A reward configuration the code cannot use: an unknown function, a bad parameter, a plug-in
 * directory that does not exist. The message names what was wrong, the value and what was expected.
 */
public class RewardConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public RewardConfigException(String message) {
    super(message);
  }

  public RewardConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
