// Files in the page: the same protocol as mesh/features/file_protocol.py and mesh/features/file_transfer.py (the
// wire format is in docs/protocol.md, "Files"). A file the user picks is read a chunk
// at a time (Blob.slice) and hashed with @noble/hashes' incremental SHA-256; a received
// file is kept as Blob parts (which the browser may keep on disk) and offered as a
// download link once its SHA-256 is the one the sender signed.
//
// Events on the room: file-offered {id, from, nick, name, size, warning, pending: the
// user is to accept(from, id) or decline(from, id)}, file-progress {id, peer,
// sending, done, total}, file-received {id, from, nick, name, size, sha256, url},
// file-delivered {id, peer}, file-failed {id, peer, sending, reason}.

import { sha256 } from "./vendor/noble-hashes/sha2.js";
import { hex, randomMessageId } from "./dataplane.js";
import { wholeNumber } from "./payloads.js";

export const FILES_CHANNEL = "meshchat/files", FILE_DATA_CHANNEL = "meshchat/file-data";
export const CHUNK_BYTES = 256 * 1024 - 64;
// A page holds what it receives until the user saves it: a lower limit than Python's.
export const PAGE_MAX_FILE_SIZE = 1024 ** 3;
// A page holds received files in memory until they are saved: at most this much in all,
// counting files under way; a saved file's memory is given back (its link then goes).
export const PAGE_MAX_HELD = 2 * 1024 ** 3;
// The user is asked before a file is taken; an offer not taken within this long is
// declined (the sender waits 30 s for an answer).
export const DECIDE_WITHIN = 25000;
export const ANSWER_TIMEOUT = 30000, GRACE = 30000, STALL_TIMEOUT = 60000;
// Over every STALL_TIMEOUT a file must gain MIN_FILE_RATE bytes a second, or it fails:
// one trickled in holds no memory for long (features/file_transfer.py).
export const MIN_FILE_RATE = 16 * 1024;
export const REPORT_INTERVAL = 250, HAVE_INTERVAL = 500;
export const MAX_INCOMING_PER_PEER = 8, MAX_INCOMING = 32, MAX_REASON = 200, MAX_NAME = 1024;
export const MAX_NAME_BYTES = 200, OFFER_RATE = 1, OFFER_BURST = 10, MAX_FILE_SIZE = 2 ** 50;
const DEVICE_NAMES = new Set(["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
  ...["COM", "LPT"].flatMap((kind) => [...Array(10).keys()].map((n) => `${kind}${n}`))]);
const TRANSFER_ID = /^[0-9a-f]{32}$/, DIGEST = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

