// Everything said on data channels, as an I/O-free core: the page's twin of
// mesh/link/dataplane.py, method for method and action for action (the shared traces in
// tests/vectors/ hold the two together). Inputs are method calls with the time as `now`
// (seconds); each returns the actions the page must carry out, in order:
//
//   {type: "SendFrame", peer, frame}        text (string) or binary (Uint8Array)
//   {type: "Pump", peer}                    payload frames wait: call pump(peer, buffered)
//   {type: "FlushAcksAt", when}             call flush() then
//   {type: "MessageReceived", message}      a chat line {id, seq, from, ts, text, to?}
//   {type: "MessageUndelivered", id, peer, reason}
//   {type: "PayloadReceived", header, value | body}
//   {type: "PayloadUndelivered", header, peer, reason}
//   {type: "TransferProgress", channel, id, peer, sending, done, total}
//   {type: "PeerSaidBye", peer} | {type: "PeerSilent", peer, silence} | {type: "WeStalled", seconds} |
//   {type: "PeerMisbehaved", peer, reason} |
//   {type: "DropPeer", peer, reason}
//
// Signing and verifying are passed in (they need the keys); both are async, as
// WebCrypto is, so the methods that use them are too.

import { PhiAccrualDetector } from "./liveness.js";
import { RoundTrips } from "./roundtrip.js";
import { asRanges, decodeChannelFrame, chatSignedContent, MAX_TEXT_BYTES, withAcks } from "./frames.js";
import { encodePrivate, keysFor, openLine, privateSignedContent, sealLine } from "./private.js";
import {
  CHAT_CHANNEL, MAX_PAYLOAD_BYTES, checkChannelName, checkJsonSize, chunkFrame, decodeBinaryFrame,
  decodeJsonBody, encodeBody, encodeHeader, payloadSignedContent, startFrame,
} from "./payloads.js";

export const ACK_DELAY = 0.5; // as link/dataplane.py: acks wait this long to ride on a frame
export const TICK_INTERVAL = 0.25; // tick() is called at least this often
const STALL_GAP = 2 * TICK_INTERVAL; // a longer gap: our own process stood still
export const CHAT_RATE = 50, CHAT_BURST = 200, PAYLOAD_RATE = 200, PAYLOAD_BURST = 400;
export const HIGH_WATER = 1024 * 1024, LOW_WATER = 256 * 1024;
export const PROGRESS_INTERVAL = 0.25;
export const MAX_INCOMING_PER_PEER = 2 * MAX_PAYLOAD_BYTES;
export const MAX_INCOMING_PAYLOADS_PER_PEER = 16;
export const MAX_SENDING_AT_ONCE = MAX_INCOMING_PAYLOADS_PER_PEER / 2;
// Bytes of half-received payloads held for everyone together, by what has arrived.
export const MAX_INCOMING_TOTAL = 8 * MAX_PAYLOAD_BYTES;
// Every STALL_WINDOW seconds a half-received payload must have gained at least
// MIN_PAYLOAD_RATE bytes a second, or it is dropped and its sender shunned.
export const STALL_WINDOW = 30, MIN_PAYLOAD_RATE = 4 * 1024;
const RECENT_CAPACITY = 4096;
const BYE_FRAME = '{"type":"bye"}', ACK_FRAME = '{"type":"ack"}';
const encoder = new TextEncoder();

export function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function randomMessageId() {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}

async function sha256(chunks) {
  const whole = chunks.length === 1 ? chunks[0] : concat(chunks);
  return hex(await crypto.subtle.digest("SHA-256", whole));
}

function concat(chunks) {
  const whole = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) { whole.set(chunk, at); at += chunk.length; }
  return whole;
}

export class TokenBucket {
  constructor(rate, burst, now) { Object.assign(this, { rate, burst, tokens: burst, stamp: now }); }
  take(now, cost = 1) {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.stamp) * this.rate);
    this.stamp = now;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}

