// History answers on the page (broker/web/history.js): what mesh/history.py decides.
import assert from "node:assert/strict";
import { test } from "node:test";

import { inOrder } from "../../broker/web/history.js";

test("each author's lines come in the order the author numbered them", () => {
  const line = (from, seq, ts) => ({ from, seq, ts, text: `${from}${seq}` });
  const answer = [line("alice", 1, 5), line("alice", 3, 5), line("bob", 1, 6), line("alice", 2, 5)];
  assert.deepEqual(inOrder(answer).map((m) => m.text), ["alice1", "alice2", "alice3", "bob1"]);
  const lying = [line("alice", 2, 1), line("alice", 1, 9)]; // times that contradict numbers
  assert.deepEqual(inOrder(lying).map((m) => m.text), ["alice1", "alice2"]);
});
