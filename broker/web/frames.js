// What a peer may send, checked before anything acts on it: data-channel frames, nicks,
// remote ICE candidates. No I/O here (it runs in the page and under `node --test`); the
// same rules as mesh/link/chat_frames.py, mesh/signalling/messages.py and mesh/signalling/candidates.py, held together by
// the shared vectors in tests/vectors/.

export const MAX_TEXT_BYTES = 16 * 1024;
export const MAX_FRAME_CHARS = 64 * 1024;
export const MAX_TIMESTAMP_MS = 253402300799999; // the last millisecond of the year 9999
export const MAX_CANDIDATES = 16, MAX_CANDIDATES_PER_ADDRESS = 4;
export const MAX_SEQ = Number.MAX_SAFE_INTEGER, MAX_ACK_RANGES = 64;
export const MAX_PONG_HOLD_MS = 60000;
export const MAX_PRIVATE_RECIPIENTS = 64;
// A seal for the most recipients, and the sealed longest line, base64url (chat_frames.py).
const MAX_SEAL_CHARS = Math.ceil(((32 + 48 * MAX_PRIVATE_RECIPIENTS) * 4) / 3);
const MAX_SEALED_CHARS = Math.ceil(((MAX_TEXT_BYTES + 16) * 4) / 3);
const B64URL = /^[A-Za-z0-9_-]*$/;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{86}$/; // Ed25519: 64 bytes, base64url without padding
// (String.prototype.isWellFormed says the same, but older Node and browsers lack it.)
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const encoder = new TextEncoder();

// One data-channel frame: {type: "chat", id, seq, from, nick, ts, text, acks} (a private
// line has `to`, `seal` and `sealed` in place of `text`: private.js) |
// {type: "ack" | "bye", acks} | {type: "heartbeat", acks, ping?, pong?}, where acks are
// [first, last] ranges of the receiver's sequence numbers, ping the sender's clock (ms)
// and pong [our ping, ms held] (roundtrip.js); throws an Error saying what is wrong.
export function decodeChannelFrame(text) {
  if (typeof text !== "string") throw new Error("binary frame");
  if (text.length > MAX_FRAME_CHARS) throw new Error("frame too large");
  let frame;
  try { frame = JSON.parse(text); } catch { throw new Error("not JSON"); }
  if (!frame || typeof frame !== "object" || Array.isArray(frame)) throw new Error("not an object");
  const acks = ackRanges(frame.acks === undefined ? [] : frame.acks);
  switch (frame.type) {
    case "heartbeat": return { type: "heartbeat", acks, ...heartbeatFields(frame) };
    case "bye": case "ack": return { type: frame.type, acks };
    case "chat": break;
    default: throw new Error("unknown type");
  }
  const { id, seq, from, nick, ts, text: body, sig } = frame;
  if (frame.to !== undefined) return privateLine(frame, acks);
  if (typeof sig !== "string" || !SIGNATURE.test(sig)) throw new Error("chat message without a valid sig");
  if (!isSeq(seq)) throw new Error("chat message without a valid seq");
  if (!isId(id)) throw new Error("chat message without a valid id");
  if (!isId(from)) throw new Error("chat message without a valid from");
  if (typeof nick !== "string") throw new Error("chat message without a nick");
  if (!Number.isSafeInteger(ts) || ts < 0 || ts > MAX_TIMESTAMP_MS) {
    throw new Error("chat message without a valid ts");
  }
  if (typeof body !== "string") throw new Error("chat message without a text");
  if (LONE_SURROGATE.test(body)) throw new Error("text is not valid Unicode (lone surrogate)");
  if (encoder.encode(body).length > MAX_TEXT_BYTES) throw new Error("text too long");
  return { type: "chat", id, seq, from, nick: cleanNick(nick), ts, text: body, sig, acks };
}

// A private line's fields, checked as chat_frames.py's read_private_line checks them.
export function privateLine(frame, acks = []) {
  const { id, seq, from, nick, ts, to, seal, sealed, sig } = frame;
  if (typeof sig !== "string" || !SIGNATURE.test(sig)) throw new Error("private line without a valid sig");
  if (!isSeq(seq) || !Number.isSafeInteger(ts) || ts < 0 || ts > MAX_TIMESTAMP_MS) {
    throw new Error("private line without a valid seq and ts");
  }
  if (!isId(id)) throw new Error("private line without a valid id");
  if (!isId(from)) throw new Error("private line without a valid from");
  if (typeof nick !== "string") throw new Error("private line without a nick");
  if (!Array.isArray(to) || to.length < 1 || to.length > MAX_PRIVATE_RECIPIENTS || !to.every(isId)
    || to.some((peer, i) => i > 0 && !(to[i - 1] < peer))) {
    throw new Error(`private line 'to' must be 1-${MAX_PRIVATE_RECIPIENTS} distinct peer ids, sorted`);
  }
  if (typeof seal !== "string" || seal.length > MAX_SEAL_CHARS || !B64URL.test(seal)) {
    throw new Error("private line without a valid seal");
  }
  if (typeof sealed !== "string" || sealed.length > MAX_SEALED_CHARS || !B64URL.test(sealed)) {
    throw new Error("private line without a valid sealed text");
  }
  return { type: "chat", id, seq, from, nick: cleanNick(nick), ts, to: [...to], seal, sealed, sig, acks };
}