// Delivery accounting (mesh/link/delivery.py): every message reaches each peer, or is reported.
class DeliveryTracker {
  constructor(ackTimeout, reconnectGrace) {
    Object.assign(this, { ackTimeout, reconnectGrace, pending: new Map(), awaySince: new Map() });
  }
  awayPeers() { return [...this.awaySince.keys()]; }
  sent(message, peers, now) {
    for (const peer of peers) {
      if (!this.pending.has(peer)) this.pending.set(peer, new Map());
      this.pending.get(peer).set(message.id, [message, now]);
    }
  }
  // What of ours ``peer`` now has, of what it had not acknowledged.
  acked(peer, ranges) {
    const pending = this.pending.get(peer);
    if (!pending || !ranges.length) return [];
    const settled = [];
    for (const [id, [message]] of [...pending]) {
      if (ranges.some(([first, last]) => first <= message.seq && message.seq <= last)) {
        pending.delete(id);
        settled.push(message);
      }
    }
    return settled;
  }
  touch(peer, id, now) {
    const pending = this.pending.get(peer);
    if (pending && pending.has(id)) pending.set(id, [pending.get(id)[0], now]);
  }
  pendingAnywhere(id) { return [...this.pending.values()].some((p) => p.has(id)); }
  peerLost(peer, now) { if (!this.awaySince.has(peer)) this.awaySince.set(peer, now); }
  peerBack(peer, now) {
    this.awaySince.delete(peer);
    const pending = this.pending.get(peer) || new Map();
    for (const [id, [message]] of pending) pending.set(id, [message, now]);
    return [...pending.values()].map(([message]) => message);
  }
  peerGone(peer, reason) {
    this.awaySince.delete(peer);
    const pending = this.pending.get(peer) || new Map();
    this.pending.delete(peer);
    return [...pending.values()].map(([message]) => ({ message, peer, reason }));
  }
  tick(now) {
    let lost = [];
    for (const [peer, since] of [...this.awaySince]) {
      if (now - since > this.reconnectGrace) lost = lost.concat(this.peerGone(peer, "the peer did not come back"));
    }
    for (const [peer, pending] of this.pending) {
      if (this.awaySince.has(peer)) continue;
      for (const [id, [message, sentAt]] of [...pending]) {
        if (now - sentAt > this.ackTimeout) {
          pending.delete(id);
          lost.push({ message, peer, reason: "not acknowledged" });
        }
      }
    }
    return lost;
  }
}

// Payloads waiting to go out, per peer, taking turns (mesh/link/in_flight.py's Outbox).
class Outbox {
  // Per peer: `sending` (started, taking turns; at most MAX_SENDING_AT_ONCE) and
  // `waiting` (not started yet).
  constructor() { this.queues = new Map(); }
  add(peer, header, encoded, body) {
    if (!this.queues.has(peer)) this.queues.set(peer, { sending: [], waiting: [] });
    this.queues.get(peer).waiting.push({ header, encoded, body, offset: 0, started: false, reportedAt: -Infinity });
  }
  backlog() {
    let total = 0;
    for (const { sending, waiting } of this.queues.values()) {
      for (const s of [...sending, ...waiting]) total += s.header.size - s.offset;
    }
    return total;
  }
  waiting(peer) { return this.queues.has(peer); }
  cancel(peer, id = null) {
    const queue = this.queues.get(peer);
    if (!queue) return;
    if (id === null) { this.queues.delete(peer); return; }
    queue.sending = queue.sending.filter((s) => s.header.id !== id);
    queue.waiting = queue.waiting.filter((s) => s.header.id !== id);
    if (!queue.sending.length && !queue.waiting.length) this.queues.delete(peer);
  }
  frames(peer, buffered, now) {
    const queue = this.queues.get(peer);
    const frames = [], progress = [], finished = [];
    while (queue && buffered < HIGH_WATER) {
      while (queue.sending.length < MAX_SENDING_AT_ONCE && queue.waiting.length) {
        queue.sending.push(queue.waiting.shift());
      }
      if (!queue.sending.length) break;
      const sending = queue.sending.shift();
      let frame, taken;
      if (!sending.started) {
        sending.started = true;
        [frame, taken] = startFrame(sending.encoded, sending.body);
      } else {
        [frame, taken] = chunkFrame(sending.header.id, sending.offset, sending.body);
      }
      sending.offset += taken;
      frames.push(frame);
      buffered += frame.length;
      const done = sending.offset >= sending.header.size;
      if (done || now - sending.reportedAt >= PROGRESS_INTERVAL) {
        sending.reportedAt = now;
        if (sending.header.size > frame.length) progress.push({ header: sending.header, peer, done: sending.offset });
      }
      if (done) finished.push(sending.header);
      else queue.sending.push(sending);
    }
    if (queue && !queue.sending.length && !queue.waiting.length) this.queues.delete(peer);
    return [frames, progress, finished];
  }
}

