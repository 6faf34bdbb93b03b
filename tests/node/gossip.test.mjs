// The page's relaying core (broker/web/gossip.js): what mesh/partial/gossip.py does, in JS.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ANSWER_BYTES_BURST, ANSWER_BYTES_RATE, CACHE_SECONDS, EAGER_LINKS, GAP_WAIT, Gossip, IHAVE_BURST, IHAVE_WINDOW, MAX_ASKED, MAX_RESENDS, MAX_SKIPPED,
  PUSH_AGAIN, STOP_PUSHING, WANT_RETRY,
} from "../../broker/web/gossip.js";
import { b64url, clientIdFor } from "../../broker/web/keys.js";

async function node() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
  const id = await clientIdFor(raw);
  const sign = async (bytes) => b64url(await crypto.subtle.sign("Ed25519", pair.privateKey, bytes));
  return { id, core: new Gossip({ clientId: id, room: "crowd", key: b64url(raw), sign }) };
}

async function line() {
  const [a, b, c] = [await node(), await node(), await node()];
  a.core.linkUp(b.id, 0); b.core.linkUp(a.id, 0); b.core.linkUp(c.id, 0); c.core.linkUp(b.id, 0);
  return [a, b, c];
}

const feed = (to, from, frame, now = 0) => to.core.receive(from.id, JSON.parse(frame), frame, now);
const said = (actions) => actions.filter((a) => a.type === "Delivered").map((a) => a.envelope.body.text);
const sent = (actions) => actions.filter((a) => a.type === "SendFrame").map((a) => [a.peer, a.frame]);
const say = async (who, text, to = []) => (await who.core.publish({ type: "note", text }, 0, to))[0].frame;

test("an envelope is delivered once, forwarded verbatim to the other links only", async () => {
  const [a, b, c] = await line();
  const frame = await say(a, "hi");
  const atB = await feed(b, a, frame);
  assert.deepEqual(said(atB), ["hi"]);
  assert.deepEqual(sent(atB), [[c.id, frame]]);
  assert.deepEqual(await feed(b, c, frame), []);
});

test("an altered envelope is refused, counted, and does not block the real one", async () => {
  const [a, b, c] = await line();
  const frame = await say(a, "pay ana");
  assert.deepEqual(await feed(b, c, frame.replace("pay ana", "pay eve")), [{ type: "Forged", peer: c.id }]);
  assert.equal(b.core.forged, 1);
  assert.deepEqual(said(await feed(b, a, frame)), ["pay ana"]);
});

test("an author's envelopes come out in order, a gap is waited for GAP_WAIT only", async () => {
  const [a, b] = await line();
  const [one, two, three, four] = [await say(a, "1"), await say(a, "2"), await say(a, "3"), await say(a, "4")];
  assert.deepEqual(said(await feed(b, a, one)), ["1"]);
  assert.deepEqual(said(await feed(b, a, three, 0.1)), []);
  assert.deepEqual(said(await feed(b, a, two, 0.2)), ["2", "3"]);
  assert.deepEqual(said(await feed(b, a, four, 0.3)), ["4"]);
  await say(a, "5"); // lost for good
  assert.deepEqual(said(await feed(b, a, await say(a, "6"), 1.0)), []);
  assert.deepEqual(said(b.core.tick(1.0 + GAP_WAIT)), ["6"]);
});

test("a lost envelope is fetched with ihave and iwant", async () => {
  const [a, b, c] = await line();
  const one = await say(a, "one");
  await feed(b, a, one);
  await feed(c, b, one);
  const two = await say(a, "two");
  await feed(b, a, two, 0.5); // b's copy to c is lost
  const [[, ihave]] = sent(b.core.tick(1.0)).filter(([peer]) => peer === c.id);
  const [[, iwant]] = sent(await feed(c, b, ihave, 1.0));
  assert.deepEqual(JSON.parse(iwant), { type: "iwant", want: [[a.id, 2, 2]] });
  const [[, again]] = sent(await feed(b, c, iwant, 1.0));
  assert.deepEqual(said(await feed(c, b, again, 1.1)), ["two"]);
});

