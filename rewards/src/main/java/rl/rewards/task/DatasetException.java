package rl.rewards.task;

/**
 * A dataset or task definition the code cannot use: a malformed row, a missing field, an impossible
 * generator setting. The message names the file and line (or the task), the value and what was
 * expected.
 */
public class DatasetException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public DatasetException(String message) {
    super(message);
  }

  public DatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