// Payloads being received (Inbox in link/in_flight.py): declared sizes count against the
// sender's own limits; everyone's budget counts only what has arrived, and past it the
// peer holding the most gives up its largest payload first.
class Inbox {
  constructor() { Object.assign(this, { byPeer: new Map(), declared: new Map(), held: new Map(), total: 0 }); }
  start(peer, header, now, keep) {
    if (!this.byPeer.has(peer)) this.byPeer.set(peer, new Map());
    const mine = this.byPeer.get(peer);
    if (mine.has(header.id)) throw new Error("a payload started twice");
    if (mine.size >= MAX_INCOMING_PAYLOADS_PER_PEER) {
      throw new Error(`more than ${MAX_INCOMING_PAYLOADS_PER_PEER} payloads at once`);
    }
    const declared = (this.declared.get(peer) || 0) + header.size;
    if (declared > MAX_INCOMING_PER_PEER) {
      throw new Error(`${declared} bytes of payloads at once; the limit is ${MAX_INCOMING_PER_PEER}`);
    }
    this.declared.set(peer, declared);
    const incoming = { header, chunks: keep ? [] : null, refused: false, received: 0,
      windowFrom: now, windowBytes: 0, reportedAt: -Infinity };
    mine.set(header.id, incoming);
    return incoming;
  }
  static heldBy(incoming) { return incoming.chunks ? incoming.received : 0; }
  // Room for `size` more bytes of `incoming`; returns the payloads given up for it.
  take(peer, incoming, size) {
    if (!incoming.chunks) return [];
    const givenUp = [];
    while (this.total + size > MAX_INCOMING_TOTAL) {
      let richest = [...this.held].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
      let victim;
      if (richest === peer || this.held.get(richest) <= (this.held.get(peer) || 0) + size) {
        richest = peer; victim = incoming;
      } else {
        victim = [...this.byPeer.get(richest).values()].reduce((a, b) => (Inbox.heldBy(b) > Inbox.heldBy(a) ? b : a));
      }
      this.release(richest, victim);
      Object.assign(victim, { chunks: null, refused: true });
      givenUp.push(victim);
      if (victim === incoming) return givenUp;
    }
    this.held.set(peer, (this.held.get(peer) || 0) + size);
    this.total += size;
    return givenUp;
  }
  release(peer, incoming) {
    const held = Inbox.heldBy(incoming);
    if (!held) return;
    this.total -= held;
    const left = this.held.get(peer) - held;
    if (left) this.held.set(peer, left); else this.held.delete(peer);
  }
  get(peer, id) { return this.byPeer.get(peer)?.get(id) || null; }
  finish(peer, incoming) {
    const mine = this.byPeer.get(peer);
    if (!mine || !mine.delete(incoming.header.id)) return;
    this.release(peer, incoming);
    incoming.chunks = null;
    this.declared.set(peer, this.declared.get(peer) - incoming.header.size);
    if (!mine.size) { this.byPeer.delete(peer); this.declared.delete(peer); }
  }
  abandon(peer) {
    for (const incoming of [...(this.byPeer.get(peer)?.values() || [])]) this.finish(peer, incoming);
  }
  // Our own page stood still: the windows under way start again from now.
  forgive(now) {
    for (const mine of this.byPeer.values()) {
      for (const incoming of mine.values()) Object.assign(incoming, { windowFrom: now, windowBytes: 0 });
    }
  }
  // Payloads that gained less than MIN_PAYLOAD_RATE over the window that just ended.
  stalled(now) {
    const slow = [];
    for (const [peer, mine] of this.byPeer) {
      for (const incoming of mine.values()) {
        if (now - incoming.windowFrom < STALL_WINDOW) continue;
        if (incoming.windowBytes < MIN_PAYLOAD_RATE * STALL_WINDOW) slow.push([peer, incoming, incoming.windowBytes]);
        Object.assign(incoming, { windowFrom: now, windowBytes: 0 });
      }
    }
    return slow;
  }
}

