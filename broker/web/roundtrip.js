// Round-trip times to each peer, measured by the heartbeats themselves: the twin of
// mesh/link/round_trip.py (the reasoning is there), held to it by the shared traces.
import { encodeHeartbeat } from "./frames.js";

const SMOOTHING = 0.125, MAX_SAMPLE = 60.0;

export const clockMs = (now) => Math.max(0, Math.floor(now * 1000));

export class RoundTrips {
  constructor() {
    this.pings = new Map(); // peer -> [its last ping, when we had it]
    this.smoothed = new Map();
  }

  heartbeatFor(peer, now) {
    const had = this.pings.get(peer);
    this.pings.delete(peer);
    return encodeHeartbeat(clockMs(now), had ? [had[0], clockMs(now - had[1])] : null);
  }

  received(peer, heartbeat, now) {
    if (heartbeat.ping !== undefined) this.pings.set(peer, [heartbeat.ping, now]);
    if (heartbeat.pong === undefined) return;
    const [sentMs, heldMs] = heartbeat.pong;
    const sample = (clockMs(now) - sentMs - heldMs) / 1000;
    if (!(sample >= 0 && sample <= MAX_SAMPLE)) return;
    const previous = this.smoothed.get(peer);
    this.smoothed.set(peer, previous === undefined ? sample : previous + SMOOTHING * (sample - previous));
  }

  of(peer) { return this.smoothed.get(peer) ?? null; }

  forget(peer) {
    this.pings.delete(peer);
    this.smoothed.delete(peer);
  }
}