// A harmless name for a file a stranger named (features/filenames.py).
export function safeFileName(offered) {
  let name = offered.replaceAll("\\", "/").split("/").pop();
  if (name.length >= 2 && name[1] === ":") name = name.slice(2);
  name = [...name].filter((ch) => !/[\p{Cc}\p{Cf}\p{Cn}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/u.test(ch)).join("");
  name = name.trim().replace(/^\.+/, "").replace(/[. ]+$/, "");
  if (DEVICE_NAMES.has(name.split(".")[0].toUpperCase())) name = `_${name}`;
  return bounded(name, MAX_NAME_BYTES) || "file";
}

// `name` cut to `limit` bytes of UTF-8 on a character boundary, keeping a short extension.
function bounded(name, limit) {
  if (encoder.encode(name).length <= limit) return name;
  let base = name, extension = "";
  const dot = name.lastIndexOf(".");
  if (dot >= 0 && encoder.encode(name.slice(dot + 1)).length <= 16) {
    base = name.slice(0, dot);
    extension = name.slice(dot + 1);
  }
  const suffix = extension ? `.${extension}` : "";
  const room = limit - encoder.encode(suffix).length;
  let cut = "", used = 0;
  for (const ch of base) {
    used += encoder.encode(ch).length;
    if (used > room) break;
    cut += ch;
  }
  return cut.replace(/[. ]+$/, "") + suffix;
}

function printable(text) {
  return text.replace(/[\p{Cc}\p{Cf}]/gu, " ").trim().slice(0, MAX_REASON) || "no reason given";
}

// A control message from a peer, checked as Python checks it; null if it is not one.
export function decodeControl(value) {
  if (!value || typeof value !== "object" || !TRANSFER_ID.test(value.id ?? "")) return null;
  switch (value.type) {
    case "offer":
      if (typeof value.name !== "string" || !value.name.length || value.name.length > MAX_NAME) return null;
      if (wholeNumber(value.size, 0, MAX_FILE_SIZE) === null || !DIGEST.test(value.sha256 ?? "")) return null;
      return value;
    case "accept": case "received": return value;
    case "refuse": case "failed":
      return typeof value.reason === "string" ? { ...value, reason: printable(value.reason) } : null;
    case "have": return wholeNumber(value.bytes, 0, MAX_FILE_SIZE) === null ? null : value;
    default: return null;
  }
}

function encodeChunk(id, offset, data) {
  const body = new Uint8Array(24 + data.length);
  for (let i = 0; i < 16; i++) body[i] = parseInt(id.slice(2 * i, 2 * i + 2), 16);
  new DataView(body.buffer).setBigUint64(16, BigInt(offset));
  body.set(data, 24);
  return body;
}

function decodeChunk(body) {
  if (!(body instanceof Uint8Array) || body.length < 24) return null;
  const offset = Number(new DataView(body.buffer, body.byteOffset).getBigUint64(16));
  return { id: hex(body.subarray(0, 16)), offset, data: body.subarray(24) };
}

// What makes a received file's name worth a second look before it is opened: a
// program's extension behind another one ("invoice.pdf.exe"), or spaces that push the
// real extension out of sight ("report.pdf      .exe"). The page shows the warning.
const RISKY = /\.(exe|scr|com|bat|cmd|pif|msi|js|jse|vbs|vbe|wsf|ps1|jar|lnk|hta|cpl|app|dmg|sh|apk)$/i;
export function suspicious(name) {
  const parts = name.split(".");
  if (parts.length > 2 && RISKY.test(name) && /^[A-Za-z0-9]{1,5}$/.test(parts.at(-2))) {
    return `two extensions: it is a .${parts.at(-1)} file`;
  }
  if (/\s{2,}/.test(name)) return "runs of spaces in its name";
  if (RISKY.test(name)) return `a program (.${parts.at(-1)})`;
  return null;
}

export class FileTransfers {
  constructor(room, { maxFileSize = PAGE_MAX_FILE_SIZE } = {}) {
    Object.assign(this, { room, maxFileSize });
    this.outgoing = new Map(); // id -> transfer
    this.incoming = new Map(); // "sender id" -> incoming
    this.lostSince = new Map(); // peer -> ms it was lost (not said bye)
    this.offerBudget = new Map(); // peer -> {tokens, stamp}: offers it may still make
    this.pending = new Map(); // "sender id" -> an offer waiting for the user's answer
    this.held = new Map(); // file id -> bytes of a received file not yet saved
    room.channel(FILES_CHANNEL).addEventListener("message", ({ detail }) => this.onControl(detail));
    room.channel(FILE_DATA_CHANNEL).addEventListener("message", ({ detail }) => this.onChunk(detail));
    room.addEventListener("left", ({ detail }) => this.peerLeft(detail.id, detail.reason === "said bye"));
    room.addEventListener("joined", ({ detail }) => this.lostSince.delete(detail.id));
    this.watchdog = setInterval(() => this.watch(), 1000);
  }

  emit(type, detail) { this.room.dispatchEvent(new CustomEvent(type, { detail })); }

  control(peer, message) {
    this.room.sendPayload(FILES_CHANNEL, message, [peer]).catch(() => {}); // gone: nothing to tell
  }

  // -- sending --

  async sendFile(file, to = null) {
    const here = [...this.room.peers.values()].filter((p) => p.joined && p.phase === "open").map((p) => p.id);
    const recipients = to ? [...new Set(to)].sort() : here.sort();
    if (!recipients.length) throw new Error("nobody is here to send the file to");
    const absent = recipients.filter((p) => !here.includes(p));
    if (absent.length) throw new Error(`not in the room: ${absent.join(", ")}`);
    const hasher = sha256.create();
    for (let offset = 0; offset < file.size; offset += CHUNK_BYTES) {
      hasher.update(new Uint8Array(await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer()));
    }
    const transfer = { id: randomMessageId(), file, name: file.name, size: file.size,
      sha256: hex(hasher.digest()), recipients, outcomes: new Map(), accepted: new Set(),
      progress: new Map(), reportedAt: new Map() };
    this.outgoing.set(transfer.id, transfer);
    transfer.finished = new Promise((resolve) => { transfer.resolve = resolve; });
    this.offerAndFeed(transfer);
    return transfer;
  }

  async offerAndFeed(transfer) {
    const { id, name, size, sha256: digest, recipients } = transfer;
    try {
      await this.room.sendPayload(FILES_CHANNEL, { type: "offer", id, name, size, sha256: digest }, recipients);
    } catch (error) {
      for (const peer of recipients) this.failOutgoing(transfer, peer, error.message, false);
      return;
    }
    const answered = () => recipients.every((p) => transfer.outcomes.has(p) || transfer.accepted.has(p));
    const deadline = Date.now() + ANSWER_TIMEOUT;
    while (!answered() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const peer of recipients) {
      if (!transfer.outcomes.has(peer) && !transfer.accepted.has(peer)) {
        this.failOutgoing(transfer, peer, "no answer to the offer", true);
      }
    }
    await Promise.all(recipients.filter((p) => !transfer.outcomes.has(p)).map((p) => this.feed(transfer, p)));
  }

  async feed(transfer, peer) {
    let offset = 0;
    while (offset < transfer.size && !transfer.outcomes.has(peer)) {
      const state = this.room.peers.get(peer);
      if (!state || state.phase !== "open") {
        const lost = this.lostSince.get(peer);
        if (lost !== undefined && Date.now() - lost > GRACE) {
          this.failOutgoing(transfer, peer, "the peer is gone", false);
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      const data = new Uint8Array(await transfer.file.slice(offset, offset + CHUNK_BYTES).arrayBuffer());
      try {
        await this.room.sendPayload(FILE_DATA_CHANNEL, encodeChunk(transfer.id, offset, data), [peer]);
      } catch {
        this.failOutgoing(transfer, peer, "the peer left", false);
        return;
      }
      offset += data.length;
    }
  }

  settle(transfer, peer, outcome) {
    if (transfer.outcomes.has(peer) || !transfer.recipients.includes(peer)) return false;
    transfer.outcomes.set(peer, outcome);
    if (transfer.outcomes.size === transfer.recipients.length) {
      this.outgoing.delete(transfer.id);
      transfer.resolve(Object.fromEntries(transfer.outcomes));
    }
    return true;
  }

  failOutgoing(transfer, peer, reason, tell) {
    if (!this.settle(transfer, peer, reason)) return;
    this.emit("file-failed", { id: transfer.id, peer, sending: true, reason });
    if (tell) this.control(peer, { type: "failed", id: transfer.id, reason });
  }

  // -- what arrives --

  onControl({ from, nick, data }) {
    const message = decodeControl(data);
    if (!message) { console.warn("a bad file message from", from); return; }
    if (message.type === "offer") { this.onOffer(from, nick, message); return; }
    const incoming = this.incoming.get(`${from} ${message.id}`);
    if (message.type === "failed" && incoming) {
      this.failIncoming(incoming, `the sender gave up: ${message.reason}`, false);
      return;
    }
    const transfer = this.outgoing.get(message.id);
    if (!transfer || !transfer.recipients.includes(from) || transfer.outcomes.has(from)) return;
    switch (message.type) {
      case "accept": transfer.accepted.add(from); break;
      case "refuse": this.failOutgoing(transfer, from, `refused: ${message.reason}`, false); break;
      case "failed": this.failOutgoing(transfer, from, message.reason, false); break;
      case "have":
        transfer.progress.set(from, Math.min(message.bytes, transfer.size));
        this.reportSending(transfer, from, false);
        break;
      case "received":
        transfer.progress.set(from, transfer.size);
        this.reportSending(transfer, from, true);
        this.settle(transfer, from, "delivered");
        this.emit("file-delivered", { id: transfer.id, peer: from });
        break;
    }
  }

  reportSending(transfer, peer, force) {
    const at = Date.now();
    if (!force && at - (transfer.reportedAt.get(peer) ?? -Infinity) < REPORT_INTERVAL) return;
    transfer.reportedAt.set(peer, at);
    this.emit("file-progress", { id: transfer.id, peer, sending: true,
      done: transfer.progress.get(peer) ?? 0, total: transfer.size });
  }

  onOffer(from, nick, offer) {
    const key = `${from} ${offer.id}`;
    if (this.incoming.has(key)) return;
    // A flood of offers is dropped unshown and unanswered, as in Python (1 a second,
    // bursts of 10).
    const at = Date.now(), budget = this.offerBudget.get(from) ?? { tokens: OFFER_BURST, stamp: at };
    budget.tokens = Math.min(OFFER_BURST, budget.tokens + ((at - budget.stamp) / 1000) * OFFER_RATE);
    budget.stamp = at;
    this.offerBudget.set(from, budget);
    if (budget.tokens < 1) return;
    budget.tokens -= 1;
    const name = safeFileName(offer.name);
    const reason = this.refusal(from, offer);
    if (reason) {
      this.emit("file-offered", { id: offer.id, from, nick, name, size: offer.size, warning: suspicious(name) });
      this.decline(from, offer.id, reason);
      return;
    }
    // The user decides, seeing the name, its warning if any, and the size.
    const timer = setTimeout(() => this.decline(from, offer.id, "not accepted in time"), DECIDE_WITHIN);
    this.pending.set(key, { offer, from, nick, name, timer });
    this.emit("file-offered", { id: offer.id, from, nick, name, size: offer.size,
      warning: suspicious(name), pending: true });
  }

  refusal(from, offer) {
    const fromSender = [...this.incoming.values(), ...this.pending.values()]
      .filter((i) => (i.sender ?? i.from) === from).length;
    const waiting = this.incoming.size + this.pending.size;
    const held = [...this.held.values(), ...[...this.incoming.values()].map((i) => i.offer.size)]
      .reduce((a, b) => a + b, 0);
    if (offer.size > this.maxFileSize) {
      return `the file is ${offer.size} bytes; this peer takes files up to ${this.maxFileSize} bytes`;
    }
    if (fromSender >= MAX_INCOMING_PER_PEER || waiting >= MAX_INCOMING) return "too many files at once; try again later";
    if (held + offer.size > PAGE_MAX_HELD) return "this page holds all the unsaved files it can; try again later";
    return null;
  }

  // The user takes the file `id` offered by `from`.
  accept(from, id) {
    const key = `${from} ${id}`, waiting = this.pending.get(key);
    if (!waiting) return;
    this.pending.delete(key);
    clearTimeout(waiting.timer);
    const { offer, nick, name } = waiting;
    const reason = this.refusal(from, offer);
    if (reason) { this.decline(from, id, reason); return; }
    const incoming = { key, offer, sender: from, nick, name, hasher: sha256.create(), contiguous: 0,
      ahead: new Map(), parts: [], windowFrom: Date.now(), windowBytes: 0, reportedAt: -Infinity,
      confirmedAt: -Infinity };
    this.incoming.set(key, incoming);
    this.control(from, { type: "accept", id });
    if (offer.size === 0) this.complete(incoming);
  }

  // The file `id` offered by `from` is not taken (the user said no, or `reason`).
  decline(from, id, reason = "the user declined it") {
    const waiting = this.pending.get(`${from} ${id}`);
    if (waiting) { clearTimeout(waiting.timer); this.pending.delete(`${from} ${id}`); }
    this.control(from, { type: "refuse", id, reason });
    this.emit("file-failed", { id, peer: from, sending: false, reason: `refused: ${reason}` });
  }

  // A received file was saved (or is not wanted): its memory and its link go.
  release(id, url) {
    this.held.delete(id);
    URL.revokeObjectURL(url);
  }

  onChunk({ from, data }) {
    const chunk = decodeChunk(data);
    const incoming = chunk && this.incoming.get(`${from} ${chunk.id}`);
    if (!incoming) return;
    const { offset } = chunk, bytes = chunk.data.slice(); // a copy: the frame's buffer is reused
    const end = offset + bytes.length;
    const overlaps = [...incoming.ahead.keys()].some((o) => offset < o + incoming.ahead.get(o).length && o < end);
    if (!bytes.length || end > incoming.offer.size || offset < incoming.contiguous || overlaps) {
      this.failIncoming(incoming, "a file chunk outside the file or over bytes already received", true);
      return;
    }
    incoming.ahead.set(offset, bytes);
    while (incoming.ahead.has(incoming.contiguous)) { // hash and keep what is contiguous
      const next = incoming.ahead.get(incoming.contiguous);
      incoming.ahead.delete(incoming.contiguous);
      incoming.hasher.update(next);
      incoming.parts.push(new Blob([next]));
      incoming.contiguous += next.length;
    }
    const at = Date.now();
    incoming.windowBytes += bytes.length;
    if (incoming.contiguous === incoming.offer.size) { this.complete(incoming); return; }
    if (at - incoming.reportedAt >= REPORT_INTERVAL) {
      incoming.reportedAt = at;
      this.emit("file-progress", { id: chunk.id, peer: from, sending: false,
        done: incoming.contiguous, total: incoming.offer.size });
    }
    if (at - incoming.confirmedAt >= HAVE_INTERVAL) {
      incoming.confirmedAt = at;
      this.control(from, { type: "have", id: chunk.id, bytes: incoming.contiguous });
    }
  }

  complete(incoming) {
    this.incoming.delete(incoming.key);
    const { offer, sender } = incoming;
    const digest = hex(incoming.hasher.digest());
    if (digest !== offer.sha256) {
      const reason = "its SHA-256 does not match the sender's signed digest";
      this.control(sender, { type: "failed", id: offer.id, reason });
      this.emit("file-failed", { id: offer.id, peer: sender, sending: false, reason });
      return;
    }
    const url = URL.createObjectURL(new Blob(incoming.parts));
    incoming.parts = [];
    this.held.set(offer.id, offer.size);
    this.emit("file-progress", { id: offer.id, peer: sender, sending: false, done: offer.size, total: offer.size });
    this.control(sender, { type: "received", id: offer.id });
    this.emit("file-received", { id: offer.id, from: sender, nick: incoming.nick, name: incoming.name,
      size: offer.size, sha256: digest, url });
  }

  failIncoming(incoming, reason, tell) {
    if (!this.incoming.delete(incoming.key)) return;
    if (tell) this.control(incoming.sender, { type: "failed", id: incoming.offer.id, reason });
    this.emit("file-failed", { id: incoming.offer.id, peer: incoming.sender, sending: false, reason });
  }

  // -- peers coming and going --

  peerLeft(peer, saidBye) {
    if (!saidBye) { if (!this.lostSince.has(peer)) this.lostSince.set(peer, Date.now()); }
    for (const incoming of [...this.incoming.values()]) {
      if (incoming.sender === peer && saidBye) this.failIncoming(incoming, "the sender left", false);
    }
    if (!saidBye) return;
    for (const transfer of [...this.outgoing.values()]) {
      if (transfer.recipients.includes(peer)) this.failOutgoing(transfer, peer, "the peer left", false);
    }
  }

  watch() {
    const at = Date.now();
    const stood = at - (this.watchedAt ?? at) > 5000; // our page stood still: not theirs
    this.watchedAt = at;
    for (const incoming of [...this.incoming.values()]) {
      const lost = this.lostSince.get(incoming.sender);
      if (lost !== undefined && at - lost > GRACE) { this.failIncoming(incoming, "the sender is gone", false); continue; }
      if (lost !== undefined || stood) { Object.assign(incoming, { windowFrom: at, windowBytes: 0 }); continue; }
      if (at - incoming.windowFrom < STALL_TIMEOUT) continue;
      const gained = incoming.windowBytes;
      Object.assign(incoming, { windowFrom: at, windowBytes: 0 });
      if (gained < MIN_FILE_RATE * STALL_TIMEOUT / 1000) {
        this.failIncoming(incoming, `${gained} bytes arrived in ${STALL_TIMEOUT / 1000} s`, true);
      }
    }
  }

  close() {
    clearInterval(this.watchdog);
    for (const { from, offer } of [...this.pending.values()]) this.decline(from, offer.id, "we left");
    for (const incoming of [...this.incoming.values()]) this.failIncoming(incoming, "we left", false);
    for (const transfer of [...this.outgoing.values()]) {
      for (const peer of transfer.recipients) this.failOutgoing(transfer, peer, "we left", false);
    }
  }
}