export class DataPlane {
  // sign(bytes) -> Promise<base64url signature>; verify(author, signature, bytes) ->
  // Promise<boolean>, by the key the author proved in signalling.
  // wanted(channel) says whether anyone reads a channel: payloads on others are
  // acknowledged and dropped unread, their bytes neither kept nor parsed.
  // sealKey ({privateKey, publicKey}) opens private lines sealed to us; sealKeyOf(peer)
  // is the X25519 key (raw) a peer announced in signalling, to seal ours to it.
  constructor({ clientId, nick, room, sign, verify, newId = randomMessageId,
    heartbeatInterval = 1.0, ackTimeout = 15.0, reconnectGrace = 30.0, wanted = () => true,
    sealKey = null, sealKeyOf = () => null }) {
    Object.assign(this, { clientId, nick, room, sign, verify, newId, heartbeatInterval, wanted,
      sealKey, sealKeyOf });
    this.privateFrames = new Map(); // private line id -> its sealed frame, until acknowledged
    this.forged = 0; // messages dropped because their author's signature did not verify
    this.open = new Set();
    this.recent = new Map(); // "sender id" -> true, oldest first
    this.delivery = new DeliveryTracker(ackTimeout, reconnectGrace);
    this.nextHeartbeat = 0; // on a steady clock, busy or not: the peers' detectors learn it
    this.liveness = new Map(); // peer -> PhiAccrualDetector (liveness.js)
    this.roundTrips = new RoundTrips(); // measured by those heartbeats
    this.lastTick = null;
    this.seq = 0;
    this.acksDue = new Map();
    this.flushAt = null;
    this.inbound = new Map();
    this.inboundPayloads = new Map();
    this.outbox = new Outbox();
    this.inbox = new Inbox();
    this.bodies = new Map(); // payload id -> [encoded header, body], until all acknowledged
  }

  // -- channels --

  opened(peer, now) {
    this.open.add(peer);
    this.liveness.set(peer, new PhiAccrualDetector(now, this.heartbeatInterval));
    const actions = [];
    for (const message of this.delivery.peerBack(peer, now)) {
      if (message.type === "chat") {
        actions.push(this.frameTo(peer, this.privateFrames.get(message.id) ?? encodeChat(message)));
      }
      else if (this.bodies.has(message.id)) this.outbox.add(peer, message, ...this.bodies.get(message.id));
    }
    if (this.outbox.waiting(peer)) actions.push({ type: "Pump", peer });
    return actions;
  }

  closed(peer, now, saidBye) {
    this.open.delete(peer);
    this.liveness.delete(peer);
    this.roundTrips.forget(peer);
    this.inbound.delete(peer);
    this.inboundPayloads.delete(peer);
    this.acksDue.delete(peer);
    this.inbox.abandon(peer);
    this.outbox.cancel(peer);
    if (saidBye) return this.report(this.delivery.peerGone(peer, "the peer left"));
    this.delivery.peerLost(peer, now);
    return [];
  }

  // -- frames in --

  async receive(peer, frame, now) {
    const detector = this.liveness.get(peer);
    if (typeof frame !== "string") {
      detector?.alive(now);
      return this.receiveBinary(peer, frame, now);
    }
    let message;
    try { message = decodeChannelFrame(frame); } catch (error) {
      return [{ type: "PeerMisbehaved", peer, reason: error.message }];
    }
    if (message.type === "heartbeat") {
      detector?.heartbeat(now);
      this.roundTrips.received(peer, message, now);
    } else detector?.alive(now);
    const delivered = this.delivery.acked(peer, message.acks)
      .filter((settled) => settled.type !== "chat")
      .map((header) => ({ type: "PayloadDelivered", header, peer }));
    if ((this.bodies.size || this.privateFrames.size) && message.acks.length) this.releaseBodies();
    // Reported before what the frame itself brings.
    return [...delivered, ...(await this.receiveMessage(peer, message, now))];
  }

