import { CHAT_CHANNEL } from "./payloads.js";

// One named channel of a room (Room.channel): an EventTarget for "message", "progress",
// "delivered" and "undelivered".
export class Channel extends EventTarget {
  constructor(room, name) {
    super();
    this.room = room;
    this.name = name;
  }

  async send(data, { to = null } = {}) {
    if (this.name === CHAT_CHANNEL) {
      if (typeof data !== "string" || to !== null) throw new Error("the chat channel carries text, to everyone");
      return this.room.send(data);
    }
    return this.room.sendPayload(this.name, data, to);
  }

  deliver(detail) { this.dispatchEvent(new CustomEvent("message", { detail })); }
}
