// Channel payloads on the wire (mesh/link/payloads.py): any JSON value or bytes, up to 64 MiB,
// as one start frame and as many chunk frames as needed, each at most 16 KiB:
//
//   start:  0x01 | header length (u32, big-endian) | header (UTF-8 JSON) | first bytes
//   chunk:  0x02 | message id (16 bytes) | offset (u64, big-endian) | bytes
//
// No I/O here: it runs in the page and under `node --test`.

import { MAX_SEQ, MAX_TIMESTAMP_MS, canonical } from "./frames.js";

export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
export const MAX_CHUNK_FRAME = 16 * 1024;
export const MAX_HEADER_BYTES = 4096;
export const MAX_CHANNEL_NAME = 64;
export const MAX_RECIPIENTS = 256;
export const CHAT_CHANNEL = "chat";
export const START = 0x01, CHUNK = 0x02;
export const START_PREFIX = 5, CHUNK_OVERHEAD = 25;
const MESSAGE_ID = /^[0-9a-f]{32}$/;
const DIGEST = /^[0-9a-f]{64}$/;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{86}$/;
// Python's str.isprintable(): no control, format, unassigned, private-use or separator
// characters, except the space.
const UNPRINTABLE = /(?! )[\p{C}\p{Z}]/u;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class PayloadTooLarge extends Error {}

export function checkChannelName(name) {
  if (typeof name !== "string" || [...name].length < 1 || [...name].length > MAX_CHANNEL_NAME) {
    throw new Error(`a channel name is 1-${MAX_CHANNEL_NAME} characters`);
  }
  if (UNPRINTABLE.test(name)) {
    throw new Error("a channel name must not contain control or format characters");
  }
  return name;
}

// What an application sends, as [kind, bytes]: bytes as they are, anything else as JSON.
export function encodeBody(data) {
  let kind, body;
  if (data instanceof Uint8Array || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    body = data instanceof Uint8Array ? data
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : new Uint8Array(data);
    kind = "bytes";
  } else {
    const text = JSON.stringify(data);
    if (text === undefined) throw new Error("a payload is bytes or a JSON value");
    body = encoder.encode(text);
    kind = "json";
  }
  if (body.length > MAX_PAYLOAD_BYTES) {
    throw new PayloadTooLarge(
      `payload is ${body.length} bytes; the limit is ${MAX_PAYLOAD_BYTES} bytes (64 MiB)`);
  }
  return [kind, body];
}

// A JSON value is parsed whole into objects many times its size: values stay small, and
// larger data travels as bytes (link/payloads.py). The framework's own control channels
// carry less still.
export const MAX_JSON_BYTES = 1024 * 1024;
export const RESERVED_JSON_BYTES = { "meshchat/files": 64 * 1024 };

export function jsonLimit(channel) {
  return Object.hasOwn(RESERVED_JSON_BYTES, channel) ? RESERVED_JSON_BYTES[channel] : MAX_JSON_BYTES;
}

// Throws PayloadTooLarge for a JSON value too large for `channel`.
export function checkJsonSize(channel, size) {
  const limit = jsonLimit(channel);
  if (size > limit) {
    throw new PayloadTooLarge(
      `a JSON value of ${size} bytes; the limit is ${limit} bytes on '${channel}': send larger data as bytes`);
  }
}

export function decodeJsonBody(body) {
  try {
    return JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new Error(`a json payload that is not valid JSON: ${error.message}`);
  }
}

// What the author signs: the whole header but the nick, bound to the room.
export function payloadSignedContent(room, header) {
  const content = { room, channel: header.channel, id: header.id, seq: header.seq,
    from: header.sender, ts: header.ts, kind: header.kind, size: header.size,
    sha256: header.sha256 };
  if (header.to.length) content.to = header.to;
  return canonical(content);
}

export function encodeHeader(header) {
  const wire = { type: "data", id: header.id, from: header.sender, ch: header.channel,
    seq: header.seq, ts: header.ts, kind: header.kind, size: header.size,
    sha256: header.sha256, sig: header.sig };
  if (header.to.length) wire.to = header.to;
  return encoder.encode(JSON.stringify(wire));
}

// The start frame with as much of body as fits: [frame, bytes of body taken].
export function startFrame(encodedHeader, body) {
  const room = MAX_CHUNK_FRAME - START_PREFIX - encodedHeader.length;
  const first = body.subarray(0, Math.max(0, room));
  const frame = new Uint8Array(START_PREFIX + encodedHeader.length + first.length);
  frame[0] = START;
  new DataView(frame.buffer).setUint32(1, encodedHeader.length);
  frame.set(encodedHeader, START_PREFIX);
  frame.set(first, START_PREFIX + encodedHeader.length);
  return [frame, first.length];
}