  async receiveMessage(peer, message, now) {
    if (message.type === "heartbeat" || message.type === "ack") return [];
    if (message.type === "bye") return [{ type: "PeerSaidBye", peer }];
    if (message.from !== peer) {
      return [{ type: "PeerMisbehaved", peer, reason: `message claiming to be ${message.from}` }];
    }
    if (!this.budget(this.inbound, peer, CHAT_RATE, CHAT_BURST, now)) {
      return [{ type: "PeerMisbehaved", peer, reason: `more than ${CHAT_RATE} messages a second` }];
    }
    if (message.to) return this.receivePrivate(peer, message, now);
    if (!(await this.verify(message.from, message.sig, encoder.encode(chatSignedContent(this.room, message))))) {
      this.forged += 1;
      return [{ type: "PeerMisbehaved", peer, reason: "a message whose signature does not verify" }];
    }
    const actions = this.ackLater(peer, message.seq, now);
    if (!this.seen(peer, message.id)) {
      const { id, seq, from, ts, text } = message;
      actions.push({ type: "MessageReceived", message: { id, seq, from, ts, text } });
    }
    return actions;
  }

  // A private line over a link (link/dataplane.py's _receive_private): signed, for us,
  // and it opens; else the peer misbehaved, and it is not acknowledged.
  async receivePrivate(peer, line, now) {
    if (!(await this.verify(line.from, line.sig, encoder.encode(privateSignedContent(this.room, line))))) {
      this.forged += 1;
      return [{ type: "PeerMisbehaved", peer, reason: "a private line whose signature does not verify" }];
    }
    let text;
    try { text = await openLine(line, this.room, this.clientId, this.sealKey); } catch (error) {
      return [{ type: "PeerMisbehaved", peer, reason: `a private line that does not open: ${error.message}` }];
    }
    const actions = this.ackLater(peer, line.seq, now);
    if (!this.seen(peer, line.id)) {
      const { id, seq, from, ts, to } = line;
      actions.push({ type: "MessageReceived", message: { id, seq, from, ts, text, to } });
    }
    return actions;
  }

  // -- frames out --

  // A chat line of ours, numbered and signed, sent nowhere yet (a partial mesh relays it).
  async newChat(text, ts) {
    if (encoder.encode(text).length > MAX_TEXT_BYTES) {
      throw new Error(`message is too long; the limit is ${MAX_TEXT_BYTES} bytes of UTF-8 text`);
    }
    const message = { type: "chat", id: this.newId(), seq: this.seq + 1, from: this.clientId,
      nick: this.nick, ts, text };
    this.seq += 1;
    message.sig = await this.sign(encoder.encode(chatSignedContent(this.room, message)));
    return message;
  }

  async sendChat(text, now, ts) {
    const message = await this.newChat(text, ts);
    const frame = encodeChat(message);
    const delivered = [...this.open].sort();
    const queued = this.delivery.awayPeers().filter((p) => !this.open.has(p));
    this.delivery.sent(message, [...delivered, ...queued], now);
    return [{ message, delivered, queued }, delivered.map((peer) => this.frameTo(peer, frame))];
  }

  // A private line of ours to `to` (ids), sealed to their keys and signed, sent nowhere
  // yet (a partial mesh relays it): [the chat line it holds, the line as it travels].
  async newPrivate(text, to, ts) {
    const chosen = [...new Set(to)].sort();
    if (!chosen.length) throw new Error("no recipients given");
    if (chosen.includes(this.clientId)) throw new Error("a private line goes to others, not to ourselves");
    const keys = keysFor(chosen, this.sealKeyOf);
    if (encoder.encode(text).length > MAX_TEXT_BYTES) {
      throw new Error(`message is too long; the limit is ${MAX_TEXT_BYTES} bytes of UTF-8 text`);
    }
    const message = { type: "chat", id: this.newId(), seq: this.seq + 1, from: this.clientId,
      nick: this.nick, ts, text, to: chosen };
    this.seq += 1;
    const line = await sealLine(message, chosen, keys, this.room, this.sign);
    message.sig = line.sig;
    return [message, line];
  }

