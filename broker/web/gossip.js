// Messages relayed along a partial mesh, as mesh/partial/gossip.py has them, without I/O:
// author-signed envelopes pushed over links with a seen cache (a link that brings a
// second copy is asked to stop pushing while EAGER_LINKS others push), per-author order
// with bounded waits, and repair by IHAVE/IWANT. Inputs are method calls, outputs lists of
// actions ({type: "SendFrame", peer, frame}, {type: "Delivered", envelope},
// {type: "Forged", peer}, {type: "PeerMisbehaved", peer, reason}); time comes in as
// `now`, in seconds. docs/protocol.md, section 4.
import { TokenBucket } from "./dataplane.js";
import { canonical, MAX_FRAME_CHARS, MAX_SEQ } from "./frames.js";
import { verifiedBy } from "./keys.js";

export const GOSSIP_CHANNEL = "meshchat/gossip";
export const START_BACKFILL = 8;
export const GAP_WAIT = 3.0, START_WAIT = 0.3, CACHE_SECONDS = 30.0, CACHE_MAX = 8192;
export const SEEN_MAX = 32768, MAX_AUTHORS = 1024, MAX_HELD = 256;
export const IHAVE_INTERVAL = 1.0, IHAVE_WINDOW = 5.0, MAX_IHAVE_AUTHORS = 256, MAX_WANT = 256;
export const IHAVE_FANOUT = 64; // links told each round (at random past this)
// Links that go on pushing every envelope to us; the others only tell (IHAVE) until
// one has what those did not bring (partial/gossip.py).
export const EAGER_LINKS = 3;
export const STOP_PUSHING = '{"type":"ihave","high":{},"push":false}';
export const PUSH_AGAIN = '{"type":"ihave","high":{},"push":true}';
// What a link has and we lack is asked of it at once, and of the same link again only
// after WANT_RETRY (its answer may be on its way).
export const WANT_RETRY = 2.0, MAX_SKIPPED = 1024;
export const MAX_ASKED = 16384; // (link, author, n) asked for lately, at most: the oldest go
export const MAX_RECIPIENTS = 64, ENVELOPE_RATE = 400, ENVELOPE_BURST = 800;
// Answers to one link's IWANTs (partial/gossip.py): requests served a second, each cached
// envelope at most MAX_RESENDS times, and bytes a second (with a burst).
export const WANT_RATE = 4, WANT_BURST = 8, MAX_RESENDS = 3;
// IHAVE read from one link, a second and in a burst; past it only its push request.
export const IHAVE_RATE = 4, IHAVE_BURST = 16;
export const ANSWER_BYTES_RATE = 512 * 1024, ANSWER_BYTES_BURST = 2 * 1024 * 1024;
export const OVERLAY_TYPES = ["gossip", "ihave", "iwant", "roster", "prune"];
export const CACHE_BYTES = 48 * 1024 * 1024; // of cached frames: relayed bytes make them big
// An envelope with bytes attached: 0x03 | envelope length (u32, big-endian) | envelope
// (UTF-8 JSON, as a text frame) | the bytes, whose SHA-256 the body names as "digest".
export const BINARY_ENVELOPE = 0x03, MAX_BINARY_FRAME = 16 * 1024;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const KEY = /^[A-Za-z0-9_-]{43}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{86}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const isWhole = (n, low, high) => Number.isSafeInteger(n) && n >= low && n <= high;

// Whether a data-channel frame belongs to the partial mesh (they start with their type).
export function isOverlayFrame(frame) {
  if (frame instanceof Uint8Array) return frame[0] === BINARY_ENVELOPE;
  return typeof frame === "string" && OVERLAY_TYPES.some((t) => frame.startsWith(`{"type":"${t}"`));
}

export function encodeBinaryEnvelope(text, attachment) {
  const header = encoder.encode(text);
  const frame = new Uint8Array(5 + header.length + attachment.length);
  frame[0] = BINARY_ENVELOPE;
  new DataView(frame.buffer).setUint32(1, header.length);
  frame.set(header, 5);
  frame.set(attachment, 5 + header.length);
  return frame;
}

