// Who we are in a room: an Ed25519 key (WebCrypto), our id its hash, and an X25519 key
// private lines are sealed to (private.js). Fresh ones per join, or, for "remember me
// on this browser", ones kept in IndexedDB as keys that cannot be exported: the same id
// every visit, and no script can read them out.

import { canonical } from "./frames.js";
import { b64url, clientIdFor, unb64url, verifiedBy } from "./keys.js";
import { newSealKey } from "./private.js";

const encoder = new TextEncoder();

export class Identity {
  static async create() {
    const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", keys.publicKey);
    const id = await clientIdFor(raw);
    return new Identity(keys.privateKey, b64url(raw), id, await newSealKey());
  }

  // The identity kept on this browser, made and kept the first time.
  static async remembered() {
    const kept = await browserStore("get", "self");
    if (kept) {
      if (!kept.sealKey) { // kept before private lines: its X25519 key is made now
        kept.sealKey = await newSealKey();
        await browserStore("put", "self", kept);
      }
      return new Identity(kept.privateKey, kept.publicKey, await clientIdFor(unb64url(kept.publicKey)), kept.sealKey);
    }
    const identity = await Identity.create();
    await browserStore("put", "self", { privateKey: identity.privateKey, publicKey: identity.publicKey,
      sealKey: identity.sealKey });
    return identity;
  }

  // This browser forgets its identity: the next visit is a new stranger.
  static async forget() { await browserStore("delete", "self"); }

  constructor(privateKey, publicKeyB64, id, sealKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKeyB64;
    this.id = id;
    this.sealKey = sealKey; // {privateKey, publicKey (raw), publicKeyB64}
  }

  async sign(text) {
    return this.signBytes(encoder.encode(text));
  }

  async signBytes(bytes) {
    return b64url(await crypto.subtle.sign("Ed25519", this.privateKey, bytes));
  }
}

const STORE = "identity";

// One operation ("get", "put" with a value, "delete") on what this browser keeps for
// meshchat: its identity ("self"), and the contacts of it ("contacts-<id>").
export function browserStore(operation, key, value) {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open("meshchat", 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const store = db.transaction(STORE, operation === "get" ? "readonly" : "readwrite").objectStore(STORE);
      const request = operation === "put" ? store.put(value, key) : store[operation](key);
      request.onsuccess = () => { db.close(); resolve(request.result); };
      request.onerror = () => { db.close(); reject(request.error); };
    };
  });
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
