// The page's signalling core (broker/web/signalling.js) against traces the Python core
// made (tests/vectors/signalling_traces.py): the same inputs give the same actions, in
// the same order, and the same messages are rejected.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { Admission, Signalling, decodeSignal } from "../../broker/web/signalling.js";

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/vectors.json", import.meta.url), "utf8"));
const { me, nick, timing, traces } = vectors.signalling;

function core({ acceptLink } = {}) {
  let session = 0;
  return new Signalling({
    id: me, nick, timing, random: () => 0.5, newSession: () => `s${++session}`, acceptLink,
  });
}

function step(signalling, given) {
  const { do: input, expect, dropped, ...args } = given;
  switch (input) {
    case "received":
      return signalling.received(args.wire, args.now, { lane: args.lane, global: args.global });
    case "localDescription":
      return signalling.localDescription(args.pcId, args.sdpType, args.sdp, args.now);
    default:
      return signalling[input](...Object.values(args)) ?? [];
  }
}

for (const { name, steps } of traces) {
  test(`signalling trace: ${name.replaceAll("_", " ")}`, () => {
    const signalling = core();
    steps.forEach((given, index) => {
      const where = `${name} step ${index} (${given.do} at ${given.now})`;
      assert.deepEqual(step(signalling, given), given.expect, where);
      assert.equal(signalling.dropped, given.dropped, `${where}: messages dropped`);
    });
  });
}

test("the traces cover every kind of action the core returns", () => {
  const kinds = new Set(traces.flatMap((t) => t.steps.flatMap((s) => s.expect.map((a) => a.type))));
  assert.deepEqual([...kinds].sort(), [
    "AddRemoteCandidate", "Announced", "ClosePeerConnection", "CreatePeerConnection", "Departed",
    "LinkClosed", "LinkOpened", "Publish", "SetRemoteDescription",
  ]);
});

test("a stranger's request for a link is left unanswered while the overlay says no", () => {
  let free = false;
  const signalling = core({ acceptLink: () => free });
  signalling.subscribed(0);
  signalling.tick(2);
  const stranger = "f".repeat(32);
  const offer = { type: "offer", from: stranger, to: me, session: "x1", sdp: "v=0\r\n", nick: "s" };
  assert.deepEqual(signalling.received(offer, 2.1), []);
  free = true;
  const taken = signalling.received({ ...offer, session: "x2" }, 2.2);
  assert.deepEqual(taken.map((a) => a.type), ["CreatePeerConnection", "SetRemoteDescription"]);
});

test("our own trickled candidates go to the peer of the current connection only", () => {
  const signalling = core();
  signalling.subscribed(0);
  signalling.tick(2);
  const big = "f".repeat(32);
  const [create] = signalling.received({ type: "hello", from: big, to: me, nick: "b" }, 2.1);
  const candidate = { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 };
  assert.deepEqual(signalling.localCandidate(create.pcId, candidate), [
    { type: "Publish", to: big, message: { type: "candidate", to: big, session: "s1", candidate } },
  ]);
  signalling.unlink(big);
  assert.deepEqual(signalling.localCandidate(create.pcId, candidate), []);
});

test("a directed message on the global topic is dropped", () => {
  const signalling = core();
  signalling.subscribed(0);
  signalling.tick(2);
  const hello = { type: "hello", from: "f".repeat(32), to: me, nick: "b" };
  assert.deepEqual(signalling.received(hello, 2.1, { global: true }), []);
  assert.equal(signalling.dropped, 1);
});

test("admission serves lanes in turn, drops stale strangers, and forgets met ones", () => {
  const admission = new Admission(0);
  admission.wait("conn-1", "a", "hello a", 0);
  admission.wait("conn-1", "b", "hello b", 0);
  admission.wait("conn-1", "c", "hello c", 0); // a lane keeps its newest two
  admission.wait("conn-2", "d", "hello d", 0);
  admission.wait("conn-3", "e", "hello e", 0);
  admission.forget("e"); // met another way: its lane goes with it
  assert.deepEqual(admission.take(1, 0), [["b", "hello b"], ["d", "hello d"], ["c", "hello c"]]);
  admission.wait("conn-4", "f", "hello f", 1);
  assert.deepEqual(admission.take(5, 0), []); // waited too long: it will hello again
  assert.equal(admission.shed, 2);
});

test("decodeSignal keeps only what the protocol defines", () => {
  const from = "a".repeat(32);
  assert.deepEqual(decodeSignal({ type: "hello", from, nick: "ana", extra: 1, crowd: "yes" }),
    { type: "hello", from, nick: "ana" });
  assert.deepEqual(decodeSignal({ type: "candidate", from, to: from, session: "s", candidate: { candidate: "" } }),
    { type: "candidate", from, to: from, session: "s", candidate: null });
  assert.throws(() => decodeSignal([]), /JSON object/);
  assert.throws(() => decodeSignal({ type: "offer", from, to: from, session: "s", sdp: "v=0" + "x".repeat(40000), nick: "n" }), /exceeds/);
});
