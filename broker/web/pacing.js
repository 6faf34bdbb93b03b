// Publishes paced under a hosted service's per-connection limit (Ably's, an MQTT
// broker's), in order: a burst of our replies waits a moment instead of being refused.
// `send(topic, data)` publishes one; a token bucket of `rate` a second, `burst` deep.

export class PacedPublisher {
  constructor(rate, burst, send) {
    Object.assign(this, { rate, burst, send });
    this.tokens = burst;
    this.stamp = Date.now();
    this.queue = [];
    this.draining = false;
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
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.stamp) / 1000) * this.rate);
      this.stamp = now;
      while (this.queue.length && this.tokens >= 1) {
        const [topic, data] = this.queue.shift();
        this.tokens -= 1;
        this.send(topic, data);
      }
      if (this.queue.length) setTimeout(step, 1000 / this.rate);
      else this.draining = false;
    };
    step();
  }
}
