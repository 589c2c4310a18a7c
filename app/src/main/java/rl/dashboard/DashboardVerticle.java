package rl.dashboard;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.bridge.BridgeEventType;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.sockjs.BridgeEvent;
import io.vertx.ext.web.handler.sockjs.SockJSBridgeOptions;
import io.vertx.ext.web.handler.sockjs.SockJSHandler;
import io.vertx.ext.web.handler.sockjs.SockJSHandlerOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The monitoring dashboard of one run, served by Vert.x Web.
 *
 * <ul>
 *   <li>{@code GET /}: the page, its script and styles, and Chart.js and the SockJS client from
 *       their webjars ({@link Assets}).
 *   <li>{@code GET /api/history}: {@code metrics.jsonl} as a JSON array; {@code GET
 *       /api/samples?limit=N}: the last N groups of {@code samples.jsonl}; {@code GET /api/config}:
 *       the resolved config (token hidden); {@code GET /api/status}: step, elapsed time, ETA. They
 *       read the run's own files by fixed name and take no path ({@link RunFiles}).
 *   <li>{@code /eventbus}: while the run trains, a SockJS event-bus bridge that only lets messages
 *       out, and only on {@link RunEvents#OUTBOUND_REGEX}: every message a client sends or
 *       publishes is refused, as is registering for any other address.
 * </ul>
 *
 * <p>Every request passes the {@link AccessGuard} first (origin, host and token checks).
 */
public final class DashboardVerticle extends VerticleBase {
  /** Where the bridge is mounted; its raw WebSocket endpoint is {@code /eventbus/websocket}. */
  public static final String BRIDGE_PATH = "/eventbus";

  private static final int MAX_SAMPLES = 500;
  private static final int DEFAULT_SAMPLES = 20;
  private static final Set<String> NO_PARAMETERS = Set.of(AccessGuard.QUERY);
  private static final Set<String> SAMPLES_PARAMETERS = Set.of(AccessGuard.QUERY, "limit");

  private final DashboardConfig config;
  private final Path runDir;
  private final int steps;
  private final RunStatus liveStatus;
  private RunFiles files;
  private Assets assets;
  private HttpServer server;

  private DashboardVerticle(DashboardConfig config, Path runDir, int steps, RunStatus liveStatus) {
    this.config = config;
    this.runDir = runDir;
    this.steps = steps;
    this.liveStatus = liveStatus;
  }

  /**
   * The dashboard of a run in progress in this Vert.x: its files plus the bridge.
   *
   * @param steps the run's configured step count
   * @param firstStep the learner's step when the run (re)started
   */
  public static DashboardVerticle live(
      DashboardConfig config, Path runDir, int steps, int firstStep) {
    return new DashboardVerticle(
        config, runDir, steps, new RunStatus(runDir.getFileName().toString(), steps, firstStep));
  }

  /** The dashboard of a run that is not running: its files only, no bridge. */
  public static DashboardVerticle ofFiles(DashboardConfig config, Path runDir, int steps) {
    return new DashboardVerticle(config, runDir, steps, null);
  }

  /**
   * Starts the live dashboard of a run and prints its URL on {@code console}; a dashboard that
   * cannot start (its port taken, say) is reported there and the run goes on without it.
   */
  public static void startLive(
      Vertx vertx,
      DashboardConfig config,
      Path runDir,
      int steps,
      int firstStep,
      PrintStream console) {
    DashboardVerticle dashboard = live(config, runDir, steps, firstStep);
    try {
      vertx
          .deployVerticle(dashboard)
          .toCompletionStage()
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      console.println("rl: dashboard at " + dashboard.url());
    } catch (Exception e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      console.println(
          "rl: dashboard not started ("
              + describe(cause, config)
              + "); the run goes on without it; set dashboard.port, or use port 0 for any free"
              + " port");
    }
  }

  /** A start failure in a line, naming the address when it was the bind that failed. */
  public static String describe(Throwable failure, DashboardConfig config) {
    String message = failure.getMessage() == null ? failure.toString() : failure.getMessage();
    if (failure instanceof java.net.BindException || message.contains("Address already in use")) {
      return "cannot listen on " + config.host() + ":" + config.port() + ": " + message;
    }
    return message;
  }

  @Override
  public Future<?> start() {
    return vertx
        .executeBlocking(
            () -> {
              files = new RunFiles(runDir);
              assets = Assets.load();
              return null;
            })
        .compose(
            ignored ->
                vertx
                    .createHttpServer(
                        new HttpServerOptions().setHost(config.host()).setPort(config.port()))
                    .requestHandler(router())
                    .listen())
        .onSuccess(
            listening -> {
              server = listening;
              if (liveStatus != null) {
                followRun();
              }
            });
  }

  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  /** The port it listens on (the chosen one when configured as 0). */
  public int port() {
    return server.actualPort();
  }

  /** The URL to open, with the token when one is set. */
  public String url() {
    String host = config.host();
    if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
      host = "127.0.0.1"; // listening on every interface; this one works here
    } else if (host.contains(":") && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return "http://"
        + host
        + ":"
        + port()
        + "/"
        + (config.token().isEmpty() ? "" : "?token=" + config.token());
  }

  private void followRun() {
    var bus = vertx.eventBus();
    bus.<JsonObject>consumer(
        RunEvents.RUN_METRICS,
        message -> {
          liveStatus.record(message.body());
          bus.publish(RunEvents.RUN_STATUS, liveStatus.toJson());
        });
    vertx.setPeriodic(1000, id -> bus.publish(RunEvents.RUN_STATUS, liveStatus.toJson()));
  }

  private Router router() {
    Router router = Router.router(vertx);
    router.route().handler(new AccessGuard(config.token()));
    router.get("/api/history").handler(ctx -> json(ctx, NO_PARAMETERS, () -> files.history()));
    router.get("/api/config").handler(ctx -> json(ctx, NO_PARAMETERS, () -> files.config()));
    router.get("/api/status").handler(ctx -> json(ctx, NO_PARAMETERS, this::status));
    router.get("/api/samples").handler(this::samples);
    if (liveStatus != null) {
      router.route(BRIDGE_PATH + "/*").subRouter(bridge());
    }
    router.get().handler(this::asset);
    return router;
  }

  private Object status() throws IOException {
    return liveStatus != null
        ? liveStatus.toJson()
        : RunStatus.ofFinished(files.name(), files.history(), steps, files.wallSeconds());
  }

  private void samples(RoutingContext ctx) {
    String limitParam = ctx.request().getParam("limit");
    int limit = DEFAULT_SAMPLES;
    if (limitParam != null) {
      try {
        limit = Integer.parseInt(limitParam);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_SAMPLES) {
        badRequest(
            ctx, "limit must be a whole number in [1, " + MAX_SAMPLES + "], found " + limitParam);
        return;
      }
    }
    int n = limit;
    json(ctx, SAMPLES_PARAMETERS, () -> files.samples(n));
  }

  /**
   * Answers with {@code body}, computed off the event loop; unknown query parameters are refused.
   */
  private void json(RoutingContext ctx, Set<String> allowed, Callable<Object> body) {
    for (String name : ctx.queryParams().names()) {
      if (!allowed.contains(name)) {
        badRequest(
            ctx,
            "unknown parameter '"
                + name
                + "' for "
                + ctx.request().path()
                + "; it serves this run's own file and takes "
                + (allowed.size() == 1 ? "none" : "only limit"));
        return;
      }
    }
    vertx
        .executeBlocking(body)
        .onComplete(
            result -> {
              if (result.failed()) {
                Throwable cause = result.cause();
                ctx.response()
                    .setStatusCode(cause instanceof SecurityException ? 403 : 500)
                    .putHeader("Content-Type", "text/plain; charset=utf-8")
                    .end(cause.getMessage() + "\n");
                return;
              }
              Object value = result.result();
              ctx.response()
                  .putHeader("Content-Type", "application/json")
                  .putHeader("Cache-Control", "no-store")
                  .end(value instanceof JsonObject o ? o.encode() : ((JsonArray) value).encode());
            });
  }

  private static void badRequest(RoutingContext ctx, String message) {
    ctx.response()
        .setStatusCode(400)
        .putHeader("Content-Type", "text/plain; charset=utf-8")
        .end(message + "\n");
  }

  private void asset(RoutingContext ctx) {
    Assets.Asset asset = assets.get(ctx.request().path());
    if (asset == null) {
      ctx.response().setStatusCode(404).putHeader("Content-Type", "text/plain").end("not found\n");
      return;
    }
    ctx.response()
        .putHeader("Content-Type", asset.contentType())
        .putHeader("Cache-Control", "no-cache")
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "no-referrer")
        .putHeader(
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none';"
                + " base-uri 'none'; frame-ancestors 'none'")
        .end(asset.bytes());
  }

  /**
   * The receive-only bridge. Inbound: no address is permitted, so the bridge itself answers every
   * send and publish with an error frame; the event hook refuses them first as well, so a message
   * from a browser never reaches the bus even as a reply. Outbound: only addresses matching {@link
   * RunEvents#OUTBOUND_REGEX}, checked by the bridge on register and on every delivery, and again
   * by the hook.
   */
  private Router bridge() {
    SockJSBridgeOptions options =
        new SockJSBridgeOptions()
            .addOutboundPermitted(new PermittedOptions().setAddressRegex(RunEvents.OUTBOUND_REGEX))
            .setMaxHandlersPerSocket(8)
            .setPingTimeout(30_000);
    return SockJSHandler.create(vertx, new SockJSHandlerOptions().setInsertJSESSIONID(false))
        .bridge(options, DashboardVerticle::vet);
  }

  private static void vet(BridgeEvent event) {
    BridgeEventType type = event.type();
    switch (type) {
      case SEND, PUBLISH -> event.complete(false);
      case REGISTER, UNREGISTER, RECEIVE -> {
        JsonObject raw = event.getRawMessage();
        String address = raw == null ? null : raw.getString("address");
        event.complete(address != null && RunEvents.OUTBOUND.matcher(address).matches());
      }
      default -> event.complete(true);
    }
  }
}
