// Safety numbers, as wire/safety_numbers.py makes them (docs/protocol.md, section 6):
// a key's 30-digit fingerprint from SHA-512 iterated over the raw Ed25519 public key,
// and the 60 digits two keys share, the smaller fingerprint first.
const VERSION = new TextEncoder().encode("meshchat safety number 1");
export const ITERATIONS = 5200;
const GROUPS = 6;

function joined(...parts) {
  const whole = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) { whole.set(part, at); at += part.length; }
  return whole;
}

// `publicKey`: the raw 32 bytes (Uint8Array).
export async function fingerprint(publicKey) {
  if (publicKey.length !== 32) throw new Error("an Ed25519 public key is 32 bytes");
  let digest = new Uint8Array(await crypto.subtle.digest("SHA-512", joined(VERSION, publicKey)));
  for (let i = 0; i < ITERATIONS; i++) {
    digest = new Uint8Array(await crypto.subtle.digest("SHA-512", joined(digest, publicKey)));
  }
  let digits = "";
  for (let group = 0; group < GROUPS; group++) {
    let value = 0n;
    for (const byte of digest.subarray(group * 5, group * 5 + 5)) value = (value << 8n) | BigInt(byte);
    digits += String(value % 100000n).padStart(5, "0");
  }
  return digits;
}

export async function safetyNumber(key, other) {
  return [await fingerprint(key), await fingerprint(other)].sort().join("");
}

// "123451234512345..." -> "12345 12345 12345 ...": for reading aloud.
export function grouped(digits) {
  return digits.match(/.{1,5}/g).join(" ");
}