export function chunkFrame(messageId, offset, body) {
  const piece = body.subarray(offset, offset + MAX_CHUNK_FRAME - CHUNK_OVERHEAD);
  const frame = new Uint8Array(CHUNK_OVERHEAD + piece.length);
  frame[0] = CHUNK;
  for (let i = 0; i < 16; i++) frame[1 + i] = parseInt(messageId.slice(2 * i, 2 * i + 2), 16);
  new DataView(frame.buffer).setBigUint64(17, BigInt(offset));
  frame.set(piece, CHUNK_OVERHEAD);
  return [frame, piece.length];
}

function hexOf(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// A binary frame: {start: header, data} or {chunk: message id, offset, data}; throws an
// Error saying what is wrong.
export function decodeBinaryFrame(frame) {
  if (frame.length > MAX_CHUNK_FRAME) throw new Error("binary frame exceeds 16 KiB");
  if (!frame.length) throw new Error("empty binary frame");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame[0] === CHUNK) {
    if (frame.length <= CHUNK_OVERHEAD) throw new Error("chunk frame without data");
    const offset = Number(view.getBigUint64(17));
    return { chunk: hexOf(frame.subarray(1, 17)), offset, data: frame.subarray(CHUNK_OVERHEAD) };
  }
  if (frame[0] !== START) throw new Error(`unknown binary frame type ${frame[0]}`);
  if (frame.length < START_PREFIX) throw new Error("start frame too short");
  const length = view.getUint32(1);
  const end = START_PREFIX + length;
  if (length > MAX_HEADER_BYTES || end > frame.length) {
    throw new Error("start frame with a header longer than the frame or the limit");
  }
  return { start: header(frame.subarray(START_PREFIX, end)), data: frame.subarray(end) };
}

export function wholeNumber(value, low, high) {
  return Number.isSafeInteger(value) && value >= low && value <= high ? value : null;
}

function header(raw) {
  let wire;
  try { wire = JSON.parse(decoder.decode(raw)); } catch { throw new Error("payload header is not JSON"); }
  if (!wire || typeof wire !== "object" || Array.isArray(wire) || wire.type !== "data") {
    throw new Error("payload header is not a data object");
  }
  const { id, from, ch, kind, sha256, sig } = wire;
  if (typeof id !== "string" || !MESSAGE_ID.test(id)) throw new Error("payload without a valid 'id'");
  if (typeof from !== "string" || !ID_PATTERN.test(from)) throw new Error("payload without a valid 'from'");
  try { checkChannelName(ch); } catch (error) { throw new Error(`payload with an invalid 'ch': ${error.message}`); }
  if (ch === CHAT_CHANNEL) throw new Error("the chat channel carries chat frames, not payloads");
  if (kind !== "json" && kind !== "bytes") throw new Error("payload 'kind' must be json or bytes");
  if (typeof sha256 !== "string" || !DIGEST.test(sha256)) throw new Error("payload without a valid 'sha256'");
  if (typeof sig !== "string" || !SIGNATURE.test(sig)) throw new Error("payload without a valid 'sig'");
  const seq = wholeNumber(wire.seq, 1, MAX_SEQ);
  const ts = wholeNumber(wire.ts, 0, MAX_TIMESTAMP_MS);
  const size = wholeNumber(wire.size, 0, MAX_PAYLOAD_BYTES);
  if (seq === null || ts === null || size === null) {
    throw new Error("payload without a valid 'seq', 'ts' or 'size'");
  }
  return { id, sender: from, channel: ch, seq, ts, kind, size, sha256, to: recipients(wire), sig };
}

function recipients(wire) {
  if (!("to" in wire)) return [];
  const to = wire.to;
  const sorted = Array.isArray(to) ? [...new Set(to)].sort() : [];
  if (!Array.isArray(to) || to.length < 1 || to.length > MAX_RECIPIENTS
      || !to.every((p) => typeof p === "string" && ID_PATTERN.test(p))
      || sorted.length !== to.length || sorted.some((p, i) => p !== to[i])) {
    throw new Error(`payload 'to' must be 1-${MAX_RECIPIENTS} distinct peer ids, sorted`);
  }
  return to;
}
