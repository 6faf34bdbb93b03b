// The browser's I/O-free core against the shared vectors made from the Python core
// (tests/vectors/make_vectors.py): the two implementations must agree on every one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  ablyChannel, admitCandidate, chatSignedContent, cleanNick, clientTopic, decodeChannelFrame,
  globalTopic, limitSdp, newBudget,
} from "../../broker/web/frames.js";
import { visible } from "../../broker/web/text.js";
import { inOrder } from "../../broker/web/history.js";
import { Gossip, authentic, decodeEnvelope } from "../../broker/web/gossip.js";
import { b64url, clientIdFor, unb64url } from "../../broker/web/keys.js";
import { fingerprint, grouped, safetyNumber } from "../../broker/web/safety.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/vectors.json", import.meta.url), "utf8"));

function decoded(frame) {
  try {
    return { valid: true, ...decodeChannelFrame(frame) };
  } catch {
    return { valid: false };
  }
}

test("every data-channel frame is judged as the Python core judges it", () => {
  for (const { frame, expect } of vectors.channel_frames) {
    assert.deepEqual(decoded(frame), expect, frame.slice(0, 120));
  }
});

test("candidates are accepted or refused as in Python", () => {
  for (const { candidate, accepted } of vectors.candidates) {
    assert.equal(admitCandidate(newBudget(), candidate) === null, accepted, candidate);
  }
});

test("a sprayed SDP is cut down to the same candidates", () => {
  assert.equal(limitSdp(vectors.sdp_limit.sdp, newBudget()), vectors.sdp_limit.expect);
});

test("nicks are cleaned as in Python", () => {
  for (const { nick, expect } of vectors.nicks) assert.equal(cleanNick(nick), expect, nick);
});

const fromB64url = (text) => Buffer.from(text, "base64url");

async function verifies(pk, sig, content) {
  const key = await crypto.subtle.importKey(
    "raw", fromB64url(pk), { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify("Ed25519", key, fromB64url(sig), new TextEncoder().encode(content));
}

test("chat signatures made in Python verify here, over the same bytes, and forgeries do not",
  async () => {
    for (const { room, pk, message, content } of vectors.signed_messages) {
      assert.equal(chatSignedContent(room, message), content);
      assert.equal(await verifies(pk, message.sig, content), true, message.text);
      const altered = chatSignedContent(room, { ...message, text: message.text + "!" });
      assert.equal(await verifies(pk, message.sig, altered), false);
      const otherRoom = chatSignedContent("elsewhere", message);
      assert.equal(await verifies(pk, message.sig, otherRoom), false);
    }
  });

test("topic names and Ably channels are built as in Python", () => {
  for (const { room, id, global, client, ably } of vectors.topics) {
    assert.equal(globalTopic(room), global);
    assert.equal(clientTopic(room, id), client);
    assert.equal(ablyChannel(global), ably);
  }
});

test("the page's scrypt (@noble/hashes) derives the keys Python's OpenSSL derives", async () => {
  const { scryptAsync } = await import("../../broker/web/vendor/noble-hashes/scrypt.js");
  const encode = (text) => new TextEncoder().encode(text);
  for (const { password, salt, n, r, p, length, key } of vectors.scrypt) {
    const derived = await scryptAsync(encode(password), encode(salt),
      { N: n, r, p, dkLen: length, maxmem: 2 ** 26 });
    assert.equal(Buffer.from(derived).toString("hex"), key, `${password} / ${salt}`);
  }
});

test("names of received files are made safe as in Python", async () => {
  const { safeFileName } = await import("../../broker/web/files.js");
  for (const { offered, safe } of vectors.file_names) {
    assert.equal(safeFileName(offered), safe, JSON.stringify(offered).slice(0, 80));
  }
});

test("envelopes of a partial mesh are their author's exactly when Python says so", async () => {
  for (const { frame, authentic: expected } of vectors.envelopes) {
    const wire = JSON.parse(frame);
    const envelope = decodeEnvelope(wire, frame);
    assert.equal(await authentic("lobby", envelope), expected, frame.slice(0, 160));
    assert.equal(await authentic("elsewhere", envelope), false);
  }
});

test("envelopes with bytes attached are judged as the Python core judges them", async () => {
  const reader = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = await crypto.subtle.exportKey("raw", reader.publicKey);
  const id = await clientIdFor(raw);
  for (const { frame, verdict } of vectors.binary_envelopes) {
    const core = new Gossip({ clientId: id, room: "lobby", key: b64url(raw), sign: async () => "" });
    const bytes = Uint8Array.from(frame.match(/../g), (h) => parseInt(h, 16));
    const actions = await core.receiveBinary("B".repeat(32), bytes, 0);
    const judged = actions.some((a) => a.type === "Forged") ? "forged"
      : actions.some((a) => a.type === "PeerMisbehaved") ? "malformed" : "authentic";
    assert.equal(judged, verdict, frame.slice(0, 80));
  }
});

test("text from peers is shown as the app shows it: escapes, never obeyed", () => {
  for (const { text, shown } of vectors.visible_text) assert.equal(visible(text), shown, JSON.stringify(text));
});

test("history lines are shown in the order Python shows them, whatever the answer's", () => {
  for (const { lines, shown } of vectors.history_order) {
    const messages = lines.map((line) => ({ ...line, text: `${line.from}${line.seq}` }));
    assert.deepEqual(inOrder(messages).map((m) => m.text), shown);
  }
});

test("safety numbers are the Python client's, digit for digit", async () => {
  assert.ok(vectors.safety_numbers.length >= 4);
  for (const { key, other, fingerprint: expected, safety_number: shared } of vectors.safety_numbers) {
    assert.equal(await fingerprint(unb64url(key)), expected, key);
    assert.equal(await safetyNumber(unb64url(key), unb64url(other)), shared, key);
    assert.equal(await safetyNumber(unb64url(other), unb64url(key)), shared, "either order");
  }
  assert.equal(grouped("1234512345"), "12345 12345");
});
