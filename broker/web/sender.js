// How the page's payloads leave (mesh/payload_sender.py): a sender waits while too much
// is still to go out, and a payload for members we are not all linked to goes through
// the partial mesh, whole in one envelope if it fits, else in parts at our links' pace.

import { PART_RATE, RELAY_HIGH_WATER, SEND_BACKLOG } from "./constants.js";
import { randomMessageId } from "./dataplane.js";
import { MAX_FRAME_CHARS } from "./frames.js";
import { checkChannelName, encodeBody } from "./payloads.js";
import { PART_BYTES, partBody, partCount } from "./parts.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class PayloadSender {
  // `backlog()`: payload bytes still to go out; `overlay`: the partial mesh (crowd.js);
  // `backedUp()`: whether a link's channel holds more than RELAY_HIGH_WATER unsent;
  // `left()`: whether the room was left.
  constructor({ backlog, overlay, backedUp, left }) {
    Object.assign(this, { backlog, overlay, backedUp, left });
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
    const sending = () => ({ id, sending: [...this.overlay.gossip.links].sort() });
    if (kind === "json" && bytes.length <= MAX_FRAME_CHARS - 8192) { // envelope fields fit
      await this.overlay.publish({ type: "data", channel, id, ts, value: data }, to ?? []);
      return sending();
    }
    const before = this.relaying;
    let done;
    this.relaying = new Promise((resolve) => { done = resolve; });
    await before;
    try {
      for (let i = 0; i < partCount(bytes.length); i++) {
        await this.roomForAPart();
        const part = bytes.subarray(i * PART_BYTES, (i + 1) * PART_BYTES);
        await this.overlay.publish(partBody(channel, id, ts, kind, bytes.length, i), to ?? [], part);
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