// The envelope in a binary frame, its bytes attached; throws if the frame or a field is
// invalid (the signature and the digest are checked by the caller).
export function decodeBinaryEnvelope(frame) {
  if (frame.length > MAX_BINARY_FRAME) throw new Error(`binary envelope of ${frame.length} bytes`);
  if (frame.length < 5) throw new Error("truncated binary envelope");
  const end = 5 + new DataView(frame.buffer, frame.byteOffset, frame.length).getUint32(1);
  if (end > frame.length) throw new Error("binary envelope shorter than its header says");
  let wire;
  try { wire = JSON.parse(decoder.decode(frame.subarray(5, end))); } catch {
    throw new Error("binary envelope without a JSON header");
  }
  if (!wire || typeof wire !== "object" || wire.type !== "gossip") {
    throw new Error("binary envelope whose header is not a gossip envelope");
  }
  return { ...decodeEnvelope(wire, frame), attachment: frame.subarray(end) };
}

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// Whether the bytes attached are those the signed body names: none and no digest, or
// bytes whose SHA-256 is the digest.
export async function attachmentMatches(envelope) {
  const { digest } = envelope.body;
  if (digest === undefined) return typeof envelope.frame === "string";
  return typeof digest === "string" && envelope.frame instanceof Uint8Array
    && (await sha256Hex(envelope.attachment)) === digest;
}

export function signedContent(room, from, n, to, body) {
  return canonical({ room, channel: GOSSIP_CHANNEL, from, n, to, body });
}

// The envelope in a parsed "gossip" frame; throws if a field is invalid (the signature
// is checked by the caller).
export function decodeEnvelope(wire, frame) {
  const { from, n, key, sig, body, to } = wire;
  if (typeof from !== "string" || !ID.test(from)) throw new Error("envelope without a valid 'from'");
  if (!isWhole(n, 1, MAX_SEQ)) throw new Error("envelope without a valid 'n'");
  if (typeof key !== "string" || !KEY.test(key)) throw new Error("envelope without a valid 'key'");
  if (typeof sig !== "string" || !SIGNATURE.test(sig)) throw new Error("envelope without a valid 'sig'");
  if (!body || typeof body !== "object" || Array.isArray(body) || typeof body.type !== "string") {
    throw new Error("envelope without a 'body' object with a 'type'");
  }
  if (!Array.isArray(to) || to.length > MAX_RECIPIENTS || !to.every((r) => typeof r === "string" && ID.test(r))) {
    throw new Error("envelope 'to' must be a list of at most 64 ids");
  }
  return { author: from, n, key, to, body, sig, frame };
}

// Whether the envelope is its author's: the key is the one its id derives from, and
// it signed this room's content.
export async function authentic(room, envelope) {
  const { author, n, to, body } = envelope;
  const content = encoder.encode(signedContent(room, author, n, to, body));
  return verifiedBy(author, envelope.key, envelope.sig, content);
}

// Whole numbers start .. end - 1.
const numbers = (start, end) => Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);

const PAYLOAD_BODIES = new Set(["part", "data"]); // carried only for authors the room knows

export class Gossip {
  // `sign(bytes)` gives our base64url signature; `key` is our public key (base64url);
  // `knows(author)` whether the room knows the author as a member: payloads (parts and
  // values) of others are neither carried nor delivered (partial/gossip.py).
  constructor({ clientId, room, key, sign, knows = () => true }) {
    Object.assign(this, { clientId, room, key, sign, knows });
    this.n = 0;
    this.links = new Set();
    this.quietIn = new Set(); // links we asked to stop pushing to us
    this.quietOut = new Set(); // links that asked us to stop pushing to them
    this.authors = new Map(); // id -> { next, high, held: Map, waitingSince, changedAt }
    this.seen = new Set(); // "author n", oldest first
    this.asked = new Map(); // "link author n" -> when we asked that link for it
    this.cache = new Map(); // "author n" -> [frame, at], oldest first
    this.cacheBytes = 0;
    this.budgets = new Map(); // link -> its TokenBucket of envelopes
    this.wantBudgets = new Map(); // link -> its TokenBucket of IWANT requests
    this.ihaveBudgets = new Map(); // link -> its TokenBucket of IHAVE read
    this.answerBudgets = new Map(); // link -> its TokenBucket of bytes of answers
    this.resent = new Map(); // "author n" -> Map(link -> times sent to it on request)
    this.nextIhave = 0;
    this.forged = 0;
  }

  // A link opened: tell it what we hold of everything still cached, so it can catch up.
  linkUp(peer, now) {
    this.links.add(peer);
    const ihave = this.ihaveFrame(now, CACHE_SECONDS);
    return ihave ? [{ type: "SendFrame", peer, frame: ihave }] : [];
  }

  linkDown(peer) {
    this.links.delete(peer);
    this.quietIn.delete(peer);
    this.quietOut.delete(peer);
    for (const budgets of [this.budgets, this.wantBudgets, this.ihaveBudgets, this.answerBudgets]) budgets.delete(peer);
  }

  pushing() { return [...this.links].filter((link) => !this.quietOut.has(link)).sort(); }