const ihave = (author, high) => JSON.stringify({ type: "ihave", high: { [author.id]: high } });
const asked = (actions) => sent(actions).map(([, frame]) => JSON.parse(frame).want);

test("a link is asked again for an envelope only after a while; another link meanwhile", async () => {
  const [a, b, c] = await line();
  const [one, , three] = [await say(a, "1"), await say(a, "2"), await say(a, "3")];
  await feed(b, a, one, 0);
  await feed(b, a, three, 0);
  assert.deepEqual(asked(await feed(b, c, ihave(a, 3), 0.1)), [[[a.id, 2, 2]]]);
  assert.deepEqual(await feed(b, c, ihave(a, 3), 1.0), []); // its answer may be on its way
  assert.deepEqual(asked(await feed(b, a, ihave(a, 3), 1.0)), [[[a.id, 2, 2]]]);
  assert.deepEqual(asked(await feed(b, c, ihave(a, 3), 0.1 + WANT_RETRY)), [[[a.id, 2, 2]]]);
});

test("an envelope given up on is still asked for and delivered late", async () => {
  const [a, b, c] = await line();
  const [one, two, three] = [await say(a, "1"), await say(a, "2"), await say(a, "3")];
  await feed(b, a, one, 0);
  await feed(b, a, three, 0);
  assert.deepEqual(said(b.core.tick(GAP_WAIT + 0.1)), ["3"]);
  assert.deepEqual(asked(await feed(b, c, ihave(a, 3), GAP_WAIT + 0.5)), [[[a.id, 2, 2]]]);
  assert.deepEqual(said(await feed(b, c, two, GAP_WAIT + 0.6)), ["2"]);
  assert.deepEqual(await feed(b, c, ihave(a, 3), GAP_WAIT + 5), []);
});

test("envelopes passed over as from before our time can be recovered", async () => {
  const [a, b, c] = await line();
  const lines = [];
  for (let n = 1; n <= 12; n++) lines.push(await say(a, String(n)));
  await feed(b, a, lines[11], 0); // first heard at 12: an older author
  assert.deepEqual(said(b.core.tick(0.4)), ["12"]);
  assert.deepEqual(await feed(b, c, ihave(a, 12), 1.0), []);
  b.core.recover(a.id, 9, 12, 1.0);
  assert.deepEqual(asked(await feed(b, c, ihave(a, 12), 1.5)), [[[a.id, 9, 11]]]);
  assert.deepEqual(said(await feed(b, c, lines[10], 1.6)), ["11"]);
});

test("recovering stays within the bound on envelopes given up on, the latest kept", async () => {
  const [a, b] = await line();
  let last;
  for (let n = 1; n <= MAX_SKIPPED + 76; n++) last = await say(a, String(n));
  await feed(b, a, last, 0); // first heard at 1100: an older author
  b.core.tick(0.4);
  b.core.recover(a.id, 1, 600, 1.0);
  b.core.recover(a.id, 600, MAX_SKIPPED + 76, 1.0);
  const skipped = b.core.authors.get(a.id).skipped;
  assert.equal(skipped.size, MAX_SKIPPED);
  assert.equal(Math.min(...skipped.keys()), 76, "the earliest given up on went first");
});

test("an author tells of its own envelopes while it caches them", async () => {
  const [a, b] = await line();
  await feed(b, a, await say(a, "1"), 0);
  await say(a, "2"); // lost with a link's buffer
  const later = IHAVE_WINDOW + 5;
  assert.ok(later < CACHE_SECONDS);
  const [[, told]] = sent(a.core.tick(later));
  const [[, want]] = sent(await feed(b, a, told, later));
  const [[, again]] = sent(await a.core.receive(b.id, JSON.parse(want), want, later));
  assert.deepEqual(said(await feed(b, a, again, later)), ["2"]);
});

