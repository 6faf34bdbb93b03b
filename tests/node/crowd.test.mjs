// The page as a member of a partial mesh (broker/web/crowd.js): what
// mesh/partial/membership.py decides of members reported gone, in JS.
import assert from "node:assert/strict";
import { test } from "node:test";

import { GONE_QUIET, PageOverlay } from "../../broker/web/crowd.js";

const peer = (n) => n.toString(16).padStart(32, "0");

// What the page's room hands the overlay, as far as reports of departures use it.
function pageRoom(linked) {
  return {
    id: peer(0), room: "crowd", identity: { sealKey: new Uint8Array(32), publicKey: "k".repeat(43), signBytes: async () => "" },
    lastHello: () => null, linkCount: () => linked.size, openLinks: () => [...linked],
    isLinked: (id) => linked.has(id), isKnown: (id) => linked.has(id), sendFrame: () => {}, badFrame: () => {},
    dropPeer: () => {}, link: () => {}, unlink: () => {}, becamePartial: () => {},
    emit: () => {}, nickOf: () => undefined, deliver: () => {}, openSignal: () => {}, history: () => {},
  };
}

function overlayWith(linked) {
  const overlay = new PageOverlay(pageRoom(linked));
  const longAgo = Date.now() / 1000 - 10 * GONE_QUIET;
  for (const n of [5, 6, 7]) overlay.noteMember(peer(n), `p${n}`, "k".repeat(43), longAgo);
  return overlay;
}

test("reports heard while the page links to a member count once that link closes", () => {
  const linked = new Set([peer(5)]);
  const overlay = overlayWith(linked);
  overlay.reportedGone(peer(5), peer(6));
  overlay.reportedGone(peer(5), peer(7));
  assert.equal(overlay.members.get(peer(5)).suspected, undefined); // our link still lives
  linked.delete(peer(5));
  overlay.linkDown(peer(5)); // pruned, or closed before it looked silent
  assert.equal(overlay.members.get(peer(5)).suspected?.names, "p6, p7");
});

test("one report and a closed link suspect nobody", () => {
  const linked = new Set([peer(5)]);
  const overlay = overlayWith(linked);
  overlay.reportedGone(peer(5), peer(6));
  linked.delete(peer(5));
  overlay.linkDown(peer(5));
  assert.equal(overlay.members.get(peer(5)).suspected, undefined);
  overlay.reportedGone(peer(5), peer(7));
  assert.ok(overlay.members.get(peer(5)).suspected);
});

// A report `seconds` ago, as if it had come then.
function reportedAgo(overlay, id, reporter, seconds) {
  overlay.reportedGone(id, reporter);
  overlay.reports.get(id).set(reporter, Date.now() / 1000 - seconds);
}

test("an envelope of a member delivered late voids no report that it is gone", async () => {
  const overlay = overlayWith(new Set());
  reportedAgo(overlay, peer(5), peer(6), 5);
  await overlay.deliver({ author: peer(5), body: { type: "newer-than-this-page" } }); // said before it died
  overlay.reportedGone(peer(5), peer(7));
  assert.equal(overlay.members.get(peer(5)).suspected?.names, "p6, p7");
});

test("a report older than the member's own word since is void", () => {
  const overlay = overlayWith(new Set());
  reportedAgo(overlay, peer(5), peer(6), 5);
  overlay.members.get(peer(5)).spokeAt = Date.now() / 1000 - 3; // its hello, after that report
  overlay.reportedGone(peer(5), peer(7));
  assert.equal(overlay.members.get(peer(5)).suspected, undefined);
});
