package rl.dashboard;

import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A raw client of the SockJS event-bus bridge: the plain WebSocket endpoint ({@code
 * /eventbus/websocket}), JSON frames written by hand, every frame received kept in order.
 */
final class BridgeClient implements AutoCloseable {
  private final WebSocketClient client;
  private final WebSocket socket;
  private final LinkedBlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
  private final List<JsonObject> seen = new ArrayList<>();

  private BridgeClient(WebSocketClient client, WebSocket socket) {
    this.client = client;
    this.socket = socket;
    // The raw endpoint writes the bridge's JSON frames as binary WebSocket messages.
    socket.handler(data -> frames.add(new JsonObject(data.toString(StandardCharsets.UTF_8))));
  }

  static BridgeClient connect(Vertx vertx, int port, String query) throws Exception {
    // Held (and closed) by the BridgeClient: Vert.x closes a client nobody references any more.
    WebSocketClient client = vertx.createWebSocketClient();
    WebSocket socket;
    try {
      socket =
          DashboardFixtures.await(
              client.connect(
                  new WebSocketConnectOptions()
                      .setHost("127.0.0.1")
                      .setPort(port)
                      .setURI(DashboardVerticle.BRIDGE_PATH + "/websocket" + query)));
    } catch (Exception e) {
      client.close();
      throw e;
    }
    return new BridgeClient(client, socket);
  }

  void send(JsonObject frame) throws Exception {
    DashboardFixtures.await(socket.writeTextMessage(frame.encode()));
  }

  void register(String address) throws Exception {
    send(new JsonObject().put("type", "register").put("address", address));
  }

  /** The next frame matching {@code wanted} within 10 s (others are kept in {@link #seen}). */
  JsonObject await(Predicate<JsonObject> wanted) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      JsonObject frame = frames.poll(100, TimeUnit.MILLISECONDS);
      if (frame != null) {
        seen.add(frame);
        if (wanted.test(frame)) {
          return frame;
        }
      }
    }
    throw new AssertionError("no such frame within 10 s; received " + seen);
  }

  /** Every frame received so far, after draining what is queued. */
  List<JsonObject> seen() {
    frames.drainTo(seen);
    return List.copyOf(seen);
  }

  @Override
  public void close() {
    socket.close();
    client.close();
  }
}
