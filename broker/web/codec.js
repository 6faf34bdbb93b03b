// Signalling messages as they go over pub/sub (mesh/signalling/codec.py): signed with
// our key, and sealed with the room secret if the room has one; the other way, opened
// and their signature checked. The signalling core (signalling.js) checks the fields.

import { canonical } from "./frames.js";
import { verified } from "./identity.js";
import { sealKeyBytes } from "./private.js";

export const PROTOCOL_VERSION = 1;
const MAX_SEAL_KEYS = 4096; // senders whose X25519 key is remembered (codec.py)

export class SignalCodec {
  constructor(room, identity, seal = null) {
    Object.assign(this, { room, identity, seal });
    this.sealKeys = new Map(); // sender -> the X25519 key (raw) it announced, oldest first
  }

  // The X25519 key `id` announced in a message it signed (private.js seals to it).
  sealKeyOf(id) { return this.sealKeys.get(id) ?? null; }

  // What to publish for `message` ({type, ...fields}).
  async encode(message) {
    const wire = { v: PROTOCOL_VERSION, room: this.room, from: this.identity.id, ...message,
      pk: this.identity.publicKey, xk: this.identity.sealKey.publicKeyB64 };
    wire.sig = await this.identity.sign(canonical(wire));
    return this.seal ? { v: PROTOCOL_VERSION, sealed: await this.seal.seal(canonical(wire)) } : wire;
  }

  // A published message opened (if sealed), of this room, someone else's and signed by
  // the key it names: its wire form; else null.
  async open(data) {
    if (!data || typeof data !== "object") return null;
    let wire = data;
    if (this.seal) {
      if (typeof data.sealed !== "string") return null; // unsealed: not one of us
      try { wire = JSON.parse(await this.seal.open(data.sealed)); } catch {
        console.warn("cannot open sealed message: wrong room secret?");
        return null;
      }
      if (!wire || typeof wire !== "object") return null;
    }
    if (wire.v !== PROTOCOL_VERSION || wire.room !== this.room || wire.from === this.identity.id) return null;
    if (!(await verified(wire))) { console.warn("dropped a forged or altered message"); return null; }
    if (wire.xk !== undefined) { // older clients announce none: they get no private lines
      const key = sealKeyBytes(wire.xk);
      if (!key) { console.warn("dropped a message with a malformed 'xk'"); return null; }
      this.sealKeys.delete(wire.from);
      this.sealKeys.set(wire.from, key);
      if (this.sealKeys.size > MAX_SEAL_KEYS) this.sealKeys.delete(this.sealKeys.keys().next().value);
    }
    return wire;
  }
}
