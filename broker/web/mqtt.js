// Signalling over an MQTT broker from the browser (MQTT over websockets), through
// MQTT.js (its ES module build: a pinned, unmodified release file, see
// vendor/manifest.json), with the same interface as the broker connection in
// meshchat.js. The choices are mesh/transports/mqtt.py's: topics under a prefix, QoS 1,
// never retained, clean sessions with our peer id as the client identifier, keepalive
// 5 s, publishes paced at 40 a second.

import mqtt from "/vendor/mqtt/dist/mqtt.esm.js";
import { PacedPublisher } from "/pacing.js";

const QOS = 1;
const TOPIC_ROOT = "meshchat/";
const PUBLISH_RATE = 40, PUBLISH_BURST = 20;
const CONNECT_TIMEOUT = 15000;

export class MqttConnection {
  // url: ws:// or wss://; auth: { username, password } (either may be null); prefix:
  // what the room's topics go under, ending in "/".
  constructor(url, auth, prefix, onMessage, onState) {
    Object.assign(this, { url, auth, prefix: prefix || TOPIC_ROOT, onMessage, onState });
    this.iceServers = []; // MQTT brokers offer none
    this.identity = null; // set by the room: its id is our client identifier
    this.outbox = new PacedPublisher(PUBLISH_RATE, PUBLISH_BURST, (topic, data) =>
      this.client.publish(this.mapped(topic), JSON.stringify(data), { qos: QOS, retain: false }));
    this.wasLost = false;
  }

  mapped(topic) { return this.prefix + topic.slice(TOPIC_ROOT.length); }

  async open() {
    if (!/^wss?:\/\//.test(this.url)) throw new Error(`a page reaches MQTT over websockets: ws:// or wss://, not ${this.url}`);
    this.client = mqtt.connect(this.url, {
      clientId: this.identity?.id, clean: true, keepalive: 5, protocolVersion: 4,
      reconnectPeriod: 1000, connectTimeout: CONNECT_TIMEOUT,
      username: this.auth?.username ?? undefined, password: this.auth?.password ?? undefined,
    });
    await new Promise((resolve, reject) => {
      const failed = (error) => { this.client.end(true); reject(new Error(`MQTT broker at ${this.url}: ${error.message}`)); };
      const timer = setTimeout(() => failed(new Error(`no answer within ${CONNECT_TIMEOUT / 1000} s`)), CONNECT_TIMEOUT);
      this.client.once("connect", () => { clearTimeout(timer); resolve(); });
      this.client.once("error", (error) => { clearTimeout(timer); failed(error); });
    });
    this.client.on("message", (topic, payload) => {
      if (!topic.startsWith(this.prefix)) return;
      let data;
      try { data = JSON.parse(new TextDecoder().decode(payload)); } catch { return; }
      this.onMessage(TOPIC_ROOT + topic.slice(this.prefix.length), data, null);
    });
    this.client.on("close", () => {
      if (!this.wasLost && !this.closing) { this.wasLost = true; this.onState("lost"); }
    });
    this.client.on("connect", () => { // again: MQTT.js reconnects, we subscribe anew
      if (!this.wasLost) return;
      this.wasLost = false;
      this.client.subscribe(this.topics.map((t) => this.mapped(t)), { qos: QOS }, () => this.onState("restored"));
    });
  }

  async subscribe(topics) {
    this.topics = [...(this.topics ?? []), ...topics];
    await this.client.subscribeAsync(topics.map((t) => this.mapped(t)), { qos: QOS });
  }

  // Paced, as ably.js's (pacing.js).
  publish(topic, data) { this.outbox.publish(topic, data); }

  close() {
    this.closing = true;
    this.client?.end();
  }
}
