// Payloads relayed through a partial mesh in parts, as mesh/partial/relayed_parts.py has them,
// without I/O: part bodies, and an author's parts put back together. Each
// part is an envelope of its own, signed with the digest of its bytes; docs/protocol.md,
// section 4. A payload to chosen members is sealed to their keys: each part carries the
// same `seal` and SEALED_PART_BYTES of it, encrypted (private.js).
import { MAX_TIMESTAMP_MS } from "./frames.js";
import { MAX_PAYLOAD_BYTES, checkChannelName, jsonLimit } from "./payloads.js";

export const PART_BYTES = 10 * 1024;
export const SEALED_PART_BYTES = 8 * 1024;
const TAG_BYTES = 16;
export const MAX_PARTS = Math.ceil(MAX_PAYLOAD_BYTES / SEALED_PART_BYTES);
const MAX_SEAL_CHARS = Math.ceil(((32 + 48 * 64) * 4) / 3);
const SEAL = /^[A-Za-z0-9_-]+$/;
export const STALL_SECONDS = 60;
export const MAX_ASSEMBLING_BYTES = 64 * 1024 * 1024; // a page keeps less than a client
export const MAX_PAYLOADS_PER_AUTHOR = 64;
export const MAX_AUTHOR_BYTES = MAX_ASSEMBLING_BYTES;
export const MAX_LINK_BYTES = MAX_AUTHOR_BYTES; // held for first parts one link brought
export const ORDER_WAIT = 10;
const MAX_FINISHED = 4096;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const isWhole = (n, low, high) => Number.isSafeInteger(n) && n >= low && n <= high;

export const partBytes = (sealed) => (sealed ? SEALED_PART_BYTES : PART_BYTES);
export const partCount = (size, sealed = false) => Math.max(1, Math.ceil(size / partBytes(sealed)));

export function partBody(channel, id, ts, kind, size, i, seal = "") {
  const body = { type: "part", channel, id, ts, kind, size, i, count: partCount(size, !!seal) };
  if (seal) body.seal = seal;
  return body;
}

// A part body with its bytes: {channel, id, ts, kind, size, i, count, data, seal};
// throws with what is wrong.
export function readPart(body, attachment) {
  const { channel, id, ts, kind, size, i, count, seal = "" } = body;
  checkChannelName(channel);
  if (typeof id !== "string" || !ID.test(id)) throw new Error("a relayed part without a valid 'id'");
  if (kind !== "json" && kind !== "bytes") throw new Error("a relayed part's 'kind' is json or bytes");
  if (!isWhole(ts, 0, MAX_TIMESTAMP_MS) || !isWhole(size, 0, MAX_PAYLOAD_BYTES)
    || !isWhole(i, 0, MAX_PARTS - 1) || !isWhole(count, 1, MAX_PARTS)) {
    throw new Error("a relayed part without valid 'ts', 'size', 'i' and 'count'");
  }
  if (seal !== "" && (typeof seal !== "string" || seal.length > MAX_SEAL_CHARS || !SEAL.test(seal))) {
    throw new Error("a relayed part with an invalid 'seal'");
  }
  if (count !== partCount(size, !!seal) || i >= count) throw new Error("a relayed part whose 'i' and 'count' do not fit its 'size'");
  if (kind === "json" && size > jsonLimit(channel)) throw new Error(`a relayed JSON value of ${size} bytes is over the limit`);
  const carried = partBytes(!!seal);
  const expected = Math.min(carried, size - i * carried) + (seal ? TAG_BYTES : 0);
  if (attachment.length !== expected) throw new Error(`relayed part ${i} holds ${attachment.length} bytes, not ${expected}`);
  return { channel, id, ts, kind, size, i, count, data: attachment, seal };
}

// Relayed payloads being put back together, parts in any order (a part repaired late
// comes after its successors), handed on whole in their author's order: the order of
// the relay numbers `n` of their parts. A whole one waits for an earlier one still
// missing a part for ORDER_WAIT seconds at most. What is half-received counts by the
// bytes that came, never by a declared size (partial/relayed_parts.py): against its author,
// the link that brought its first part, and everyone's budget, where the author
// holding the most gives way first.
export class PartAssembler {
  constructor() {
    // `${author} ${id}` -> {author, first, parts, held, via, lastPartAt, lowestN, whole, wholeAt}
    this.assemblies = new Map();
    this.finished = new Set(); // keys of payloads done with: late parts start nothing
    this.bytes = 0; // held, all together
    this.byAuthor = new Map();
    this.byLink = new Map();
    this.lost = 0;
  }

