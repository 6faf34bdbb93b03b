// What the data plane's actions tell the page's listeners: the events to dispatch, on
// the room or on one of its channels (mesh/room_core.py turns the same actions into the
// Python room's events). I/O-free: meshchat.js dispatches what this returns.

import { CHAT_CHANNEL } from "./payloads.js";

// The framework's own channels (files, history...): their modules report on them.
export const RESERVED_PREFIX = "meshchat/";

// [[target, type, detail], ...]: target null for the room, else a channel's name.
// `nickOf(id)`: the nick the peer announced when it joined, which is what a line is
// shown under, not the one its frame names.
export function newsOf(action, nickOf) {
  const peer = action.peer;
  switch (action.type) {
    case "MessageReceived": {
      const { id, from, ts, text, to = [] } = action.message;
      // sender/timestamp_ms as in the Python API and --json; from/ts as before. A
      // private line (sealed to chosen members) says so, and to whom.
      const detail = { id, from, nick: nickOf(from), ts, text, sender: from, timestamp_ms: ts,
        private: to.length > 0, to };
      return [[null, "message", detail], [CHAT_CHANNEL, "message", { ...detail, data: text, size: text.length }]];
    }
    case "PayloadReceived": {
      const h = action.header;
      const data = h.kind === "bytes" ? action.body : action.value;
      return [[h.channel, "message", {
        id: h.id, channel: h.channel, from: h.sender, nick: nickOf(h.sender), ts: h.ts,
        size: h.size, sha256: h.sha256, data, sender: h.sender, timestamp_ms: h.ts,
      }]];
    }
    case "MessageUndelivered":
      return [[null, "undelivered", { id: action.id, peer, reason: action.reason }]];
    case "PayloadDelivered": {
      const { id, channel } = action.header;
      if (channel.startsWith(RESERVED_PREFIX)) return [];
      const detail = { id, channel, peer };
      return [[null, "delivered", detail], [channel, "delivered", detail]];
    }
    case "PayloadUndelivered": {
      const { id, channel } = action.header;
      if (channel.startsWith(RESERVED_PREFIX)) return [];
      const detail = { id, channel, peer, reason: action.reason };
      return [[null, "undelivered", detail], [channel, "undelivered", detail]];
    }
    case "TransferProgress": {
      const { channel, id, sending, done, total } = action;
      if (channel.startsWith(RESERVED_PREFIX)) return []; // a file's chunks: files.js reports
      const detail = { channel, id, peer, sending, done, total };
      return [[null, "progress", detail], [channel, "progress", detail]];
    }
    default:
      return [];
  }
}