  // `body` from us to the room (or to the peers `to`); with `attachment` (a
  // Uint8Array), those bytes too, in a binary envelope (the body gains their digest).
  async publish(body, now, to = [], attachment = null) {
    if (attachment) body = { ...body, digest: await sha256Hex(attachment) };
    const n = this.n + 1;
    to = [...new Set(to)].sort();
    const sig = await this.sign(encoder.encode(signedContent(this.room, this.clientId, n, to, body)));
    const text = JSON.stringify({ type: "gossip", from: this.clientId, n, key: this.key, to, body, sig });
    const frame = attachment ? encodeBinaryEnvelope(text, attachment) : text;
    if (attachment && frame.length > MAX_BINARY_FRAME) {
      throw new Error(`an envelope with bytes is at most ${MAX_BINARY_FRAME} bytes`);
    }
    if (!attachment && frame.length > MAX_FRAME_CHARS) {
      throw new Error("a message relayed through the room is at most 64 KiB");
    }
    this.n = n;
    const envelope = { author: this.clientId, n, key: this.key, to, body, sig, frame,
      attachment: attachment ?? new Uint8Array(0) };
    this.remember(envelope, now);
    return [envelope, this.pushing().map((peer) => ({ type: "SendFrame", peer, frame }))];
  }

  // A binary envelope (a Uint8Array) from the link `peer`.
  async receiveBinary(peer, frame, now) {
    try {
      return await this.onEnvelope(peer, decodeBinaryEnvelope(frame), now);
    } catch (error) {
      return [{ type: "PeerMisbehaved", peer, reason: error.message }];
    }
  }

  // A parsed overlay frame ("gossip", "ihave" or "iwant") from the link `peer`.
  async receive(peer, wire, frame, now) {
    try {
      if (wire.type === "gossip") return await this.onEnvelope(peer, decodeEnvelope(wire, frame), now);
      if (wire.type === "ihave") return this.onIhave(peer, wire, now);
      return this.onIwant(peer, wire, now);
    } catch (error) {
      return [{ type: "PeerMisbehaved", peer, reason: error.message }];
    }
  }

  async onEnvelope(peer, envelope, now) {
    if (!this.take(peer, now)) {
      return [{ type: "PeerMisbehaved", peer, reason: `more than ${ENVELOPE_RATE} relayed messages a second` }];
    }
    const id = `${envelope.author} ${envelope.n}`;
    if (this.seen.has(id)) return this.copyFrom(peer); // by another path (ours too)
    if (!(await authentic(this.room, envelope)) || !(await attachmentMatches(envelope))) {
      this.forged += 1; // a lie, or bytes swapped under a true signature
      return [{ type: "Forged", peer }];
    }
    if (this.seen.has(id) || envelope.author === this.clientId) return [];
    // Identities cost nothing: bytes are carried only for members the room knows; not
    // remembered, so once its author is known it can be asked for again.
    if (PAYLOAD_BODIES.has(envelope.body?.type) && !this.knows(envelope.author)) return [];
    envelope.via = peer;
    this.remember(envelope, now);
    const forward = this.pushing().filter((link) => link !== peer && link !== envelope.author)
      .map((link) => ({ type: "SendFrame", peer: link, frame: envelope.frame }));
    return [...forward, ...this.hold(envelope, now)];
  }

  // A second copy came over `peer`: it may stop pushing to us, if enough others still do.
  copyFrom(peer) {
    const eager = [...this.links].filter((link) => !this.quietIn.has(link)).length;
    if (this.quietIn.has(peer) || eager <= EAGER_LINKS) return [];
    this.quietIn.add(peer);
    return [{ type: "SendFrame", peer, frame: STOP_PUSHING }];
  }

  take(peer, now) {
    if (!this.budgets.has(peer)) this.budgets.set(peer, new TokenBucket(ENVELOPE_RATE, ENVELOPE_BURST, now));
    return this.budgets.get(peer).take(now);
  }

