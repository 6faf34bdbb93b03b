// History for late joiners: the page's twin of mesh/features/history.py (the reasoning is there).
// The page keeps the room's last lines with their authors' keys, answers newcomers, and
// asks the first peers it meets; every entry must verify as its author's.
import { chatSignedContent, decodeChannelFrame } from "./frames.js";
import { verifiedBy } from "./keys.js";
import { MAX_JSON_BYTES } from "./payloads.js";

export const HISTORY_CHANNEL = "meshchat/history";
const MAX_MESSAGES = 200, MAX_AGE = 24 * 3600 * 1000; // lines; ms since we had the line
const ASK_WITHIN = 15000, ASK_AT_MOST = 2, ANSWER_INTERVAL = 60000; // ms, peers, ms
const MAX_SKEW = 10 * 60 * 1000; // ms: a line "said" further ahead of our clock is refused
export const UNKNOWN_NICK = "?"; // for an author the room does not know (with its id's tag)
const encoder = new TextEncoder();

// By time said; each author's lines in the order of their numbers, which its signature
// fixes (features/history.py, in_order).
export function inOrder(messages) {
  const byTime = [...messages].sort((a, b) => a.ts - b.ts);
  const own = new Map();
  for (const message of [...byTime].sort((a, b) => b.seq - a.seq)) {
    if (!own.has(message.from)) own.set(message.from, []);
    own.get(message.from).push(message);
  }
  return byTime.map((message) => own.get(message.from).pop());
}

// The newest entries that fit in one JSON value.
function fitting(entries) {
  let room = MAX_JSON_BYTES - '{"type":"messages","messages":[]}'.length, count = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    room -= encoder.encode(JSON.stringify(entries[i])).length + 1;
    if (room < 0) break;
    count += 1;
  }
  return entries.slice(entries.length - count);
}

export class History {
  // room: the Room (meshchat.js); emits "message" events with history: true.
  constructor(room, { keep = true } = {}) {
    Object.assign(this, { room, keeping: keep });
    this.kept = new Map(); // "author id" -> {message, key, at}, oldest first
    this.joinedAt = Date.now();
    this.asked = 0;
    this.waiting = new Set(); // peers asked whose answer has not come
    this.answered = new Map(); // peer -> ms of our last answer to it
    this.forged = 0; // entries dropped because they did not verify
    this.stale = 0; // entries said over a day ago, or in the future
    room.channel(HISTORY_CHANNEL).addEventListener("message", ({ detail }) => {
      this.onMessage(detail.from, detail.data).catch((error) => console.warn("history", error));
    });
    room.addEventListener("joined", ({ detail }) => this.peerJoined(detail.id));
  }

  keep(message, key) {
    if (!this.keeping || typeof key !== "string") return;
    const { id, seq, from, nick, ts, text, sig } = message;
    this.kept.set(`${from} ${id}`, { message: { type: "chat", id, seq, from, nick, ts, text, sig }, key, at: Date.now() });
    while (this.kept.size > MAX_MESSAGES) this.kept.delete(this.kept.keys().next().value);
  }

  recent() {
    for (const [k, { at }] of this.kept) {
      if (Date.now() - at <= MAX_AGE) break;
      this.kept.delete(k);
    }
    return [...this.kept.values()];
  }

  peerJoined(peer) {
    if (!this.keeping || Date.now() - this.joinedAt > ASK_WITHIN || this.asked >= ASK_AT_MOST) return;
    this.asked += 1;
    this.waiting.add(peer);
    this.room.sendPayload(HISTORY_CHANNEL, { type: "request" }, [peer]).catch(() => {});
  }

  async onMessage(peer, value) {
    if (!value || typeof value !== "object" || Array.isArray(value)) return;
    if (value.type === "request") {
      const last = this.answered.get(peer);
      if (last !== undefined && Date.now() - last < ANSWER_INTERVAL) return;
      this.answered.set(peer, Date.now());
      const messages = fitting(this.recent().map(({ message, key }) => ({ ...message, key })));
      this.room.sendPayload(HISTORY_CHANNEL, { type: "messages", messages }, [peer]).catch(() => {});
    } else if (value.type === "messages" && Array.isArray(value.messages)
      && value.messages.length <= MAX_MESSAGES && this.waiting.delete(peer)) {
      const shown = [];
      const now = Date.now();
      for (const entry of value.messages) {
        const message = await this.checked(entry);
        if (message === null) {
          this.forged += 1;
          continue;
        }
        if (this.kept.has(`${message.from} ${message.id}`)) continue; // seen already
        if (message.ts < now - MAX_AGE || message.ts > now + MAX_SKEW) {
          this.stale += 1;
          continue;
        }
        // The nick is not signed: the one the room knows, never the answerer's word.
        message.nick = this.room.peers.get(message.from)?.nick ?? this.room.overlay.nick(message.from)
          ?? UNKNOWN_NICK;
        this.keep(message, entry.key);
        shown.push(message);
      }
      for (const { id, from, nick, ts, text } of inOrder(shown)) {
        this.room.emit("message", { id, from, nick, ts, text, history: true });
      }
    }
  }

  // The entry's message if it is its author's, signed for this room; else null.
  async checked(entry) {
    if (!entry || typeof entry !== "object" || typeof entry.key !== "string") return null;
    try {
      const message = decodeChannelFrame(JSON.stringify({ ...entry, acks: undefined }));
      if (message.type !== "chat") return null;
      const content = encoder.encode(chatSignedContent(this.room.name, message));
      return await verifiedBy(message.from, entry.key, message.sig, content) ? message : null;
    } catch {
      return null;
    }
  }
}
