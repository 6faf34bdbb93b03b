// Who we are in a room: a fresh Ed25519 key per join (WebCrypto), our id its hash.

import { canonical } from "./frames.js";
import { b64url, clientIdFor, unb64url, verifiedBy } from "./keys.js";

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

// Checks signatures by the keys peers proved in signalling, each key imported once.
export class KeyRing {
  constructor() {
    this.imported = new WeakMap(); // a peer's state (the signalling core's) -> its key
  }

  // Whether `signature` over `bytes` is by `peer`'s key ({pk}); false without one.
  async verify(peer, signature, bytes) {
    if (typeof peer?.pk !== "string") return false;
    if (!this.imported.has(peer)) {
      this.imported.set(peer, crypto.subtle.importKey(
        "raw", unb64url(peer.pk), { name: "Ed25519" }, false, ["verify"]));
    }
    return crypto.subtle.verify("Ed25519", await this.imported.get(peer), unb64url(signature), bytes);
  }
}
