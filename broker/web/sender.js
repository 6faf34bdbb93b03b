// How the page's payloads leave (mesh/payload_sender.py): a sender waits while too much
// is still to go out, and a payload for members we are not all linked to goes through
// the partial mesh, whole in one envelope if it fits, else in parts at our links' pace.

import { PART_RATE, RELAY_HIGH_WATER, SEND_BACKLOG } from "./constants.js";
import { randomMessageId } from "./dataplane.js";
import { MAX_FRAME_CHARS } from "./frames.js";
import { b64url } from "./keys.js";
import { checkChannelName, encodeBody } from "./payloads.js";
import { partBody, partBytes, partCount } from "./parts.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class PayloadSender {
  // `backlog()`: payload bytes still to go out; `overlay`: the partial mesh (crowd.js);
  // `backedUp()`: whether a link's channel holds more than RELAY_HIGH_WATER unsent;
  // `left()`: whether the room was left; `sealFor(channel, id, to)`: a payload to chosen
  // members sealed to their keys (private.js's sealPayload), so relays cannot read it.
  constructor({ backlog, overlay, backedUp, left, sealFor }) {
    Object.assign(this, { backlog, overlay, backedUp, left, sealFor });
    this.waiting = []; // senders waiting for the backlog to go down
    this.relaying = Promise.resolve(); // one relayed payload of ours at a time
    this.nextPartAt = 0;
  }

  // Resolves once a payload may be sent.
  async turn() {
    while (this.backlog() > SEND_BACKLOG && !this.left()) {
      await new Promise((resolve) => this.waiting.push(resolve));
    }
  }

  // The backlog changed (or the room was left): wake the senders that may go.
  changed() {
    if (this.waiting.length && (this.left() || this.backlog() <= SEND_BACKLOG)) {
      for (const wake of this.waiting.splice(0)) wake();
    }
  }

  // Whether a payload for `to` (null: everyone) must be relayed, not sent on links.
  mustRelay(to) {
    const linked = to !== null && to.length && to.every((id) => this.overlay.gossip.links.has(id));
    return this.overlay.partial && !linked;
  }

  // A payload to the room, or to members not all linked to us, through the partial mesh.
  async relay(channel, data, to) {
    checkChannelName(channel);
    const absent = (to ?? []).filter((id) => !this.overlay.members.has(id));
    if (absent.length) throw new Error(`not in the room: ${absent.join(", ")}`);
    const [kind, bytes] = encodeBody(data);
    const id = randomMessageId(), ts = Date.now();
    const chosen = to === null ? [] : [...new Set(to)].sort();
    const sealing = chosen.length ? await this.sealFor(channel, id, chosen) : null;
    const sending = () => ({ id, sending: [...this.overlay.gossip.links].sort() });
    const room = MAX_FRAME_CHARS - 8192; // what the envelope's other fields leave
    if (kind === "json" && (sealing ? Math.ceil(((bytes.length + 16) * 4) / 3) : bytes.length) <= room) {
      const body = sealing
        ? { type: "data", channel, id, ts, seal: sealing.seal, sealed: b64url(await sealing.encrypt(0, bytes)) }
        : { type: "data", channel, id, ts, value: data };
      await this.overlay.publish(body, chosen);
      return sending();
    }
    const before = this.relaying;
    let done;
    this.relaying = new Promise((resolve) => { done = resolve; });
    await before;
    try {
      const size = partBytes(sealing !== null);
      for (let i = 0; i < partCount(bytes.length, sealing !== null); i++) {
        await this.roomForAPart();
        let part = bytes.subarray(i * size, (i + 1) * size);
        if (sealing) part = await sealing.encrypt(i, part);
        await this.overlay.publish(partBody(channel, id, ts, kind, bytes.length, i, sealing?.seal ?? ""), chosen, part);
      }
    } finally { done(); }
    return sending();
  }

  // Wait for our turn to relay a part: PART_RATE a second, and no link backed up.
  async roomForAPart() {
    const wait = this.nextPartAt - performance.now();
    if (wait > 0) await sleep(wait);
    this.nextPartAt = Math.max(performance.now(), this.nextPartAt) + 1000 / PART_RATE;
    while (this.backedUp(RELAY_HIGH_WATER) && !this.left()) await sleep(20);
    if (this.left()) throw new Error("the room was left");
  }
}
