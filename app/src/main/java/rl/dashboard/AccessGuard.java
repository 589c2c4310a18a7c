package rl.dashboard;

import io.vertx.core.Handler;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;

/**
 * The first handler of every request, pages, API and SockJS alike.
 *
 * <ul>
 *   <li>A request from a page of another origin (browsers say so in {@code Origin}, on every
 *       WebSocket handshake too) is refused: another site open in the same browser must not read
 *       the run.
 *   <li>With a token, the request must carry it: header {@value #HEADER}, {@code ?token=}, or the
 *       cookie this handler sets when a page is opened with {@code ?token=} (so that the page's
 *       scripts and styles load). Tokens are compared in constant time.
 *   <li>Without a token (loopback only), the {@code Host} must name the loopback interface ({@code
 *       localhost}, 127.x.x.x, [::1]; any port, for SSH tunnels), which defeats DNS rebinding.
 * </ul>
 */
final class AccessGuard implements Handler<RoutingContext> {
  static final String HEADER = "X-RL-Token";
  static final String QUERY = "token";

  private final byte[] token;

  AccessGuard(String token) {
    this.token = token.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String host = request.getHeader("Host");
    String origin = request.getHeader("Origin");
    if (origin != null && !sameOrigin(origin, host)) {
      refuse(ctx, 403, "cross-origin request refused: Origin " + origin + ", Host " + host);
      return;
    }
    if (token.length == 0) {
      if (host == null || !DashboardConfig.isLoopback(hostName(host))) {
        refuse(ctx, 403, "this dashboard answers only to localhost; Host was " + host);
        return;
      }
      ctx.next();
      return;
    }
    String cookieName = "rl_token_" + request.localAddress().port();
    String fromQuery = request.getParam(QUERY);
    Cookie cookie = request.getCookie(cookieName);
    String given =
        firstNonNull(
            request.getHeader(HEADER),
            bearer(request.getHeader("Authorization")),
            fromQuery,
            cookie == null ? null : cookie.getValue());
    if (given == null || !matches(given)) {
      refuse(
          ctx,
          401,
          "this dashboard needs its token: open it with ?token=TOKEN (the URL rl printed) or"
              + " send header "
              + HEADER);
      return;
    }
    if (fromQuery != null && cookie == null) {
      ctx.response()
          .addCookie(
              Cookie.cookie(cookieName, fromQuery)
                  .setPath("/")
                  .setHttpOnly(true)
                  .setSameSite(CookieSameSite.STRICT));
    }
    ctx.next();
  }

  private boolean matches(String given) {
    return MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8));
  }

  private static void refuse(RoutingContext ctx, int status, String message) {
    ctx.response()
        .setStatusCode(status)
        .putHeader("Content-Type", "text/plain; charset=utf-8")
        .end(message + "\n");
  }

  /** Whether a browser's {@code Origin} is this server as the browser addressed it. */
  static boolean sameOrigin(String origin, String host) {
    if (host == null) {
      return false;
    }
    try {
      URI uri = new URI(origin);
      if (uri.getHost() == null || !"http".equalsIgnoreCase(uri.getScheme())) {
        return false;
      }
      int port = uri.getPort() < 0 ? 80 : uri.getPort();
      String hostHeader = host.toLowerCase(Locale.ROOT);
      String expected = uri.getHost().toLowerCase(Locale.ROOT) + ":" + port;
      return hostHeader.equals(expected)
          || (port == 80 && hostHeader.equals(uri.getHost().toLowerCase(Locale.ROOT)));
    } catch (URISyntaxException e) {
      return false;
    }
  }

  /**
   * The name part of a Host header: {@code a:8321} gives {@code a}, {@code [::1]:8321} gives {@code
   * ::1}.
   */
  static String hostName(String host) {
    if (host.startsWith("[")) {
      int close = host.indexOf(']');
      return close < 0 ? host : host.substring(1, close);
    }
    int colon = host.lastIndexOf(':');
    return colon < 0 ? host : host.substring(0, colon);
  }

  private static String bearer(String authorization) {
    return authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
        ? authorization.substring(7).trim()
        : null;
  }

  private static String firstNonNull(String... values) {
    for (String v : values) {
      if (v != null) {
        return v;
      }
    }
    return null;
  }
}