  // A private line to the peers `to` over their links (kept for those away).
  async sendPrivate(text, to, now, ts) {
    const present = new Set([...this.open, ...this.delivery.awayPeers(), this.clientId]);
    const absent = [...new Set(to)].filter((p) => !present.has(p));
    if (absent.length) throw new Error(`not in the room: ${absent.join(", ")}`);
    const [message, line] = await this.newPrivate(text, to, ts);
    const frame = encodePrivate(line);
    this.privateFrames.set(message.id, frame);
    const delivered = message.to.filter((p) => this.open.has(p));
    const queued = message.to.filter((p) => !this.open.has(p));
    this.delivery.sent(message, message.to, now);
    return [{ message, delivered, queued }, delivered.map((peer) => this.frameTo(peer, frame))];
  }

  // A JSON value or bytes on `channel`, to everyone or to the peers `to`.
  async sendPayload(channel, data, now, ts, to = null) {
    checkChannelName(channel);
    if (channel === CHAT_CHANNEL) throw new Error("the chat channel carries text: use sendChat");
    const [kind, body] = encodeBody(data);
    if (kind === "json") checkJsonSize(channel, body.length);
    const present = new Set([...this.open, ...this.delivery.awayPeers()]);
    let chosen = [];
    if (to !== null) {
      chosen = [...new Set(to)].sort();
      if (!chosen.length) throw new Error("no recipients given");
      const absent = chosen.filter((p) => !present.has(p));
      if (absent.length) throw new Error(`not in the room: ${absent.join(", ")}`);
    }
    const digest = await sha256([body]);
    this.seq += 1;
    const header = { id: this.newId(), sender: this.clientId, channel, seq: this.seq, ts, kind,
      size: body.length, sha256: digest, to: chosen, nick: this.nick };
    header.sig = await this.sign(encoder.encode(payloadSignedContent(this.room, header)));
    const recipients = chosen.length ? chosen : [...present].sort();
    const sending = recipients.filter((p) => this.open.has(p));
    const queued = recipients.filter((p) => !this.open.has(p));
    const kept = [encodeHeader(header), body];
    if (recipients.length) {
      this.bodies.set(header.id, kept);
      this.delivery.sent(header, recipients, now);
    }
    for (const peer of sending) this.outbox.add(peer, header, ...kept);
    return [{ header, sending, queued }, sending.map((peer) => ({ type: "Pump", peer }))];
  }

  backlog() { return this.outbox.backlog(); }

  pump(peer, buffered, now) {
    if (!this.open.has(peer)) return [];
    const [frames, progress, finished] = this.outbox.frames(peer, buffered, now);
    const actions = frames.map((frame) => ({ type: "SendFrame", peer, frame }));
    for (const report of progress) actions.push(progressAction(report, true));
    for (const report of progress) this.delivery.touch(peer, report.header.id, now);
    for (const header of finished) this.delivery.touch(peer, header.id, now);
    return actions;
  }

  leave() {
    return [...this.open].sort().map((peer) => this.frameTo(peer, BYE_FRAME));
  }

  flush(now) {
    this.flushAt = null;
    const peers = [...this.acksDue.keys()].sort().filter((p) => this.open.has(p));
    return peers.map((peer) => this.frameTo(peer, ACK_FRAME));
  }

