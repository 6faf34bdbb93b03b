// Signalling over Ably from the browser, through the official Ably SDK (ably-js, its
// modular ES build: a pinned, unmodified release file, see vendor/manifest.json), with
// the same interface as the broker connection in meshchat.js. Channel names as in
// mesh/transports/ably.py: meshchat/<room>/<channel> -> meshchat:<room>:<channel>,
// messages named "signal".

import { ablyChannel } from "/frames.js";
import { PacedPublisher } from "/pacing.js";
import {
  BaseRealtime, FetchRequest, WebSocketTransport,
} from "/vendor/ably/build/modular/index.mjs";

const MESSAGE_NAME = "signal";
const PUBLISH_RATE = 40, PUBLISH_BURST = 20; // below Ably's 50 per second per connection
const CONNECT_TIMEOUT = 15000;

export class AblyConnection {
  // auth: { key } or { token }; endpoint: "host[:port]" (Ably's own when unset); tls.
  constructor(endpoint, tls, auth, onMessage, onState) {
    Object.assign(this, { endpoint, tls, auth, onMessage, onState });
    this.iceServers = []; // Ably offers none
    this.identity = null; // Ably checks keys and capabilities, not identities
    this.outbox = new PacedPublisher(PUBLISH_RATE, PUBLISH_BURST, (topic, data) =>
      this.client.channels.get(ablyChannel(topic)).publish(MESSAGE_NAME, data)
        .catch((error) => console.warn("Ably publish failed:", error.message)));
    this.wasLost = false;
  }

  options() {
    const options = {
      plugins: { WebSocketTransport, FetchRequest },
      echoMessages: false, // our own signals are of no use to us
      autoConnect: false,
      logLevel: 1, // errors only: the page says what went wrong in its own words
    };
    if (this.auth.key) options.key = this.auth.key;
    else options.token = this.auth.token;
    if (this.endpoint) {
      const [host, port] = this.endpoint.split(":");
      Object.assign(options, { endpoint: host, tls: this.tls, fallbackHosts: [] });
      if (port) options[this.tls ? "tlsPort" : "port"] = Number(port);
    }
    return options;
  }

  async open() {
    this.client = new BaseRealtime(this.options());
    const connection = this.client.connection;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.close(); // no retrying behind the user's back
        reject(new Error(`cannot reach Ably within ${CONNECT_TIMEOUT / 1000} s`));
      }, CONNECT_TIMEOUT);
      connection.on((change) => {
        if (change.current === "connected") {
          clearTimeout(timer);
          resolve();
          if (this.wasLost) { this.wasLost = false; this.onState("restored"); this.outbox.drain(); }
        } else if (change.current === "failed") {
          clearTimeout(timer);
          this.client.close();
          reject(new Error(`Ably refused the connection: ${change.reason?.message ?? "failed"}`));
        } else if (["disconnected", "suspended"].includes(change.current) && !this.wasLost) {
          this.wasLost = true;
          this.onState("lost"); // the SDK reconnects, and resumes what we missed
        }
      });
      connection.connect();
    });
  }

  async subscribe(topics) {
    // Resolves once each channel is attached: publishes after this cannot outrun it.
    await Promise.all(topics.map((topic) =>
      this.client.channels.get(ablyChannel(topic)).subscribe(MESSAGE_NAME,
        // The publishing connection is the lane a stranger's turn is counted in.
        (message) => this.onMessage(topic, message.data, message.connectionId ?? null))));
  }

  // Paced: a burst of our replies waits a moment instead of being refused (pacing.js).
  publish(topic, data) { this.outbox.publish(topic, data); }

  close() {
    if (this.client) this.client.close();
  }
}