function heartbeatFields({ ping, pong }) {
  const fields = {};
  if (ping !== undefined && ping !== null) {
    if (!isWhole(ping, 0, MAX_SEQ)) throw new Error("bad ping");
    fields.ping = ping;
  }
  if (pong !== undefined && pong !== null) {
    if (!Array.isArray(pong) || pong.length !== 2 || !isWhole(pong[0], 0, MAX_SEQ)
      || !isWhole(pong[1], 0, MAX_PONG_HOLD_MS)) throw new Error("bad pong");
    fields.pong = [pong[0], pong[1]];
  }
  return fields;
}

const isWhole = (value, low, high) => Number.isSafeInteger(value) && value >= low && value <= high;

export function encodeHeartbeat(ping, pong) {
  return `{"type":"heartbeat","ping":${ping}${pong ? `,"pong":[${pong[0]},${pong[1]}]` : ""}}`;
}

function ackRanges(raw) {
  if (!Array.isArray(raw) || raw.length > MAX_ACK_RANGES) throw new Error("bad acks");
  for (const pair of raw) {
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every(isSeq) || pair[0] > pair[1]) {
      throw new Error("bad ack range");
    }
  }
  return raw.map(([first, last]) => [first, last]);
}

function isSeq(value) {
  return Number.isSafeInteger(value) && value >= 1 && value <= MAX_SEQ;
}

// A frame (JSON text of an object) carrying acknowledgements too, as mesh/link/chat_frames.py does.
export function withAcks(frame, acks) {
  return acks.length ? `${frame.slice(0, -1)},"acks":${JSON.stringify(acks)}}` : frame;
}

// Sequence numbers as sorted inclusive ranges: [1, 2, 3, 7] -> [[1, 3], [7, 7]].
export function asRanges(seqs) {
  const ranges = [];
  for (const seq of [...seqs].sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last && seq === last[1] + 1) last[1] = seq;
    else if (!last || seq > last[1]) ranges.push([seq, seq]);
  }
  return ranges;
}

// Pub/sub topic names (meshchat/wire/topics.py), and Ably's channel for a topic.
export const globalTopic = (room) => `meshchat/${room}/global`;
export const clientTopic = (room, id) => `meshchat/${room}/client-${id}`;
export const ablyChannel = (topic) => topic.replaceAll("/", ":");

// Keys sorted at every level, no whitespace: the bytes every signature covers.
export function canonical(value) {
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  if (value !== null && typeof value === "object") {
    return "{" + Object.keys(value).sort()
      .map((key) => JSON.stringify(key) + ":" + canonical(value[key])).join(",") + "}";
  }
  return JSON.stringify(value);
}

// What a chat message's author signs (mesh/link/chat_frames.py's signed_content): all it says but
// the nick, bound to the room and the channel.
export function chatSignedContent(room, message) {
  const { id, seq, from, ts, text } = message;
  return canonical({ room, channel: "chat", id, seq, from, ts, text });
}

function isId(value) {
  return typeof value === "string" && ID_PATTERN.test(value);
}

// Nicks are display text: printable characters only (no controls, no bidi overrides).
export function cleanNick(nick) {
  const printable = String(nick).replace(/[\p{C}\p{Z}]/gu, (c) => (c === " " ? c : "")).trim();
  return [...printable].slice(0, 64).join("") || "anon";
}

// Remote ICE candidates a real peer can have: a bounded number, a few per address, UDP on
// unprivileged ports, unicast IPs or mDNS names only.
export function newBudget() { return { accepted: 0, perAddress: new Map() }; }

export function candidateProblem(text) {
  const fields = String(text).replace(/^a=/, "").replace(/^candidate:/, "").trim().split(/\s+/);
  if (fields.length < 8 || fields[6] !== "typ") return "malformed candidate";
  const [, , transport, , address, port] = fields;
  if (transport.toLowerCase() !== "udp") return `${transport} candidate`;
  if (!/^\d+$/.test(port) || Number(port) < 1024 || Number(port) > 65535) return "privileged port";
  if (/^[0-9a-fA-F-]{1,64}\.local$/.test(address)) return null;
  const v4 = address.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((o) => o > 255)) return "not an address";
    if (octets[0] === 0 || octets[0] >= 224) return "not a unicast address";
    return null;
  }
  if (address.includes(":") && /^[0-9a-fA-F:.]+$/.test(address)) {
    if (/^ff/i.test(address) || /^[:0]+$/.test(address)) return "not a unicast address";
    return null;
  }
  return "address is neither an IP nor an mDNS name";
}

export function admitCandidate(budget, text) {
  const problem = candidateProblem(text);
  if (problem) return problem;
  const address = String(text).trim().split(/\s+/)[4].toLowerCase();
  if (budget.accepted >= MAX_CANDIDATES) return "too many candidates";
  if ((budget.perAddress.get(address) || 0) >= MAX_CANDIDATES_PER_ADDRESS) {
    return "too many candidates for one address";
  }
  budget.accepted += 1;
  budget.perAddress.set(address, (budget.perAddress.get(address) || 0) + 1);
  return null;
}

export function limitSdp(sdp, budget) {
  return String(sdp).split(/(?<=\n)/).filter(
    (line) => !line.startsWith("a=candidate:") || admitCandidate(budget, line.trim()) === null,
  ).join("");
}
