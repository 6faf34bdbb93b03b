// Private lines in the page (private.js, dataplane.js): it opens what the Python side
// sealed to it and refuses altered copies (shared vectors), and lines it seals itself
// open for their recipients only, once, over the data plane.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { DataPlane } from "../../broker/web/dataplane.js";
import { Identity } from "../../broker/web/identity.js";
import { privateLine } from "../../broker/web/frames.js";
import { verifiedBy } from "../../broker/web/keys.js";
import { openLine, privateSignedContent, sealKeyBytes } from "../../broker/web/private.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/vectors.json", import.meta.url), "utf8"));
const encoder = new TextEncoder();

async function sealKeyOf({ x, d }) {
  const privateKey = await crypto.subtle.importKey(
    "jwk", { kty: "OKP", crv: "X25519", x, d }, { name: "X25519" }, false, ["deriveBits"]);
  return { privateKey, publicKey: sealKeyBytes(x), publicKeyB64: x };
}

test("a line the Python side sealed opens for each recipient, as signed, and for no one else", async () => {
  const { room, pk, text, line, content, recipients, not_for: stranger, unopenable } = vectors.sealed_lines;
  const parsed = privateLine(line);
  assert.equal(privateSignedContent(room, parsed), content);
  assert.equal(await verifiedBy(parsed.from, pk, parsed.sig, encoder.encode(content)), true);
  for (const recipient of recipients) {
    assert.equal(await openLine(parsed, room, recipient.id, await sealKeyOf(recipient)), text);
  }
  await assert.rejects(openLine(parsed, room, stranger.id, await sealKeyOf(stranger)), /for others/);
  const [first] = recipients;
  await assert.rejects(openLine({ ...parsed, to: [first.id] }, room, first.id, await sealKeyOf(first)));
  for (const altered of unopenable) {
    await assert.rejects(openLine(altered, room, first.id, await sealKeyOf(first)), altered.from);
  }
});

async function plane(identity, everyone) {
  const byId = new Map(everyone.map((who) => [who.id, who]));
  return new DataPlane({
    clientId: identity.id, nick: identity.id.slice(0, 4), room: "lobby",
    sign: (bytes) => identity.signBytes(bytes),
    verify: (author, signature, bytes) => verifiedBy(author, byId.get(author)?.publicKey ?? "", signature, bytes),
    sealKey: identity.sealKey,
    sealKeyOf: (id) => byId.get(id)?.sealKey.publicKey ?? null,
  });
}

test("the page's private line reaches its recipient sealed, once, and nobody else reads it", async () => {
  const [ana, bo, cy] = await Promise.all([Identity.create(), Identity.create(), Identity.create()]);
  const everyone = [ana, bo, cy];
  const [anaPlane, boPlane, cyPlane] = await Promise.all(everyone.map((who) => plane(who, everyone)));
  for (const [data, who] of [[anaPlane, ana], [boPlane, bo], [cyPlane, cy]]) {
    for (const other of everyone) if (other !== who) data.opened(other.id, 0);
  }
  const [sent, actions] = await anaPlane.sendPrivate("only bo", [bo.id], 1, 1000);
  assert.deepEqual([sent.delivered, sent.message.to], [[bo.id], [bo.id]]);
  assert.deepEqual(actions.map((a) => a.peer), [bo.id], "nothing goes to cy");
  const frame = actions[0].frame;
  assert.ok(!frame.includes("only bo"));
  const heard = (await boPlane.receive(ana.id, frame, 1.1)).filter((a) => a.type === "MessageReceived");
  assert.deepEqual(heard.map((a) => [a.message.text, a.message.to]), [["only bo", [bo.id]]]);
  const again = await boPlane.receive(ana.id, frame, 1.2);
  assert.deepEqual(again.filter((a) => a.type === "MessageReceived"), [], "a replay shows nothing");
  const stray = await cyPlane.receive(ana.id, frame, 1.1);
  assert.deepEqual(stray.map((a) => a.type), ["PeerMisbehaved"]);
  await assert.rejects(anaPlane.sendPrivate("hello", ["0".repeat(32)], 1, 1), /not in the room/);
});