  remember(envelope, now) {
    const id = `${envelope.author} ${envelope.n}`;
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value);
    this.forget(id);
    this.cache.set(id, [envelope.frame, now]);
    this.cacheBytes += envelope.frame.length;
    while (this.cache.size > CACHE_MAX || this.cacheBytes > CACHE_BYTES) this.forget(this.cache.keys().next().value);
    const author = this.author(envelope.author);
    if (envelope.n > author.high) { author.high = envelope.n; author.changedAt = now; }
  }

  forget(id) {
    const cached = this.cache.get(id);
    if (!cached) return;
    this.cache.delete(id);
    this.resent.delete(id);
    this.cacheBytes -= cached[0].length;
  }

  author(id) {
    let author = this.authors.get(id);
    if (!author) {
      author = { next: null, high: 0, held: new Map(), waitingSince: null, changedAt: 0, skipped: new Map() };
      if (this.authors.size >= MAX_AUTHORS) this.authors.delete(this.authors.keys().next().value);
    }
    this.authors.delete(id);
    this.authors.set(id, author); // most recent last
    return author;
  }

  hold(envelope, now) {
    const author = this.author(envelope.author);
    if (author.next !== null && envelope.n < author.next) {
      author.skipped.delete(envelope.n); // late, or from before our time: new to us all the same
      return this.forUs(envelope);
    }
    author.held.set(envelope.n, envelope);
    author.waitingSince ??= now;
    return this.release(author, now, author.held.size > MAX_HELD);
  }

  release(author, now, skip = false) {
    if (author.next === null || skip) {
      if (author.next === null && !skip && !author.held.has(1)) return [];
      const first = Math.min(...author.held.keys());
      // Given up on, but still asked for while links may hold them.
      if (author.next !== null) this.skip(author, numbers(Math.max(author.next, first - MAX_SKIPPED), first), now);
      // A young author's earlier envelopes: asked for, and delivered late if they come.
      else if (first <= START_BACKFILL) this.skip(author, numbers(1, first), now);
      author.next = first;
    }
    const actions = [];
    let envelope;
    while ((envelope = author.held.get(author.next)) !== undefined) {
      author.held.delete(author.next);
      author.next += 1;
      actions.push(...this.forUs(envelope));
    }
    if (!author.held.size) author.waitingSince = null;
    return actions;
  }

  // The caller learnt (from a body) that `id`'s envelopes first .. end - 1 matter:
  // those passed over as from before our time are asked for like ones given up on.
  recover(id, first, end, now) {
    const author = this.authors.get(id);
    if (!author || author.next === null) return;
    const passedOver = numbers(Math.max(1, first), Math.min(end, author.next));
    this.skip(author, passedOver.filter((n) => !this.seen.has(`${id} ${n}`)), now);
  }

  // Envelopes `late` (ascending) are given up on: delivered without, but asked for while
  // links may hold them; the latest MAX_SKIPPED at most, each keeping its first time.
  skip(author, late, now) {
    for (const n of late.slice(-MAX_SKIPPED)) if (!author.skipped.has(n)) author.skipped.set(n, now);
    while (author.skipped.size > MAX_SKIPPED) author.skipped.delete(author.skipped.keys().next().value);
  }

  forUs(envelope) {
    if (envelope.to.length && !envelope.to.includes(this.clientId)) return [];
    return [{ type: "Delivered", envelope }];
  }

  onIhave(peer, wire, now) {
    if (wire.push === false) this.quietOut.add(peer);
    else if (wire.push === true) this.quietOut.delete(peer);
    if (!this.ihaveBudgets.has(peer)) this.ihaveBudgets.set(peer, new TokenBucket(IHAVE_RATE, IHAVE_BURST, now));
    if (!this.ihaveBudgets.get(peer).take(now)) return [];
    const highs = wire.high;
    if (!highs || typeof highs !== "object" || Array.isArray(highs) || Object.keys(highs).length > MAX_IHAVE_AUTHORS) {
      throw new Error("'ihave' must map at most 256 authors to numbers");
    }
    const missing = [];
    for (const [id, high] of Object.entries(highs)) {
      if (!ID.test(id) || !isWhole(high, 1, MAX_SEQ)) throw new Error("'ihave' holds an invalid author or number");
      const author = this.authors.get(id);
      if (id === this.clientId) continue;
      let lacking;
      if (author && author.next !== null) lacking = this.lacking(id, author, high);
      else {
        // Never heard: from a pushing link, from before that link; from one we stopped,
        // perhaps what the pushing ones failed to bring (the latest; all, if young).
        if (!this.quietIn.has(peer) || author?.held.size) continue;
        lacking = numbers(high <= START_BACKFILL ? 1 : high, high + 1).filter((n) => !this.seen.has(`${id} ${n}`));
      }
      for (const n of lacking) {
        const key = `${peer} ${id} ${n}`;
        if (now - (this.asked.get(key) ?? -Infinity) >= WANT_RETRY) missing.push([key, id, n]);
      }
    }
    const wanted = [];
    for (const [key, id, n] of missing.slice(0, MAX_WANT)) {
      this.asked.delete(key); // to the end: the oldest go first past MAX_ASKED
      this.asked.set(key, now);
      const run = wanted.at(-1);
      if (run && run[0] === id && run[2] === n - 1) run[2] = n;
      else wanted.push([id, n, n]);
    }
    for (const key of this.asked.keys()) {
      if (this.asked.size <= MAX_ASKED) break;
      this.asked.delete(key);
    }
    if (!wanted.length) return [];
    const iwant = { type: "SendFrame", peer, frame: JSON.stringify({ type: "iwant", want: wanted }) };
    if (!this.quietIn.delete(peer)) return [iwant];
    return [{ type: "SendFrame", peer, frame: PUSH_AGAIN }, iwant]; // the others failed: it pushes again
  }

  // The numbers up to `high` (a link holds them) we lack: given up on waiting for, or
  // past where we deliver. Oldest first.
  lacking(id, author, high) {
    const lacking = [...author.skipped.keys()].filter((n) => n <= high).sort((a, b) => a - b);
    for (let n = Math.max(author.next, high - MAX_WANT + 1); n <= high; n++) if (!author.held.has(n)) lacking.push(n);
    return lacking.filter((n) => !this.seen.has(`${id} ${n}`)).slice(0, MAX_WANT);
  }

  onIwant(peer, wire, now) {
    const wants = wire.want;
    if (!Array.isArray(wants) || wants.length > MAX_WANT) throw new Error("'iwant' must list at most 256 ranges");
    if (!this.wantBudgets.has(peer)) this.wantBudgets.set(peer, new TokenBucket(WANT_RATE, WANT_BURST, now));
    if (!this.wantBudgets.get(peer).take(now)) return []; // faster than any gap opens
    if (!this.answerBudgets.has(peer)) {
      this.answerBudgets.set(peer, new TokenBucket(ANSWER_BYTES_RATE, ANSWER_BYTES_BURST, now));
    }
    const answers = this.answerBudgets.get(peer);
    const frames = [];
    for (const want of wants) {
      if (!Array.isArray(want) || want.length !== 3 || typeof want[0] !== "string"
        || !isWhole(want[1], 1, MAX_SEQ) || !isWhole(want[2], want[1], MAX_SEQ)) {
        throw new Error("an 'iwant' range must be [author, first, last]");
      }
      for (let n = want[1]; n <= Math.min(want[2], want[1] + MAX_WANT - 1); n++) {
        if (frames.length >= MAX_WANT) return frames;
        const id = `${want[0]} ${n}`;
        const cached = this.cache.get(id);
        if (!cached) continue;
        if (!this.resent.has(id)) this.resent.set(id, new Map());
        const sent = this.resent.get(id);
        if ((sent.get(peer) ?? 0) >= MAX_RESENDS) continue; // it has had this one often enough
        if (!answers.take(now, cached[0].length)) return frames; // the rest when the budget allows
        sent.set(peer, (sent.get(peer) ?? 0) + 1);
        frames.push({ type: "SendFrame", peer, frame: cached[0] });
      }
    }
    return frames;
  }

  tick(now) {
    const actions = [];
    for (const author of this.authors.values()) {
      if (author.waitingSince === null) continue;
      const wait = author.next === null ? START_WAIT : GAP_WAIT;
      if (now - author.waitingSince >= wait) actions.push(...this.release(author, now, true));
    }
    for (const author of this.authors.values()) {
      for (const [n, at] of author.skipped) if (at < now - CACHE_SECONDS) author.skipped.delete(n); // cached nowhere now
    }
    for (const [key, at] of this.asked) if (at <= now - WANT_RETRY) this.asked.delete(key);
    for (const [id, [, at]] of this.cache) {
      if (at >= now - CACHE_SECONDS) break;
      this.forget(id);
    }
    if (now >= this.nextIhave) {
      this.nextIhave = now + IHAVE_INTERVAL;
      const ihave = this.ihaveFrame(now, IHAVE_WINDOW);
      const links = [...this.links].sort();
      while (ihave && links.length > IHAVE_FANOUT) links.splice(Math.floor(Math.random() * links.length), 1);
      if (ihave) for (const peer of links) actions.push({ type: "SendFrame", peer, frame: ihave });
    }
    return actions;
  }

  ihaveFrame(now, window) {
    const high = {};
    let count = 0;
    for (const [id, author] of [...this.authors].reverse()) {
      // Ours for as long as we cache them: they can sit in a link's buffer past the window.
      const age = now - author.changedAt;
      if (!author.high || (age > window && !(id === this.clientId && age <= CACHE_SECONDS))) continue;
      high[id] = author.high;
      if (++count >= MAX_IHAVE_AUTHORS) break;
    }
    return count ? JSON.stringify({ type: "ihave", high }) : null;
  }
}
