// Sealing to chosen members' X25519 keys, as mesh/private/seal.py does, with WebCrypto's
// X25519, HKDF and AES-GCM; and private chat lines (mesh/link/private_lines.py). Held
// equal to the Python side by the shared vectors (tests/vectors, tests/node).
//
// A seal is e_pub || wrap_1 || ... || wrap_n: an ephemeral X25519 key, then for each
// recipient, in the order of `to`, the content key under AES-256-GCM keyed by
// HKDF-SHA256(X25519(e, R), salt = e_pub || R_pub, info = "meshchat seal v1"), with a
// zero nonce and the context (room, channel, author, id, recipients) as associated
// data. Content: AES-256-GCM under the content key, nonce the part number.

import { MAX_TEXT_BYTES, canonical } from "./frames.js";
import { b64url, unb64url } from "./keys.js";

const encoder = new TextEncoder();
const INFO = encoder.encode("meshchat seal v1");
export const KEY_BYTES = 32, WRAP_BYTES = 48, MAX_SEALED_RECIPIENTS = 64;
const ZERO_NONCE = new Uint8Array(12);
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

// Our X25519 key pair: {privateKey (a CryptoKey that cannot be exported), publicKey
// (raw bytes), publicKeyB64}.
export async function newSealKey() {
  const keys = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  return { privateKey: keys.privateKey, publicKey: raw, publicKeyB64: b64url(raw) };
}

// An announced key (base64url) as its 32 bytes; null if it is not one.
export function sealKeyBytes(text) {
  if (typeof text !== "string" || !KEY_PATTERN.test(text)) return null;
  const raw = unb64url(text);
  return raw.length === KEY_BYTES ? raw : null;
}

export function sealContext(room, channel, from, id, to) {
  return encoder.encode(canonical({ room, channel, from, id, to: [...to] }));
}

export function sealBytes(recipients) { return KEY_BYTES + recipients * WRAP_BYTES; }

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

function nonce(index) {
  const bytes = new Uint8Array(12);
  new DataView(bytes.buffer).setBigUint64(4, BigInt(index));
  return bytes;
}

async function exchange(privateKey, publicRaw) {
  const peer = await crypto.subtle.importKey("raw", publicRaw, { name: "X25519" }, false, []);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: peer }, privateKey, 256));
}

async function kek(shared, ephemeral, recipient) {
  const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: concat(ephemeral, recipient), info: INFO }, ikm, 256);
  return aesKey(new Uint8Array(bits));
}

const aesKey = (raw) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);

// A fresh content key and the seal that gives it to each of `recipientKeys` (raw).
export async function newSeal(recipientKeys, context) {
  if (recipientKeys.length < 1 || recipientKeys.length > MAX_SEALED_RECIPIENTS) {
    throw new Error(`a seal is for 1-${MAX_SEALED_RECIPIENTS} recipients`);
  }
  const contentKey = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const ephemeral = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const ephemeralPublic = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
  const wraps = [ephemeralPublic];
  for (const recipient of recipientKeys) {
    const key = await kek(await exchange(ephemeral.privateKey, recipient), ephemeralPublic, recipient);
    wraps.push(new Uint8Array(await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: ZERO_NONCE, additionalData: context }, key, contentKey)));
  }
  return [contentKey, concat(...wraps)];
}

// The content key in `seal` at our place `index`, with our key ({privateKey, publicKey});
// throws if it is not ours or was altered.
export async function contentKeyFrom(ours, seal, index, context) {
  const ephemeral = seal.subarray(0, KEY_BYTES);
  const wrap = seal.subarray(KEY_BYTES + index * WRAP_BYTES, KEY_BYTES + (index + 1) * WRAP_BYTES);
  if (wrap.length !== WRAP_BYTES) throw new Error("the seal holds no key for us");
  try {
    const key = await kek(await exchange(ours.privateKey, ephemeral), ephemeral, ours.publicKey);
    return new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: ZERO_NONCE, additionalData: context }, key, wrap));
  } catch {
    throw new Error("the seal does not open with our key");
  }
}

// The content key `seal` (base64url, as messages carry it) gives us, `ownId` among the
// recipients `to` (mesh/private/seal.py's open_seal); throws saying why not.
export async function openSeal(ours, seal, to, ownId, context) {
  const index = to.indexOf(ownId);
  if (index < 0) throw new Error("it is for others");
  const raw = unb64url(seal);
  if (raw.length !== sealBytes(to.length)) throw new Error("its seal is not one key per recipient");
  return contentKeyFrom(ours, raw, index, context);
}

