// Payloads relayed through a partial mesh in parts, as mesh/relayed_parts.py has them,
// without I/O: part bodies, and an author's parts put back together in order. Each
// part is an envelope of its own, signed with the digest of its bytes; docs/protocol.md,
// section 4.
import { MAX_TIMESTAMP_MS } from "./frames.js";
import { MAX_PAYLOAD_BYTES, checkChannelName } from "./payloads.js";

export const PART_BYTES = 10 * 1024;
export const MAX_PARTS = Math.ceil(MAX_PAYLOAD_BYTES / PART_BYTES);
export const STALL_SECONDS = 60;
export const MAX_ASSEMBLING_BYTES = 64 * 1024 * 1024; // a page keeps less than a client

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const isWhole = (n, low, high) => Number.isSafeInteger(n) && n >= low && n <= high;

export const partCount = (size) => Math.max(1, Math.ceil(size / PART_BYTES));

export function partBody(channel, id, ts, kind, size, i) {
  return { type: "part", channel, id, ts, kind, size, i, count: partCount(size) };
}

// A part body with its bytes: {channel, id, ts, kind, size, i, count, data}; throws
// with what is wrong.
export function readPart(body, attachment) {
  const { channel, id, ts, kind, size, i, count } = body;
  checkChannelName(channel);
  if (typeof id !== "string" || !ID.test(id)) throw new Error("a relayed part without a valid 'id'");
  if (kind !== "json" && kind !== "bytes") throw new Error("a relayed part's 'kind' is json or bytes");
  if (!isWhole(ts, 0, MAX_TIMESTAMP_MS) || !isWhole(size, 0, MAX_PAYLOAD_BYTES)
    || !isWhole(i, 0, MAX_PARTS - 1) || !isWhole(count, 1, MAX_PARTS)) {
    throw new Error("a relayed part without valid 'ts', 'size', 'i' and 'count'");
  }
  if (count !== partCount(size) || i >= count) throw new Error("a relayed part whose 'i' and 'count' do not fit its 'size'");
  const expected = Math.min(PART_BYTES, size - i * PART_BYTES);
  if (attachment.length !== expected) throw new Error(`relayed part ${i} holds ${attachment.length} bytes, not ${expected}`);
  return { channel, id, ts, kind, size, i, count, data: attachment };
}

// Relayed payloads being put back together, one per author at a time.
export class PartAssembler {
  constructor() {
    this.assemblies = new Map(); // author -> {id, size, next, bytes, lastPartAt}
    this.bytes = 0;
  }

  // Part of `author`'s payload, in its order: the payload ({part, data}) once whole,
  // else null. Throws (with what went wrong) when a payload is dropped.
  add(author, part, now) {
    let assembly = this.assemblies.get(author);
    if (assembly && (part.id !== assembly.id || part.i !== assembly.next)) {
      this.drop(author);
      if (part.i !== 0 || part.id === assembly.id) throw new Error(`part ${assembly.next} of payload ${assembly.id} was lost`);
      assembly = undefined;
    }
    if (!assembly) {
      if (part.i !== 0) throw new Error(`payload ${part.id} began before we could hear it`);
      if (this.bytes + part.size > MAX_ASSEMBLING_BYTES) throw new Error(`${this.bytes} bytes of relayed payloads are half-received already`);
      assembly = { id: part.id, size: part.size, next: 0, bytes: new Uint8Array(part.size), lastPartAt: now };
      this.assemblies.set(author, assembly);
      this.bytes += part.size;
    }
    assembly.bytes.set(part.data, part.i * PART_BYTES);
    assembly.next += 1;
    assembly.lastPartAt = now;
    if (assembly.next < part.count) return null;
    this.drop(author);
    return { part, data: assembly.bytes };
  }

  // Drop payloads whose next part is overdue; what was dropped, to log.
  expire(now) {
    const dropped = [];
    for (const [author, assembly] of [...this.assemblies]) {
      if (now - assembly.lastPartAt <= STALL_SECONDS) continue;
      dropped.push(`${assembly.id} from ${author}`);
      this.drop(author);
    }
    return dropped;
  }

  drop(author) {
    const assembly = this.assemblies.get(author);
    if (!assembly) return;
    this.assemblies.delete(author);
    this.bytes -= assembly.size;
  }
}