test("an envelope for others is passed on but not delivered", async () => {
  const [a, b, c] = await line();
  const frame = await say(a, "for c", [c.id]);
  const atB = await feed(b, a, frame);
  assert.deepEqual(said(atB), []);
  assert.deepEqual(sent(atB), [[c.id, frame]]);
  assert.deepEqual(said(await feed(c, b, frame)), ["for c"]);
});

const sendBytes = async (who, bytes) => (await who.core.publish({ type: "note", text: "bytes" }, 0, [], bytes))[0].frame;

test("bytes travel in a binary envelope, relayed verbatim and delivered with their bytes", async () => {
  const [a, b, c] = await line();
  const bytes = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
  const frame = await sendBytes(a, bytes);
  assert.ok(frame instanceof Uint8Array && frame[0] === 3);
  const atB = await b.core.receiveBinary(a.id, frame, 0);
  assert.deepEqual(sent(atB), [[c.id, frame]]);
  const [arrived] = (await c.core.receiveBinary(b.id, frame, 0)).filter((x) => x.type === "Delivered");
  assert.deepEqual(arrived.envelope.attachment, bytes);
});

test("swapped bytes are a forgery and do not shadow the real envelope", async () => {
  const [a, b, c] = await line();
  const frame = await sendBytes(a, new Uint8Array(1000).fill(1));
  const swapped = frame.slice();
  swapped[swapped.length - 1] ^= 0xff;
  assert.deepEqual(await b.core.receiveBinary(c.id, swapped, 0), [{ type: "Forged", peer: c.id }]);
  const atB = await b.core.receiveBinary(a.id, frame, 0);
  assert.equal(atB.filter((x) => x.type === "Delivered").length, 1);
});

test("cached bytes are counted, and served to iwant as they came", async () => {
  const [a, b, c] = await line();
  const frames = [];
  for (let n = 0; n < 3; n++) {
    frames.push(await sendBytes(a, new Uint8Array(10000).fill(n)));
    await b.core.receiveBinary(a.id, frames[n], 0);
  }
  assert.equal(b.core.cacheBytes, frames.reduce((sum, frame) => sum + frame.length, 0));
  const answer = b.core.onIwant(c.id, { type: "iwant", want: [[a.id, 1, 3]] });
  assert.deepEqual(answer.map((x) => x.frame), frames);
});

test("iwant cannot make a page send its cache again and again (partial/gossip.py alike)", async () => {
  const [a, b, c] = await line();
  for (let n = 0; n < 64; n++) await b.core.receiveBinary(a.id, await sendBytes(a, new Uint8Array(10_000).fill(n)), 0);
  const asked = JSON.stringify({ type: "iwant", want: [[a.id, 1, 64]] });
  const times = new Map();
  let total = 0;
  for (let step = 0; step < 40; step++) {
    for (const [, frame] of sent(await feed(b, c, asked, 1 + step * 0.25))) {
      times.set(frame, (times.get(frame) ?? 0) + 1);
      total += frame.length;
    }
  }
  assert.ok(Math.max(...times.values()) <= MAX_RESENDS, "each envelope a few times at most");
  assert.ok(total <= ANSWER_BYTES_BURST + 10 * ANSWER_BYTES_RATE);
  assert.equal(times.size, 64, "what it asked for, it got");
});

// -- pushing: a few links push every envelope to us, the others only tell (IHAVE) --

async function hub(links) {
  const center = await node(), around = [];
  for (let i = 0; i < links; i++) {
    const other = await node();
    center.core.linkUp(other.id, 0); other.core.linkUp(center.id, 0);
    around.push(other);
  }
  return [center, around];
}

// `frame` comes to `center` over every link in turn: those it asks to stop.
async function stoppedBy(center, around, frame) {
  const stopped = [];
  for (const link of around) {
    const out = sent(await feed(center, link, frame));
    if (out.some(([, f]) => f === STOP_PUSHING)) { assert.deepEqual(out, [[link.id, STOP_PUSHING]]); stopped.push(link); }
  }
  return stopped;
}

