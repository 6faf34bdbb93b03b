// The browser's I/O-free core against the shared vectors made from the Python core
// (tests/vectors/make_vectors.py): the two implementations must agree on every one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  admitCandidate, cleanNick, decodeChannelFrame, limitSdp, newBudget,
} from "../../broker/web/frames.js";

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
