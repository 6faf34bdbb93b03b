// Sealed rooms in the browser: the same key derivation and sealing as mesh/signalling/sealing.py.
// WebCrypto has no scrypt: it comes from @noble/hashes (audited; a pinned, unmodified
// release file, see vendor/manifest.json); AES-GCM and HMAC come from WebCrypto.

import { scryptAsync } from "/vendor/noble-hashes/scrypt.js";

const encoder = new TextEncoder();

// scrypt (RFC 7914) as mesh/signalling/sealing.py calls it; yields to the page while it works.
export async function scrypt(password, salt, N, r, p, length) {
  return scryptAsync(password, salt, { N, r, p, dkLen: length, maxmem: 2 ** 26 });
}

export class RoomSeal {
  static async create(room, secret, b64url, unb64url) {
    const key = await scrypt(encoder.encode(secret),
      encoder.encode(`meshchat room v1:${room}`), 16384, 8, 1, 32);
    const aes = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]);
    const hmacKey = await crypto.subtle.importKey(
      "raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, encoder.encode("topic")));
    const tag = "s-" + [...mac].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 24);
    return new RoomSeal(aes, encoder.encode(room), tag, b64url, unb64url);
  }

  constructor(aes, aad, topicTag, b64url, unb64url) {
    Object.assign(this, { aes, aad, topicTag, b64url, unb64url });
  }

  async seal(text) {
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: this.aad }, this.aes, padded(encoder.encode(text)));
    const blob = new Uint8Array(12 + sealed.byteLength);
    blob.set(nonce);
    blob.set(new Uint8Array(sealed), 12);
    return this.b64url(blob);
  }

  async open(sealedText) {
    const blob = this.unb64url(sealedText);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: blob.slice(0, 12), additionalData: this.aad }, this.aes, blob.slice(12));
    return new TextDecoder().decode(plain);
  }
}

// Trailing spaces (JSON ignores them) up to the next power of two, at least 1 KiB, as in
// mesh/signalling/sealing.py: a blob's size tells the broker the kind of message, not a nick's length.
function padded(bytes) {
  let size = 1024;
  while (size < bytes.length) size *= 2;
  const out = new Uint8Array(size).fill(0x20);
  out.set(bytes);
  return out;
}
