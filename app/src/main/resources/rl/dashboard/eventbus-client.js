/*
 * A receive-only client of the Vert.x SockJS event-bus bridge. Its frames are JSON objects:
 * the client sends {type: "register", address} to subscribe and {type: "ping"} to stay alive
 * (the server closes a socket that stops pinging); the server sends {type: "rec", address, body}
 * for each message and {type: "err", body} when it refuses something.
 */
(function (global) {
  'use strict';

  class EventBusClient {
    /**
     * @param {string} url the bridge, e.g. "eventbus" (SockJS adds its own paths)
     * @param {{onopen?: Function, onclose?: Function, onerror?: Function, pingMs?: number}} options
     */
    constructor(url, options = {}) {
      this.handlers = new Map();
      this.onopen = options.onopen || (() => {});
      this.onclose = options.onclose || (() => {});
      this.onerror = options.onerror || (() => {});
      this.open = false;
      this.sock = new global.SockJS(url);
      this.sock.onopen = () => {
        this.open = true;
        for (const address of this.handlers.keys()) {
          this.send({ type: 'register', address });
        }
        this.send({ type: 'ping' });
        this.pinger = setInterval(() => this.send({ type: 'ping' }), options.pingMs || 5000);
        this.onopen();
      };
      this.sock.onmessage = (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (frame.type === 'rec') {
          for (const handler of this.handlers.get(frame.address) || []) {
            handler(frame.body, frame);
          }
        } else if (frame.type === 'err') {
          this.onerror(frame);
        }
      };
      this.sock.onclose = (event) => {
        this.open = false;
        clearInterval(this.pinger);
        this.onclose(event);
      };
    }

    /** Calls handler(body) for each message published on address. */
    on(address, handler) {
      if (!this.handlers.has(address)) {
        this.handlers.set(address, []);
        if (this.open) {
          this.send({ type: 'register', address });
        }
      }
      this.handlers.get(address).push(handler);
    }

    close() {
      this.sock.close();
    }

    send(frame) {
      if (this.sock.readyState === global.SockJS.OPEN) {
        this.sock.send(JSON.stringify(frame));
      }
    }
  }

  global.EventBusClient = EventBusClient;
})(window);
