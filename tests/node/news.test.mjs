// The page's listeners hear what the Python room's do (mesh/room_core.py), from the
// same data-plane actions: news.js, checked without a browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import { newsOf } from "../../broker/web/news.js";

const nicks = { a1: "ana" };
const nickOf = (id) => nicks[id] ?? "anon";

test("a chat line goes to the room and to the chat channel, under the announced nick", () => {
  const message = { id: "m1", from: "a1", nick: "mallory", ts: 5, text: "hi" };
  const news = newsOf({ type: "MessageReceived", peer: "a1", message }, nickOf);
  const detail = { id: "m1", from: "a1", nick: "ana", ts: 5, text: "hi", sender: "a1", timestamp_ms: 5,
    private: false, to: [] };
  assert.deepEqual(news, [
    [null, "message", detail],
    ["chat", "message", { ...detail, data: "hi", size: 2 }],
  ]);
});

test("a private line says so, and to whom", () => {
  const message = { id: "m2", from: "a1", ts: 5, text: "psst", to: ["b2"] };
  const [[, , detail]] = newsOf({ type: "MessageReceived", peer: "a1", message }, nickOf);
  assert.deepEqual([detail.private, detail.to, detail.text], [true, ["b2"], "psst"]);
});

test("a payload goes to its channel only, bytes as bytes", () => {
  const header = { id: "p1", channel: "game", sender: "a1", ts: 7, size: 3, sha256: "x", kind: "bytes" };
  const body = new Uint8Array([1, 2, 3]);
  const [[target, type, detail], ...rest] = newsOf({ type: "PayloadReceived", header, body }, nickOf);
  assert.deepEqual([target, type, rest], ["game", "message", []]);
  assert.equal(detail.data, body);
  assert.equal(detail.nick, "ana");
  assert.deepEqual([detail.sender, detail.timestamp_ms, detail.from, detail.ts], ["a1", 7, "a1", 7]);
});

test("the framework's own channels are reported by their modules, not here", () => {
  const header = { id: "f1", channel: "meshchat/file-data" };
  assert.deepEqual(newsOf({ type: "PayloadUndelivered", peer: "b2", header, reason: "gone" }, nickOf), []);
  const progress = { type: "TransferProgress", peer: "b2", channel: "meshchat/files", id: "f1" };
  assert.deepEqual(newsOf(progress, nickOf), []);
  const ours = { ...progress, channel: "game", sending: true, done: 1, total: 2 };
  const detail = { channel: "game", id: "f1", peer: "b2", sending: true, done: 1, total: 2 };
  assert.deepEqual(newsOf(ours, nickOf), [[null, "progress", detail], ["game", "progress", detail]]);
});

test("what the data plane does itself tells nobody", () => {
  assert.deepEqual(newsOf({ type: "SendFrame", peer: "a1", frame: "{}" }, nickOf), []);
  const lost = { type: "MessageUndelivered", peer: "b2", id: "m9", reason: "peer left" };
  assert.deepEqual(newsOf(lost, nickOf), [[null, "undelivered", { id: "m9", peer: "b2", reason: "peer left" }]]);
});

test("a payload's outcome for each peer is told on the room and on its channel", () => {
  const header = { id: "p1", channel: "game" };
  const got = { id: "p1", channel: "game", peer: "b2" };
  assert.deepEqual(newsOf({ type: "PayloadDelivered", peer: "b2", header }, nickOf),
    [[null, "delivered", got], ["game", "delivered", got]]);
  const lost = { ...got, reason: "the peer left" };
  assert.deepEqual(newsOf({ type: "PayloadUndelivered", peer: "b2", header, reason: "the peer left" }, nickOf),
    [[null, "undelivered", lost], ["game", "undelivered", lost]]);
  const files = { id: "f1", channel: "meshchat/file-data" };
  assert.deepEqual(newsOf({ type: "PayloadDelivered", peer: "b2", header: files }, nickOf), []);
});
