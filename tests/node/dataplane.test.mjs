// The browser's data-plane core replayed through the traces made by the Python core
// (tests/vectors/traces.py): same inputs, same actions, byte for byte. And the binary
// payload frames judged as Python judges them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { DataPlane } from "../../broker/web/dataplane.js";
import { decodeBinaryFrame } from "../../broker/web/payloads.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/vectors.json", import.meta.url), "utf8"));

const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
const b64 = (data) => Buffer.from(data).toString("base64");
const b64url = (data) => Buffer.from(data).toString("base64url");

// The traces' fixed keys: seeds 0..31 (the subject) and 32..63, as in traces.py.
async function signerFor(seed) {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  return async (data) => b64url(await crypto.subtle.sign("Ed25519", key, data));
}

function verifierFor(keys) {
  return async (author, signature, data) => {
    if (!(author in keys)) return false;
    const key = await crypto.subtle.importKey(
      "raw", Buffer.from(keys[author], "base64url"), { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify("Ed25519", key, Buffer.from(signature, "base64url"), data);
  };
}

function normal(action) {
  switch (action.type) {
    case "SendFrame":
      return typeof action.frame === "string"
        ? { send: action.peer, text: action.frame } : { send: action.peer, bytes: b64(action.frame) };
    case "Pump": return { pump: action.peer };
    case "FlushAcksAt": return { flush_at: action.when };
    case "MessageReceived": {
      const { id, seq, from, ts, text } = action.message;
      return { chat: { id, seq, from, ts, text } };
    }
    case "MessageUndelivered":
      return { undelivered: { id: action.id, peer: action.peer, reason: action.reason } };
    case "PayloadReceived": {
      const h = action.header;
      const payload = { id: h.id, from: h.sender, channel: h.channel, seq: h.seq, ts: h.ts,
        kind: h.kind, size: h.size, sha256: h.sha256, to: h.to };
      if (action.body) payload.bytes = b64(action.body);
      else payload.value = action.value;
      return { payload };
    }
    case "PayloadDelivered":
      return { payload_delivered: { id: action.header.id, peer: action.peer } };
    case "PayloadUndelivered":
      return { payload_undelivered: { id: action.header.id, peer: action.peer, reason: action.reason } };
    case "TransferProgress": {
      const { channel, id, peer, sending, done, total } = action;
      return { progress: { channel, id, peer, sending, done, total } };
    }
    case "PeerSaidBye": return { bye: action.peer };
    case "PeerSilent": return { silent: action.peer, silence: action.silence };
    case "WeStalled": return { stalled: action.seconds };
    case "PeerMisbehaved": return { misbehaved: action.peer };
    case "DropPeer": return { drop: action.peer };
  }
  throw new Error(`no normal form for ${action.type}`);
}

async function run(plane, step) {
  switch (step.call) {
    case "opened": return plane.opened(step.peer, step.now);
    case "closed": return plane.closed(step.peer, step.now, step.said_bye);
    case "receive":
      return plane.receive(step.peer, "text" in step ? step.text : bytes(step.bytes), step.now);
    case "send_chat": return (await plane.sendChat(step.text, step.now, step.ts))[1];
    case "send_payload": {
      const data = "bytes" in step ? bytes(step.bytes) : step.json;
      return (await plane.sendPayload(step.channel, data, step.now, step.ts, step.to))[1];
    }
    case "pump": return plane.pump(step.peer, step.buffered, step.now);
    case "flush": return plane.flush(step.now);
    case "tick": return plane.tick(step.now);
    case "leave": return plane.leave();
  }
  throw new Error(`unknown call ${step.call}`);
}

for (const trace of vectors.traces) {
  test(`trace: ${trace.name}`, async () => {
    let next = trace.first_id;
    const plane = new DataPlane({
      clientId: trace.me, nick: trace.nick, room: trace.room,
      sign: await signerFor(Buffer.from([...Array(32).keys()])),
      verify: verifierFor(trace.keys),
      newId: () => (next++).toString(16).padStart(32, "0"),
      ...(trace.wanted ? { wanted: (channel) => trace.wanted.includes(channel) } : {}),
    });
    for (const [n, step] of trace.steps.entries()) {
      const where = `step ${n}: ${step.call}`;
      if (step.error) {
        await assert.rejects(async () => run(plane, step), Error, where);
      } else {
        const actions = await run(plane, step);
        assert.deepEqual(actions.map(normal), step.expect, where);
      }
      assert.equal(plane.forged, step.forged, `${where}: forged count`);
      for (const [peer, rtt] of Object.entries(step.rtt ?? {})) {
        assert.equal(plane.roundTrip(peer), rtt, `${where}: round trip`);
      }
    }
  });
}

test("binary payload frames are judged as the Python core judges them", () => {
  for (const { frame, valid, kind } of vectors.binary_frames) {
    let parsed = null;
    try { parsed = decodeBinaryFrame(bytes(frame)); } catch { /* invalid */ }
    assert.equal(parsed !== null, valid, frame.slice(0, 80));
    if (valid) assert.equal(parsed.start ? "start" : "chunk", kind);
  }
});
