// Signalling over Ably from the browser: the part of Ably's realtime protocol
// (protocol version 5, JSON) that meshchat needs, with the same interface as the broker
// connection in meshchat.js. Channel names as in mesh/ably_transport.py:
// meshchat/<room>/<channel> -> meshchat:<room>:<channel>, messages named "signal".

import { ablyChannel } from "/frames.js";

const CONNECTED = 4, ERROR = 9, ATTACH = 10, ATTACHED = 11, MESSAGE = 15, DISCONNECTED = 6;
const PUBLISH_RATE = 40, PUBLISH_BURST = 20; // below Ably's 50 per second per connection

export class AblyConnection {
  // auth: { key } or { token }; endpoint: "host[:port]"; tls: wss or ws.
  constructor(endpoint, tls, auth, onMessage, onState) {
    Object.assign(this, { endpoint, tls, auth, onMessage, onState });
    this.topics = [];
    this.iceServers = [];
    this.identity = null;
    this.serial = 0;
    this.connectionKey = null;
    this.closed = false;
    this.tokens = PUBLISH_BURST;
    this.stamp = Date.now();
    this.queue = [];
    this.delay = 500;
  }

  channelOf(topic) { return ablyChannel(topic); }

  async open() {
    const params = new URLSearchParams({ v: "5", format: "json", echo: "false" });
    if (this.auth.key) params.set("key", this.auth.key);
    else params.set("accessToken", this.auth.token);
    if (this.connectionKey) params.set("resume", this.connectionKey);
    const url = `${this.tls ? "wss" : "ws"}://${this.endpoint}/?${params}`;
    this.ws = await new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onerror = () => reject(new Error(`cannot reach Ably at ${this.endpoint}`));
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.action === CONNECTED) {
          this.connectionKey = message.connectionKey;
          resolve(ws);
        } else if (message.action === ERROR) {
          reject(new Error(`Ably refused the connection: ${message.error && message.error.message}`));
        }
      };
    });
    this.ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.ws.onclose = () => this.lost();
    for (const topic of this.topics) this.send({ action: ATTACH, channel: this.channelOf(topic) });
  }

  async subscribe(topics) {
    const attached = topics.map((topic) => new Promise((resolve) => {
      this.waiting = this.waiting || new Map();
      this.waiting.set(this.channelOf(topic), resolve);
    }));
    this.topics.push(...topics);
    for (const topic of topics) this.send({ action: ATTACH, channel: this.channelOf(topic) });
    await Promise.all(attached); // publishes after this cannot outrun the attachments
  }

  publish(topic, data) {
    this.queue.push([topic, data]);
    this.drain();
  }

  drain() {
    if (this.draining) return;
    this.draining = true;
    const step = () => {
      const now = Date.now();
      this.tokens = Math.min(PUBLISH_BURST, this.tokens + ((now - this.stamp) / 1000) * PUBLISH_RATE);
      this.stamp = now;
      while (this.queue.length && this.tokens >= 1 && this.ws.readyState === WebSocket.OPEN) {
        const [topic, data] = this.queue.shift();
        this.tokens -= 1;
        this.send({ action: MESSAGE, channel: this.channelOf(topic), msgSerial: this.serial++,
          messages: [{ name: "signal", data: JSON.stringify(data), encoding: "json" }] });
      }
      if (this.queue.length) setTimeout(step, 1000 / PUBLISH_RATE);
      else this.draining = false;
    };
    step();
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  receive(message) {
    if (message.action === ATTACHED && this.waiting && this.waiting.has(message.channel)) {
      this.waiting.get(message.channel)();
      this.waiting.delete(message.channel);
    } else if (message.action === MESSAGE) {
      const topic = message.channel.replaceAll(":", "/");
      for (const item of message.messages || []) {
        if (item.name !== "signal") continue;
        let data = item.data;
        try {
          if (item.encoding === "json") data = JSON.parse(data);
        } catch { continue; }
        this.onMessage(topic, data);
      }
    } else if (message.action === DISCONNECTED) {
      this.ws.close();
    }
  }

  lost() {
    if (this.closed) return;
    this.onState("lost");
    const retry = async () => {
      try {
        await this.open(); // resumes: Ably replays what we missed
        this.delay = 500;
        this.onState("restored");
        this.drain();
      } catch {
        this.delay = Math.min(this.delay * 2, 15000);
        setTimeout(retry, this.delay);
      }
    };
    setTimeout(retry, this.delay);
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}
