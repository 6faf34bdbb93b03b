// Who we are in a room: a fresh Ed25519 key per join (WebCrypto), our id its hash.

import { canonical } from "./frames.js";
import { b64url, clientIdFor, verifiedBy } from "./keys.js";

const encoder = new TextEncoder();

export class Identity {
  static async create() {
    const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", keys.publicKey);
    const id = await clientIdFor(raw);
    return new Identity(keys.privateKey, b64url(raw), id);
  }

  constructor(privateKey, publicKeyB64, id) {
    this.privateKey = privateKey;
    this.publicKey = publicKeyB64;
    this.id = id;
  }

  async sign(text) {
    return this.signBytes(encoder.encode(text));
  }

  async signBytes(bytes) {
    return b64url(await crypto.subtle.sign("Ed25519", this.privateKey, bytes));
  }
}

// Whether a signalling message in its wire form is signed by the key it names, which
// its sender id is the hash of.
export async function verified(wire) {
  if (typeof wire.pk !== "string" || typeof wire.sig !== "string") return false;
  const { sig, ...signed } = wire;
  return verifiedBy(wire.from, wire.pk, sig, encoder.encode(canonical(signed)));
}
