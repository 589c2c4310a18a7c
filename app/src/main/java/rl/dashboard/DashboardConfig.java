package rl.dashboard;

import java.net.InetAddress;
import java.util.Objects;

/**
 * The monitoring dashboard ({@code dashboard:} in a run config).
 *
 * @param port TCP port to listen on; 0 takes any free port (the printed URL names it)
 * @param host the address to bind; a loopback address (127.0.0.1, ::1, localhost) serves this
 *     machine only. Any other address needs a token
 * @param token an access token that every request must then carry (header {@code X-RL-Token} or
 *     {@code ?token=} in the URL); empty for none, which only a loopback host allows
 */
public record DashboardConfig(int port, String host, String token) {
  public static final DashboardConfig DEFAULTS = new DashboardConfig(8321, "127.0.0.1", "");

  /** Shortest token accepted: a guessable token would defeat it. */
  static final int MIN_TOKEN_LENGTH = 16;

  public DashboardConfig {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(token, "token");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(
          "port must be in [0, 65535] (0: any free port), found " + port);
    }
    if (host.isBlank()) {
      throw new IllegalArgumentException(
          "host must not be empty; 127.0.0.1 serves this machine only");
    }
    if (!token.isEmpty() && token.length() < MIN_TOKEN_LENGTH) {
      throw new IllegalArgumentException(
          "token must be at least "
              + MIN_TOKEN_LENGTH
              + " characters, found "
              + token.length()
              + " (e.g. the output of `openssl rand -hex 16`)");
    }
    if (token.isEmpty() && !isLoopback(host)) {
      throw new IllegalArgumentException(
          "host "
              + host
              + " is not a loopback address, so token must be set (at least "
              + MIN_TOKEN_LENGTH
              + " characters, e.g. the output of `openssl rand -hex 16`): every request must then"
              + " carry it");
    }
  }

  /** Whether {@code host} names this machine's loopback interface, decided without DNS. */
  public static boolean isLoopback(String host) {
    if (host.equalsIgnoreCase("localhost")) {
      return true;
    }
    String literal =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    try {
      return InetAddress.ofLiteral(literal).isLoopbackAddress();
    } catch (IllegalArgumentException notAnAddress) {
      return false;
    }
  }

  public DashboardConfig withPort(int newPort) {
    return new DashboardConfig(newPort, host, token);
  }

  /** Never shows the token: configs end up in logs. */
  @Override
  public String toString() {
    return "DashboardConfig[port="
        + port
        + ", host="
        + host
        + ", token="
        + (token.isEmpty() ? "" : "***")
        + "]";
  }
}