test("a link that brings a second copy is asked to stop while enough others push", async () => {
  const [center, around] = await hub(6);
  const author = await node();
  const stopped = await stoppedBy(center, around, await say(author, "one"));
  assert.equal(stopped.length, 6 - EAGER_LINKS);
  assert.ok(!stopped.includes(around[0]));
  assert.deepEqual(await stoppedBy(center, around, await say(author, "two")), []); // once each
});

test("a link told to stop gets no envelope but still the ihave, until it asks again", async () => {
  const [center, [quiet, pushing]] = await hub(2);
  await feed(center, quiet, STOP_PUSHING);
  const [envelope, actions] = await center.core.publish({ type: "note", text: "hi" }, 0);
  assert.deepEqual(sent(actions), [[pushing.id, envelope.frame]]);
  assert.deepEqual(sent(center.core.tick(10)).map(([peer]) => peer).sort(), [quiet.id, pushing.id].sort());
  await feed(center, quiet, PUSH_AGAIN);
  const [, again] = await center.core.publish({ type: "note", text: "again" }, 11);
  assert.equal(sent(again).length, 2);
});

test("a stopped link that has what the pushing ones did not bring pushes again", async () => {
  const [center, around] = await hub(5);
  const author = await node();
  const [holder] = await stoppedBy(center, around, await say(author, "one"));
  await feed(holder, around[0], await say(author, "two"));
  const [[, ihave]] = sent(holder.core.tick(5));
  assert.deepEqual(sent(await feed(center, holder, ihave, 5)),
    [[holder.id, PUSH_AGAIN], [holder.id, JSON.stringify({ type: "iwant", want: [[author.id, 2, 2]] })]]);
});

test("an author never heard is asked for only of a link that stopped pushing", async () => {
  const [center, around] = await hub(5);
  const [holder] = await stoppedBy(center, around, await say(await node(), "stops two links"));
  const stranger = await node();
  let frame;
  for (let n = 0; n < 12; n++) frame = await say(stranger, `line ${n}`); // not young: the latest
  await feed(holder, around[0], frame);
  const [[, ihave]] = sent(holder.core.tick(5));
  assert.deepEqual(await feed(center, around[0], ihave, 5), []); // from before that pushing link
  assert.deepEqual(sent(await feed(center, holder, ihave, 5)),
    [[holder.id, PUSH_AGAIN], [holder.id, JSON.stringify({ type: "iwant", want: [[stranger.id, 12, 12]] })]]);
});

test("a link claiming ever higher numbers cannot grow what we remember asking", async () => {
  const [a, b] = await line();
  await feed(a, b, await say(b, "one")); // an author a knows
  for (let round = 0; round < 200; round++) { // 256 new numbers claimed each time, within IHAVE_RATE
    const ihave = JSON.stringify({ type: "ihave", high: { [b.id]: 1000 + 256 * round } });
    assert.equal(sent(await feed(a, b, ihave, round * 0.25)).length, 1);
  }
  assert.ok(a.core.asked.size <= MAX_ASKED);
});

test("a link sending ihave after ihave is read within its budget, its push request always", async () => {
  const [a, b] = await line();
  await feed(a, b, await say(b, "one"));
  let answered = 0;
  for (let round = 0; round < 100; round++) { // all at once
    const ihave = JSON.stringify({ type: "ihave", high: { [b.id]: 1000 + 256 * round } });
    if (sent(await feed(a, b, ihave, 1)).length) answered += 1;
  }
  assert.equal(answered, IHAVE_BURST);
  await feed(a, b, STOP_PUSHING, 1); // past the budget too
  const [, actions] = await a.core.publish({ type: "note", text: "x" }, 1);
  assert.deepEqual(sent(actions), []);
});