  // Part of one of `author`'s payloads, relayed as its envelope `n` (`addressed` to
  // chosen members) and brought by the link `via`: the payloads ({author, part, data,
  // addressed}) now whole and due, in order. Throws (with what went wrong) when the
  // part is refused.
  add(author, part, n, now, addressed = false, via = "") {
    const key = `${author} ${part.id}`;
    if (this.finished.has(key)) return [];
    let assembly = this.assemblies.get(key);
    if (!assembly) {
      assembly = this.start(key, author, part, n, now, via);
      assembly.addressed = addressed; // to chosen members: a receipt is wanted
    } else if (["channel", "ts", "kind", "size", "seal"].some((field) => part[field] !== assembly.first[field])) {
      this.drop(key);
      throw new Error(`the parts of payload ${part.id} disagree on what it is`);
    }
    if (assembly.parts.has(part.i)) return [];
    this.hold(key, assembly, part.data.length);
    assembly.parts.set(part.i, part.data);
    assembly.lastPartAt = now;
    assembly.lowestN = Math.min(assembly.lowestN, n);
    if (assembly.parts.size === part.count) {
      const data = new Uint8Array(part.size);
      for (const [i, bytes] of assembly.parts) data.set(bytes, i * partBytes(!!part.seal));
      assembly.whole = { author, part, data, addressed: assembly.addressed };
      assembly.wholeAt = now;
    }
    return this.due(author, now);
  }

  // Count `size` more bytes of `assembly`; past everyone's budget the author holding
  // the most gives up its largest payload first. Throws when the part is refused.
  hold(key, assembly, size) {
    const author = assembly.author;
    let refusal = null;
    if ((this.byAuthor.get(author) || 0) + size > MAX_AUTHOR_BYTES) {
      refusal = `${MAX_AUTHOR_BYTES} bytes of one author half-received`;
    } else if ((this.byLink.get(assembly.via) || 0) + size > MAX_LINK_BYTES) {
      refusal = `${MAX_LINK_BYTES} bytes half-received through one link`;
    }
    while (refusal === null && this.bytes + size > MAX_ASSEMBLING_BYTES) {
      const [richest, most] = [...this.byAuthor].reduce((a, b) => (b[1] > a[1] ? b : a));
      if (richest === author || most <= (this.byAuthor.get(author) || 0)) {
        refusal = `${this.bytes} bytes of relayed payloads are half-received already`;
        break;
      }
      const [largest] = [...this.assemblies].filter(([, a]) => a.author === richest)
        .reduce((a, b) => (b[1].held > a[1].held ? b : a));
      this.drop(largest);
    }
    if (refusal !== null) {
      this.drop(key);
      throw new Error(refusal);
    }
    assembly.held += size;
    this.bytes += size;
    this.byAuthor.set(author, (this.byAuthor.get(author) || 0) + size);
    this.byLink.set(assembly.via, (this.byLink.get(assembly.via) || 0) + size);
  }

  // Whether `part` would start a payload we have nothing of yet.
  isNew(author, part) {
    const key = `${author} ${part.id}`;
    return !this.assemblies.has(key) && !this.finished.has(key);
  }

  start(key, author, part, n, now, via) {
    const own = [...this.assemblies.values()].filter((assembly) => assembly.author === author);
    if (own.length >= MAX_PAYLOADS_PER_AUTHOR) throw new Error(`${MAX_PAYLOADS_PER_AUTHOR} payloads of one author half-received`);
    const assembly = { author, first: part, parts: new Map(), held: 0, via,
      lastPartAt: now, lowestN: n, addressed: false, whole: null, wholeAt: 0 };
    this.assemblies.set(key, assembly);
    return assembly;
  }

  // The author's whole payloads with no unfinished one before them (or that waited
  // ORDER_WAIT), in order.
  due(author, now) {
    const own = [...this.assemblies].filter(([, assembly]) => assembly.author === author)
      .sort(([, a], [, b]) => a.lowestN - b.lowestN);
    const due = [];
    let behindOne = false;
    for (const [key, assembly] of own) {
      if (!assembly.whole) {
        behindOne = true;
      } else if (behindOne && now - assembly.wholeAt < ORDER_WAIT) {
        break;
      } else {
        this.finish(key);
        due.push(assembly.whole);
      }
    }
    return due;
  }

  // Drop payloads with no new part for STALL_SECONDS: {dropped (to log), due}.
  expire(now) {
    const dropped = [];
    for (const [key, assembly] of [...this.assemblies]) {
      if (assembly.whole || now - assembly.lastPartAt <= STALL_SECONDS) continue;
      dropped.push(`${assembly.first.id} from ${assembly.author}`);
      this.drop(key);
    }
    const waiting = new Set([...this.assemblies.values()].filter((a) => a.whole).map((a) => a.author));
    return { dropped, due: [...waiting].flatMap((author) => this.due(author, now)) };
  }

  // The author left: its unfinished payloads are dropped, its whole ones due.
  forget(author) {
    for (const [key, assembly] of [...this.assemblies]) {
      if (assembly.author === author && !assembly.whole) this.drop(key);
    }
    return this.due(author, 0);
  }

  finish(key) {
    const assembly = this.assemblies.get(key);
    this.assemblies.delete(key);
    assembly.parts.clear();
    if (assembly.held) {
      this.bytes -= assembly.held;
      for (const [counts, owner] of [[this.byAuthor, assembly.author], [this.byLink, assembly.via]]) {
        const left = counts.get(owner) - assembly.held;
        if (left) counts.set(owner, left); else counts.delete(owner);
      }
    }
    this.finished.add(key);
    if (this.finished.size > MAX_FINISHED) this.finished.delete(this.finished.values().next().value);
  }

  drop(key) {
    this.lost += 1;
    this.finish(key);
  }
}