  // Call at least every TICK_INTERVAL seconds, and at nextWakeup().
  tick(now) {
    const actions = [];
    if (this.lastTick !== null && now - this.lastTick > STALL_GAP) {
      // Our own page stood still (a background tab): that time is not the peers'.
      for (const detector of this.liveness.values()) detector.overlook(now - this.lastTick - TICK_INTERVAL);
      this.inbox.forgive(now);
      actions.push({ type: "WeStalled", seconds: now - this.lastTick });
    }
    this.lastTick = now;
    actions.push(...this.report(this.delivery.tick(now)));
    const slow = new Map();
    for (const [peer, incoming, gained] of this.inbox.stalled(now)) {
      this.inbox.finish(peer, incoming);
      if (!slow.has(peer)) slow.set(peer, gained);
    }
    for (const [peer, gained] of [...slow].sort(([a], [b]) => (a < b ? -1 : 1))) {
      actions.push({ type: "DropPeer", peer,
        reason: `a payload gained ${gained} bytes in ${STALL_WINDOW} s (at least ${MIN_PAYLOAD_RATE} a second are due)` });
    }
    if (this.flushAt !== null && now >= this.flushAt) actions.push(...this.flush(now));
    if (now >= this.nextHeartbeat) {
      this.nextHeartbeat += this.heartbeatInterval;
      if (this.nextHeartbeat <= now) this.nextHeartbeat = now + this.heartbeatInterval;
      for (const peer of [...this.open].sort()) actions.push(this.frameTo(peer, this.roundTrips.heartbeatFor(peer, now)));
    }
    for (const [peer, detector] of [...this.liveness].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (detector.suspected(now)) {
        this.liveness.delete(peer); // reported once; a new channel starts afresh
        actions.push({ type: "PeerSilent", peer, silence: Math.round(detector.silence(now) * 1000) / 1000 });
      }
    }
    return actions;
  }

  // The smoothed round-trip time to peer in seconds, or null before it is measured.
  roundTrip(peer) { return this.roundTrips.of(peer); }

  // When tick() next has something to do at the latest (as link/dataplane.py).
  nextWakeup() {
    const deadlines = [...this.liveness.values()].map((d) => d.deadline());
    if (this.flushAt !== null) deadlines.push(this.flushAt);
    return Math.min(this.nextHeartbeat, ...deadlines);
  }

  // -- payloads in --

  async receiveBinary(peer, frame, now) {
    let parsed;
    try { parsed = decodeBinaryFrame(frame); } catch (error) {
      return [{ type: "PeerMisbehaved", peer, reason: error.message }];
    }
    if (parsed.start) return this.payloadStarted(peer, parsed.start, parsed.data, now);
    const incoming = this.inbox.get(peer, parsed.chunk);
    if (!incoming) return [{ type: "PeerMisbehaved", peer, reason: "a chunk of a payload that never started" }];
    if (parsed.offset !== incoming.received) {
      this.inbox.finish(peer, incoming);
      return [{ type: "PeerMisbehaved", peer, reason: "a payload's chunks out of order" }];
    }
    return this.payloadBytes(peer, incoming, parsed.data, now, false);
  }

  async payloadStarted(peer, header, data, now) {
    if (header.sender !== peer) {
      return [{ type: "PeerMisbehaved", peer, reason: `a payload claiming to be from ${header.sender}` }];
    }
    if (header.to.length && !header.to.includes(this.clientId)) {
      return [{ type: "PeerMisbehaved", peer, reason: "a payload addressed to other peers" }];
    }
    if (header.kind === "json") {
      try { checkJsonSize(header.channel, header.size); } catch (error) {
        return [{ type: "DropPeer", peer, reason: `it sent ${error.message}` }];
      }
    }
    if (!this.budget(this.inboundPayloads, peer, PAYLOAD_RATE, PAYLOAD_BURST, now)) {
      return [{ type: "PeerMisbehaved", peer, reason: `more than ${PAYLOAD_RATE} payloads a second` }];
    }
    const content = encoder.encode(payloadSignedContent(this.room, header));
    if (!(await this.verify(header.sender, header.sig, content))) {
      this.forged += 1;
      return [{ type: "PeerMisbehaved", peer, reason: "a payload whose signature does not verify" }];
    }
    const keep = !this.recent.has(`${peer} ${header.id}`) && this.wanted(header.channel);
    let incoming;
    try { incoming = this.inbox.start(peer, header, now, keep); } catch (error) {
      return [{ type: "DropPeer", peer, reason: `it sent ${error.message}` }];
    }
    return this.payloadBytes(peer, incoming, data, now, true);
  }

