// Sealed rooms in the browser: the same key derivation and sealing as mesh/sealing.py.
// WebCrypto has no scrypt, so it is here (RFC 7914: PBKDF2-HMAC-SHA256 around ROMix
// with BlockMix over Salsa20/8); AES-GCM and HMAC come from WebCrypto.

const encoder = new TextEncoder();

function salsa208(B) {
  const x = B.slice();
  const R = (a, b) => (a << b) | (a >>> (32 - b));
  for (let i = 0; i < 8; i += 2) {
    x[4] ^= R(x[0] + x[12], 7); x[8] ^= R(x[4] + x[0], 9);
    x[12] ^= R(x[8] + x[4], 13); x[0] ^= R(x[12] + x[8], 18);
    x[9] ^= R(x[5] + x[1], 7); x[13] ^= R(x[9] + x[5], 9);
    x[1] ^= R(x[13] + x[9], 13); x[5] ^= R(x[1] + x[13], 18);
    x[14] ^= R(x[10] + x[6], 7); x[2] ^= R(x[14] + x[10], 9);
    x[6] ^= R(x[2] + x[14], 13); x[10] ^= R(x[6] + x[2], 18);
    x[3] ^= R(x[15] + x[11], 7); x[7] ^= R(x[3] + x[15], 9);
    x[11] ^= R(x[7] + x[3], 13); x[15] ^= R(x[11] + x[7], 18);
    x[1] ^= R(x[0] + x[3], 7); x[2] ^= R(x[1] + x[0], 9);
    x[3] ^= R(x[2] + x[1], 13); x[0] ^= R(x[3] + x[2], 18);
    x[6] ^= R(x[5] + x[4], 7); x[7] ^= R(x[6] + x[5], 9);
    x[4] ^= R(x[7] + x[6], 13); x[5] ^= R(x[4] + x[7], 18);
    x[11] ^= R(x[10] + x[9], 7); x[8] ^= R(x[11] + x[10], 9);
    x[9] ^= R(x[8] + x[11], 13); x[10] ^= R(x[9] + x[8], 18);
    x[12] ^= R(x[15] + x[14], 7); x[13] ^= R(x[12] + x[15], 9);
    x[14] ^= R(x[13] + x[12], 13); x[15] ^= R(x[14] + x[13], 18);
  }
  for (let i = 0; i < 16; i++) B[i] = (B[i] + x[i]) >>> 0;
}

function blockMix(B, Y, r) {
  const X = B.slice((2 * r - 1) * 16, 2 * r * 16);
  for (let i = 0; i < 2 * r; i++) {
    for (let k = 0; k < 16; k++) X[k] ^= B[i * 16 + k];
    salsa208(X);
    // Even blocks go to the first half of the output, odd ones to the second.
    Y.set(X, ((i >> 1) + (i & 1) * r) * 16);
  }
}

function roMix(block, N, r) {
  const words = 32 * r;
  let X = new Uint32Array(block.buffer, block.byteOffset, words).slice();
  let Y = new Uint32Array(words);
  const V = new Uint32Array(words * N);
  for (let i = 0; i < N; i++) {
    V.set(X, i * words);
    blockMix(X, Y, r);
    [X, Y] = [Y, X];
  }
  for (let i = 0; i < N; i++) {
    const j = X[(2 * r - 1) * 16] & (N - 1);
    for (let k = 0; k < words; k++) X[k] ^= V[j * words + k];
    blockMix(X, Y, r);
    [X, Y] = [Y, X];
  }
  return new Uint8Array(X.buffer);
}

async function pbkdf2(password, salt, bytes) {
  const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: 1 }, key, bytes * 8);
  return new Uint8Array(bits);
}

export async function scrypt(password, salt, N, r, p, length) {
  const B = await pbkdf2(password, salt, p * 128 * r);
  for (let i = 0; i < p; i++) {
    B.set(roMix(B.slice(i * 128 * r, (i + 1) * 128 * r), N, r), i * 128 * r);
  }
  return pbkdf2(password, B, length);
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
// mesh/sealing.py: a blob's size tells the broker the kind of message, not a nick's length.
function padded(bytes) {
  let size = 1024;
  while (size < bytes.length) size *= 2;
  const out = new Uint8Array(size).fill(0x20);
  out.set(bytes);
  return out;
}
