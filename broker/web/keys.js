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
