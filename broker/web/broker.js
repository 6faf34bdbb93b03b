// The page's end of the bundled broker (or any y-webrtc signalling server): subscribe,
// publish, and come back after a lost connection. The bundled broker first asks us to
// prove we own our topic's key, and offers its ICE servers.

export class BrokerConnection {
  constructor(url, onMessage, onState) {
    this.url = url;
    this.onMessage = onMessage;
    this.onState = onState;
    this.topics = [];
    this.identity = null;
    this.iceServers = [];
    this.delay = 250;
    this.closed = false;
  }

  async open() {
    this.ws = await new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new Error(`cannot reach broker at ${this.url}`));
    });
    // The bundled broker answers with a challenge (to prove we own our topic) and the
    // ICE servers it offers; a y-webrtc server says nothing.
    const challenge = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 800);
      this.ws.onmessage = (event) => {
        const frame = JSON.parse(event.data);
        if (frame.type === "challenge") {
          clearTimeout(timer);
          resolve(frame);
        }
      };
      this.ws.send(JSON.stringify({ type: "challenge" }));
    });
    this.challenge = challenge ? challenge.nonce : null;
    if (challenge && Array.isArray(challenge.iceServers)) this.iceServers = challenge.iceServers;
    this.ws.onmessage = (event) => this.receive(event.data);
    this.ws.onclose = () => this.lost();
    if (this.topics.length) await this.sendSubscribe(this.topics);
  }

  async subscribe(topics) {
    this.topics.push(...topics);
    await this.sendSubscribe(topics);
  }

  async sendSubscribe(topics) {
    const frame = { type: "subscribe", topics };
    if (this.challenge && this.identity) {
      frame.proof = {
        pk: this.identity.publicKey,
        sig: await this.identity.sign(`meshchat-subscribe:${this.challenge}`),
      };
    }
    this.ws.send(JSON.stringify(frame));
  }

  publish(topic, data) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "publish", topic, data }));
    }
  }

  receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    if (frame && frame.type === "publish" && typeof frame.topic === "string") {
      // The broker names the connection each publish came through: the lane a
      // stranger's turn is counted in (signalling.js, Admission).
      const origin = typeof frame.origin === "string" && frame.origin.length <= 64 ? frame.origin : null;
      this.onMessage(frame.topic, frame.data, origin || null);
    }
  }

  lost() {
    if (this.closed) return;
    this.onState("lost");
    const retry = async () => {
      try {
        await this.open();
        this.delay = 250;
        this.onState("restored");
      } catch {
        this.delay = Math.min(this.delay * 2, 10000);
        setTimeout(retry, this.delay * (0.5 + Math.random()));
      }
    };
    setTimeout(retry, this.delay * (0.5 + Math.random()));
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}