  async payloadBytes(peer, incoming, data, now, first) {
    const header = incoming.header;
    if (incoming.received + data.length > header.size) {
      this.inbox.finish(peer, incoming);
      return [{ type: "PeerMisbehaved", peer, reason: "a payload longer than its declared size" }];
    }
    this.inbox.take(peer, incoming, data.length); // may refuse it, or another's
    incoming.received += data.length;
    incoming.windowBytes += data.length;
    if (incoming.chunks) incoming.chunks.push(data.slice()); // a copy: the frame's buffer is reused
    const done = incoming.received === header.size;
    const actions = [];
    if (!(first && done) && (done || now - incoming.reportedAt >= PROGRESS_INTERVAL)) {
      incoming.reportedAt = now;
      actions.push(progressAction({ header, peer, done: incoming.received }, false));
    }
    if (done) actions.push(...(await this.payloadComplete(peer, incoming, now)));
    return actions;
  }

  async payloadComplete(peer, incoming, now) {
    const chunks = incoming.chunks;
    this.inbox.finish(peer, incoming);
    const header = incoming.header;
    if (incoming.refused) return [];
    if (!chunks) return this.ackLater(peer, header.seq, now); // a duplicate, or unread
    const body = concat(chunks);
    if ((await sha256([body])) !== header.sha256) {
      this.forged += 1;
      return [{ type: "PeerMisbehaved", peer, reason: "a payload whose bytes do not match its signed digest" }];
    }
    const actions = this.ackLater(peer, header.seq, now);
    if (this.seen(peer, header.id)) return actions;
    if (header.kind === "bytes") return [...actions, { type: "PayloadReceived", header, body }];
    let value;
    try { value = decodeJsonBody(body); } catch (error) {
      return [...actions, { type: "PeerMisbehaved", peer, reason: error.message }];
    }
    return [...actions, { type: "PayloadReceived", header, value }];
  }

  // -- helpers --

  budget(buckets, peer, rate, burst, now) {
    if (!buckets.has(peer)) buckets.set(peer, new TokenBucket(rate, burst, now));
    return buckets.get(peer).take(now);
  }

  // Whether `sender` sent `id` before; records it either way (RecentIds in link/chat_frames.py).
  seen(sender, id) {
    const key = `${sender} ${id}`;
    if (this.recent.has(key)) {
      this.recent.delete(key);
      this.recent.set(key, true);
      return true;
    }
    this.recent.set(key, true);
    if (this.recent.size > RECENT_CAPACITY) this.recent.delete(this.recent.keys().next().value);
    return false;
  }

  ackLater(peer, seq, now) {
    if (!this.acksDue.has(peer)) this.acksDue.set(peer, new Set());
    this.acksDue.get(peer).add(seq);
    if (this.flushAt !== null) return [];
    this.flushAt = now + ACK_DELAY;
    return [{ type: "FlushAcksAt", when: this.flushAt }];
  }

  frameTo(peer, frame) {
    const due = this.acksDue.get(peer);
    this.acksDue.delete(peer);
    return { type: "SendFrame", peer, frame: withAcks(frame, due ? asRanges(due) : []) };
  }

  report(lost) {
    const actions = [];
    for (const { message, peer, reason } of lost) {
      if (message.type === "chat") {
        actions.push({ type: "MessageUndelivered", id: message.id, peer, reason });
      } else {
        this.outbox.cancel(peer, message.id);
        actions.push({ type: "PayloadUndelivered", header: message, peer, reason });
      }
    }
    if ((this.bodies.size || this.privateFrames.size) && lost.length) this.releaseBodies();
    return actions;
  }

  releaseBodies() {
    for (const kept of [this.bodies, this.privateFrames]) {
      for (const id of [...kept.keys()]) if (!this.delivery.pendingAnywhere(id)) kept.delete(id);
    }
  }
}

function progressAction({ header, peer, done }, sending) {
  return { type: "TransferProgress", channel: header.channel, id: header.id, peer, sending,
    done, total: header.size };
}

export function encodeChat(message) {
  const { id, seq, from, nick, ts, text, sig } = message;
  return JSON.stringify({ type: "chat", id, seq, from, nick, ts, text, sig });
}
