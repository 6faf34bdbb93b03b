// Keys and ids, as wire/keys.py has them: base64url without padding, and a client's
// id, the first 32 hex digits of the SHA-256 of its raw Ed25519 public key.
import { hex } from "./dataplane.js";

export function b64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function unb64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

export async function clientIdFor(rawPublicKey) {
  return hex(await crypto.subtle.digest("SHA-256", rawPublicKey)).slice(0, 32);
}

// Whether `publicKey` (base64url) is the key `author`'s id derives from, and signed
// `bytes` (wire/keys.py's verify). Anything malformed is a "no".
export async function verifiedBy(author, publicKey, signature, bytes) {
  try {
    const raw = unb64url(publicKey);
    if (raw.length !== 32 || await clientIdFor(raw) !== author) return false;
    const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, unb64url(signature), bytes);
  } catch {
    return false;
  }
}