// The X25519 keys (raw) the members `to` announced, in that order (seal.py's keys_for).
export function keysFor(to, sealKeyOf) {
  const keys = to.map((peer) => sealKeyOf(peer));
  const missing = to.filter((_, i) => !keys[i]);
  if (missing.length) throw new Error(`no key for private messages from ${missing.join(", ")} (an older client?)`);
  return keys;
}

export async function encryptPart(contentKey, index, plaintext, context) {
  return new Uint8Array(await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce(index), additionalData: context }, await aesKey(contentKey), plaintext));
}

export async function decryptPart(contentKey, index, ciphertext, context) {
  try {
    return new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce(index), additionalData: context }, await aesKey(contentKey), ciphertext));
  } catch {
    throw new Error("sealed content was altered");
  }
}

// -- private chat lines --

// What the author of a private line signs (chat_frames.py's private_signed_content).
export function privateSignedContent(room, line) {
  const { id, seq, from, ts, to, seal, sealed } = line;
  return canonical({ channel: "chat", from, id, room, seq, ts, to, seal, sealed });
}

export function encodePrivate(line) {
  const { id, seq, from, nick, ts, to, seal, sealed, sig } = line;
  return JSON.stringify({ type: "chat", id, seq, from, nick, ts, to, seal, sealed, sig });
}

// A private line for `message` ({id, seq, from, nick, ts, text}) sealed to `to` (sorted
// ids) whose keys are `recipientKeys`, signed with `sign(bytes)`.
export async function sealLine(message, to, recipientKeys, room, sign) {
  const context = sealContext(room, "chat", message.from, message.id, to);
  const [contentKey, seal] = await newSeal(recipientKeys, context);
  const sealed = await encryptPart(contentKey, 0, encoder.encode(message.text), context);
  const { id, seq, from, nick, ts } = message;
  const line = { type: "chat", id, seq, from, nick, ts, to, seal: b64url(seal), sealed: b64url(sealed) };
  line.sig = await sign(encoder.encode(privateSignedContent(room, line)));
  return line;
}

// The text of `line` (its signature checked already) for us, `ownId` with our key
// `ours`; throws saying why when it is not for us or does not open.
export async function openLine(line, room, ownId, ours) {
  const context = sealContext(room, "chat", line.from, line.id, line.to);
  const contentKey = await openSeal(ours, line.seal, line.to, ownId, context);
  const sealed = unb64url(line.sealed);
  const text = new TextDecoder("utf-8", { fatal: true }).decode(await decryptPart(contentKey, 0, sealed, context));
  if (encoder.encode(text).length > MAX_TEXT_BYTES) throw new Error("private text exceeds the size limit");
  return text;
}

// -- payloads relayed to chosen members (mesh/partial/sealed_relays.py) --

// A payload of ours sealed for `to` (sorted ids) whose keys are `keys`: its seal
// (base64url), and how to encrypt its value (index 0) or its parts.
export async function sealPayload(room, from, channel, id, to, keys) {
  const context = sealContext(room, channel, from, id, to);
  const [contentKey, seal] = await newSeal(keys, context);
  return { seal: b64url(seal), encrypt: (index, bytes) => encryptPart(contentKey, index, bytes, context) };
}

const MAX_OPEN_KEYS = 64;

// Opening what is relayed to us sealed: each payload's content key unwrapped once.
export class SealedRelays {
  constructor(room, ownId, ours) {
    Object.assign(this, { room, ownId, ours });
    this.keys = new Map(); // "author id seal" -> content key, oldest first
  }

  async contentKey(author, channel, id, to, seal) {
    if (!to.includes(this.ownId)) throw new Error("a sealed payload for others");
    const context = sealContext(this.room, channel, author, id, to);
    const cached = `${author} ${id} ${seal}`;
    if (this.keys.has(cached)) return [this.keys.get(cached), context];
    const key = await openSeal(this.ours, seal, to, this.ownId, context);
    this.keys.set(cached, key);
    if (this.keys.size > MAX_OPEN_KEYS) this.keys.delete(this.keys.keys().next().value);
    return [key, context];
  }

  // The JSON value in a sealed "data" body ({channel, id, seal, sealed}) relayed to us.
  async openValue(author, body, to) {
    const [key, context] = await this.contentKey(author, body.channel, body.id, to, body.seal);
    const plaintext = await decryptPart(key, 0, unb64url(body.sealed), context);
    return [JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext)), plaintext.length];
  }

  // A sealed part (parts.js's readPart) with its bytes opened.
  async openPart(author, part, to) {
    const [key, context] = await this.contentKey(author, part.channel, part.id, to, part.seal);
    return { ...part, data: await decryptPart(key, part.i, part.data, context) };
  }
}
