package rl.rewards;

import java.util.Objects;

/**
 * One chat message of a prompt, before any chat template is applied.
 *
 * @param role who speaks: {@code system}, {@code user}, {@code assistant} (or a template's own)
 * @param content the message text
 */
public record Message(String role, String content) {
  public Message {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
    if (role.isBlank()) {
      throw new IllegalArgumentException("a message role must not be blank");
    }
  }

  public static Message system(String content) {
    return new Message("system", content);
  }

  public static Message user(String content) {
    return new Message("user", content);
  }
}
