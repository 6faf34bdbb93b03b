// The page's signalling core: whom to call, what to publish, which candidates to keep,
// when to say hello again, when an attempt has failed. It mirrors the Python client's
// mesh/signalling/protocol.py (and admission.py) input for input and action for action,
// with no I/O: the page's Room (meshchat.js) verifies what arrives, signs and publishes
// what this returns, and drives the RTCPeerConnections. Times are seconds. Traces the
// Python core made (tests/vectors/signalling_traces.py) hold the two to the same
// decisions: tests/node/signalling.test.mjs.

import {
  ADMIT_BURST, ADMIT_MAX_AGE, ADMIT_MAX_LANES, ADMIT_PER_LANE, ADMIT_RATE, BAD_FRAME_BURST,
  BAD_FRAME_RATE, CONNECT_TIMEOUT, CROWD_PROBES, HEARTBEAT_INTERVAL, HELLO_INITIAL, HELLO_JITTER,
  HELLO_MAX, JOIN_SETTLE, MAX_EARLY_CANDIDATES, MAX_HALF_OPEN, MAX_OFFER_SENDS, MAX_PEERS,
  MAX_SHUNNED, MAX_STRAY_SENDERS, MAX_UNANSWERED, PEER_WORK_BURST, PEER_WORK_RATE, RETRANSMIT,
  SHUN, UNANSWERED_TIMEOUT,
} from "./constants.js";
import { admitCandidate, cleanNick, limitSdp, newBudget } from "./frames.js";
import { TokenBucket } from "./dataplane.js";

export const Phase = Object.freeze({
  IDLE: "idle", // known, no peer connection
  OFFERING: "offering", // caller: offer being made or waiting for the answer
  ANSWERING: "answering", // callee: remote offer applied, answer being made
  CONNECTING: "connecting", // descriptions exchanged, waiting for the data channel
  OPEN: "open",
});

export const SAID_BYE = "said bye";
export const SENT_GARBAGE = "sent too many invalid or excess data channel frames";

export const TIMING = Object.freeze({
  helloInitial: HELLO_INITIAL / 1000, joinSettle: JOIN_SETTLE / 1000, helloMax: HELLO_MAX / 1000,
  helloJitter: HELLO_JITTER, connectTimeout: CONNECT_TIMEOUT / 1000,
  unansweredTimeout: UNANSWERED_TIMEOUT / 1000, maxDescriptionSends: MAX_OFFER_SENDS,
  retransmitInterval: RETRANSMIT / 1000, heartbeatInterval: HEARTBEAT_INTERVAL / 1000,
  badFrameRate: BAD_FRAME_RATE, badFrameBurst: BAD_FRAME_BURST, shunSeconds: SHUN / 1000,
  peerWorkRate: PEER_WORK_RATE, peerWorkBurst: PEER_WORK_BURST,
});

// --- what arrives: a verified wire message, checked field by field (messages.py) ----

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SDP_CHARS = 32 * 1024, MAX_CANDIDATE_CHARS = 1024;

export class SignalError extends Error {}

function field(wire, name, kind, pattern = null) {
  if (!(name in wire)) throw new SignalError(`missing field '${name}'`);
  const value = wire[name];
  if (typeof value !== kind) throw new SignalError(`field '${name}' must be ${kind}`);
  if (pattern && !pattern.test(value)) throw new SignalError(`field '${name}' is malformed`);
  return value;
}

function decodeCandidate(raw) {
  if (raw === null) return null;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new SignalError("field 'candidate' must be an object or null");
  }
  const text = field(raw, "candidate", "string");
  if (text.length > MAX_CANDIDATE_CHARS) throw new SignalError("candidate string is too long");
  if (text === "") return null; // a browser's end-of-candidates for a generation
  const mid = raw.sdpMid ?? null, index = raw.sdpMLineIndex ?? null;
  if (mid !== null && typeof mid !== "string") throw new SignalError("field 'sdpMid' must be a string or null");
  if (index !== null && !(Number.isSafeInteger(index) && index >= 0)) {
    throw new SignalError("field 'sdpMLineIndex' must be a non-negative integer or null");
  }
  if (mid === null && index === null) throw new SignalError("a candidate needs 'sdpMid' or 'sdpMLineIndex'");
  return { candidate: text, sdpMid: mid, sdpMLineIndex: index };
}

// The message in `wire` (room and signature already checked): {type, from, ...fields}.
export function decodeSignal(wire) {
  if (!wire || typeof wire !== "object" || Array.isArray(wire)) throw new SignalError("expected a JSON object");
  const type = wire.type;
  const from = field(wire, "from", "string", ID);
  if (type === "hello") {
    const message = { type, from, nick: cleanNick(field(wire, "nick", "string")) };
    if ("to" in wire) message.to = field(wire, "to", "string", ID);
    if (wire.crowd === true) message.crowd = true;
    return message;
  }
  if (type === "bye") return { type, from };
  if (!["offer", "answer", "candidate"].includes(type)) throw new SignalError(`unknown message type '${type}'`);
  const to = field(wire, "to", "string", ID);
  const session = field(wire, "session", "string", SESSION);
  if (type === "candidate") {
    if (!("candidate" in wire)) throw new SignalError("missing field 'candidate'");
    return { type, from, to, session, candidate: decodeCandidate(wire.candidate) };
  }
  const sdp = field(wire, "sdp", "string");
  if (sdp.length > MAX_SDP_CHARS) throw new SignalError(`sdp of ${sdp.length} characters exceeds ${MAX_SDP_CHARS}`);
  if (!sdp.startsWith("v=0")) throw new SignalError("sdp does not start with 'v=0'");
  return { type, from, to, session, sdp, nick: cleanNick(field(wire, "nick", "string")) };
}

// --- fair, bounded admission of strangers (admission.py) --------------------------------

export class Admission {
  constructor(now) {
    this.budget = new TokenBucket(ADMIT_RATE, ADMIT_BURST, now);
    this.lanes = new Map(); // lane -> [[sender, item, arrived]], in the order served
    this.shed = 0;
  }

  wait(lane, sender, item, now) {
    let waiting = this.lanes.get(lane);
    if (!waiting) {
      if (this.lanes.size >= ADMIT_MAX_LANES) {
        const newest = [...this.lanes.keys()].pop(); // turns already earned stand
        this.shed += this.lanes.get(newest).length;
        this.lanes.delete(newest);
      }
      waiting = [];
      this.lanes.set(lane, waiting);
    }
    const index = waiting.findIndex(([queued]) => queued === sender);
    if (index >= 0) { waiting.splice(index, 1); this.shed += 1; }
    waiting.push([sender, item, now]);
    if (waiting.length > ADMIT_PER_LANE) { waiting.shift(); this.shed += 1; }
  }

  forget(sender) {
    for (const [lane, waiting] of [...this.lanes]) {
      const kept = waiting.filter(([queued]) => queued !== sender);
      if (kept.length) this.lanes.set(lane, kept);
      else this.lanes.delete(lane);
    }
  }

  take(now, halfOpen) {
    const served = [];
    while (this.lanes.size && halfOpen + served.length < MAX_HALF_OPEN) {
      const [lane, waiting] = this.lanes.entries().next().value;
      const entry = waiting.shift();
      this.lanes.delete(lane);
      if (waiting.length) this.lanes.set(lane, waiting); // to the back of the turn
      if (now - entry[2] > ADMIT_MAX_AGE / 1000) { this.shed += 1; continue; }
      if (!this.budget.take(now)) {
        // Out of budget: back at the head of its lane, the lane first, for the next tick.
        this.lanes.delete(lane);
        this.lanes = new Map([[lane, [entry, ...waiting]], ...this.lanes]);
        break;
      }
      served.push([entry[0], entry[1]]);
    }
    return served;
  }
}

// --- the state machine -------------------------------------------------------------------

// Actions, as plain objects: {type: "Publish", to, message} (to: a peer id, or null for
// the room's global topic; message: the fields to sign), {type: "CreatePeerConnection",
// pcId, peer, caller}, {type: "SetRemoteDescription", pcId, sdpType, sdp},
// {type: "AddRemoteCandidate", pcId, candidate}, {type: "ClosePeerConnection", pcId},
// {type: "LinkOpened", peer, nick}, {type: "LinkClosed", peer, nick, reason, saidBye,
// silent}, {type: "Announced", peer, nick, crowd}, {type: "Departed", peer}.
export class Signalling {
  // `acceptLink(id)`: whether a stranger's request for a link may be taken up (the
  // partial mesh's say); `newSession()`: a fresh session id; `random()`: in [0, 1).
  constructor({ id, nick, timing = {}, random = Math.random, newSession, acceptLink = () => true }) {
    Object.assign(this, { id, nick, random, newSession, acceptLink });
    this.timing = { ...TIMING, ...timing };
    this.peers = new Map(); // id -> peer state
    this.byPc = new Map(); // pcId -> peer state
    this.nextPcId = 1;
    this.subscribedAt = null;
    this.left = false;
    this.helloInterval = this.timing.helloInitial;
    this.nextHello = null;
    this.hurryHello = false;
    this.helloFloor = 0;
    this.partial = false;
    this.admission = new Admission(0);
    this.strays = new Map(); // stranger -> [[session, candidate]] sent ahead of its offer
    this.shunned = new Map(); // id -> until when
    this.crowdProbes = null; // strangers probed since a hello said "crowd"
    this.settleUntil = null;
    this.noted = new Map(); // strangers' announcements noted while settling: id -> [hello, lane, pk]
    this.dropped = 0;
  }

  // -- queries --

  callerTowards(id) { return this.id < id; }
  openPeers() { return new Map([...this.peers].filter(([, p]) => p.phase === Phase.OPEN).map(([id, p]) => [id, p.nick])); }
  peerFor(pcId) { return this.byPc.get(pcId)?.id ?? null; }
  pcOf(id) { return this.peers.get(id)?.pcId ?? null; }
  nickOf(id) { return this.peers.get(id)?.nick ?? null; }
  connectionCount() { return this.byPc.size; }

  // -- the room --

  subscribed(now) {
    this.subscribedAt = now;
    this.helloInterval = this.timing.helloInitial;
    this.settleUntil = now + this.timing.joinSettle;
    return this.broadcastHello(now);
  }

  announceSoon() { this.hurryHello = true; }

  // The signalling service came back without what was published meanwhile.
  reannounce(now) {
    if (this.left || this.subscribedAt === null) return [];
    this.helloInterval = this.timing.helloInitial;
    return this.broadcastHello(now);
  }

  leave() {
    if (this.left) return [];
    this.left = true;
    const actions = [{ type: "Publish", to: null, message: { type: "bye" } }];
    for (const peer of [...this.peers.values()]) actions.push(...this.drop(peer, "we left", { announce: false }));
    return actions;
  }

  paceHellos(floor) { this.helloFloor = floor; }

  goPartial() {
    this.partial = true;
    const actions = [];
    for (const peer of [...this.peers.values()]) {
      if (peer.phase !== Phase.OPEN) actions.push(...this.drop(peer, "not needed in a partial mesh", { announce: false }));
    }
    return actions;
  }

  // A link to the member `id` (heard of, not met): the caller offers, the callee asks.
  connect(id, nick, now) {
    if (this.left || this.peers.has(id) || this.isShunned(id, now)) return [];
    const peer = this.addPeer(id, nick, now);
    if (!peer) return [];
    if (this.callerTowards(id)) return this.call(peer, now);
    return [this.send(id, { type: "hello", nick: this.nick, to: id })];
  }

  unlink(id) {
    const peer = this.peers.get(id);
    return peer ? this.drop(peer, "link pruned", { announce: false }) : [];
  }

  // -- what the signalling service brings --

  // `wire`: a message whose signature and room were checked; `lane`: the connection it
  // came through, if the service names one; `global`: it came on the room's topic.
  received(wire, now, { lane = null, global = false } = {}) {
    if (this.left) return [];
    let message;
    try { message = decodeSignal(wire); } catch (error) { return this.reject(error.message); }
    const from = message.from;
    if (from === this.id) return []; // our own broadcast, echoed
    const to = message.to ?? null;
    if (to !== null && to !== this.id) return this.reject(`message addressed to ${to}, not us`);
    if (global && to !== null) return this.reject("directed message on the global channel");
    if (this.isShunned(from, now)) return this.reject(`message from ${from}, who is shunned`);
    const peer = this.peers.get(from);
    let heard = [];
    if (message.type === "hello" && to === null) {
      heard = [{ type: "Announced", peer: from, nick: message.nick, crowd: message.crowd === true }];
      if (message.crowd && this.crowdProbes === null) this.crowdProbes = 0;
    } else if (message.type === "bye") {
      heard = [{ type: "Departed", peer: from }];
    }
    const announcement = message.type === "hello" && to === null;
    if (!peer && this.partial && announcement) return heard; // the overlay decides
    if (!peer && announcement && this.settling(now)) {
      this.noted.delete(from);
      this.noted.set(from, [message, lane ?? from, wire.pk]);
      if (this.noted.size > MAX_PEERS) this.noted.delete(this.noted.keys().next().value);
      return heard;
    }
    const request = message.type === "hello" || message.type === "offer";
    if (!peer && request && !this.acceptLink(from)) return heard; // it asks someone else
    if (!peer && request) {
      this.admission.wait(lane ?? from, from, { message, pk: wire.pk }, now);
      return [...heard, ...this.admit(now)];
    }
    if (peer) {
      peer.pk = wire.pk ?? peer.pk; // verified by the driver: an id is the hash of its key
      if (to !== null) peer.heardDirectly = true;
    }
    return [...heard, ...this.handle(message, peer, now)];
  }

  handle(message, peer, now) {
    switch (message.type) {
      case "hello": return this.onHello(message, now);
      case "offer": return this.onOffer(message, now);
      case "answer": return this.onAnswer(message);
      case "candidate": return this.onCandidate(message);
      case "bye": return peer ? this.drop(peer, SAID_BYE, { saidBye: true }) : [];
    }
    return [];
  }

  // -- what the peer connections report --

  localDescription(pcId, sdpType, sdp, now) {
    const peer = this.byPc.get(pcId);
    if (!peer || peer.session === null) return []; // replaced meanwhile
    if (peer.phase === Phase.ANSWERING) peer.phase = Phase.CONNECTING;
    peer.description = this.send(peer.id,
      { type: sdpType, to: peer.id, session: peer.session, sdp, nick: this.nick });
    peer.descriptionSentAt = now;
    peer.descriptionSends = 1;
    return [peer.description];
  }

  // A candidate our side gathered (browsers trickle them; null: the end of them).
  localCandidate(pcId, candidate) {
    const peer = this.byPc.get(pcId);
    if (!peer || peer.session === null) return [];
    return [this.send(peer.id, { type: "candidate", to: peer.id, session: peer.session, candidate })];
  }

  connectionFailed(pcId, reason) {
    const peer = this.byPc.get(pcId);
    return peer ? this.lost(peer, reason) : [];
  }

  channelOpen(pcId, now) {
    const peer = this.byPc.get(pcId);
    if (!peer || peer.phase === Phase.OPEN) return [];
    peer.phase = Phase.OPEN;
    peer.lastActivity = now;
    if (peer.joined) return [];
    peer.joined = true;
    return [{ type: "LinkOpened", peer: peer.id, nick: peer.nick }];
  }

  channelActivity(pcId, now) {
    const peer = this.byPc.get(pcId);
    if (peer) peer.lastActivity = now;
  }

  peerSilent(pcId, silence) {
    const peer = this.byPc.get(pcId);
    return peer ? this.lost(peer, `silent for ${silence.toFixed(1)} s`, { silent: true }) : [];
  }

  badFrame(pcId, now) {
    const peer = this.byPc.get(pcId);
    if (!peer) return [];
    peer.badFrames ??= new TokenBucket(this.timing.badFrameRate, this.timing.badFrameBurst, now);
    if (peer.badFrames.take(now)) return [];
    this.shun(peer.id, now);
    return this.drop(peer, SENT_GARBAGE);
  }

  misbehaved(pcId, reason, now) {
    const peer = this.byPc.get(pcId);
    if (!peer) return [];
    this.shun(peer.id, now);
    return this.drop(peer, reason);
  }

  channelClosed(pcId) {
    const peer = this.byPc.get(pcId);
    return peer ? this.lost(peer, "data channel closed") : [];
  }

  channelBye(pcId) {
    const peer = this.byPc.get(pcId);
    return peer ? this.drop(peer, SAID_BYE, { saidBye: true }) : [];
  }

  // -- time --

  tick(now) {
    if (this.left || this.subscribedAt === null) return [];
    const actions = this.admit(now);
    if (this.settleUntil !== null && !this.settling(now)) {
      this.settleUntil = null;
      actions.push(...this.answerNoted(now));
    }
    const t = this.timing;
    for (const peer of [...this.peers.values()]) {
      if (peer.phase === Phase.OPEN) continue;
      if (now - peer.attemptStarted > t.connectTimeout) {
        actions.push(...this.lost(peer, "connection attempt timed out", { recontact: false }));
      } else if (!peer.heardDirectly && now - peer.attemptStarted > t.unansweredTimeout) {
        actions.push(...this.drop(peer, "no reply"));
      } else if (peer.phase === Phase.OFFERING && now - peer.descriptionSentAt >= t.retransmitInterval) {
        if (peer.descriptionSends >= t.maxDescriptionSends) actions.push(...this.drop(peer, "offer never answered"));
        else actions.push(...this.resendDescription(peer, now));
      }
    }
    if (this.hurryHello && this.nextHello !== null) {
      this.nextHello = Math.min(this.nextHello, now + Math.max(t.helloInitial, this.helloFloor));
      this.hurryHello = false;
    }
    if (this.nextHello !== null && now >= this.nextHello) {
      if (!this.partial && [...this.peers.values()].some((p) => p.phase !== Phase.OPEN)) {
        this.helloInterval = t.helloInitial; // the mesh is incomplete: hurry
      }
      actions.push(...this.broadcastHello(now));
    }
    return actions;
  }

  settling(now) { return this.settleUntil !== null && now < this.settleUntil; }

  answerNoted(now) {
    const noted = this.noted;
    this.noted = new Map();
    if (this.partial) return [];
    for (const [sender, [hello, lane, pk]] of noted) {
      if (!this.peers.has(sender)) this.admission.wait(lane, sender, { message: hello, pk }, now);
    }
    return this.admit(now);
  }

  // -- message handlers --

  onHello(hello, now) {
    const directed = hello.to !== undefined;
    let peer = this.peers.get(hello.from);
    const probes = directed ? null : this.crowdProbes;
    if (!peer) {
      if (probes !== null && probes >= CROWD_PROBES) return []; // a crowd: a few probes only
      peer = this.addPeer(hello.from, hello.nick, now);
      if (!peer) return [];
      peer.heardDirectly = directed;
      if (probes !== null) this.crowdProbes = probes + 1;
      // A stranger's announcement: one directed hello back (a probe); a peer connection
      // only once it replies, so an identity that never listens costs one publish.
      if (!directed) return [this.send(peer.id, { type: "hello", nick: this.nick, to: peer.id })];
    }
    this.announceNick(peer, hello.nick);
    if (!directed && (peer.pcId !== null || !peer.heardDirectly)) return [];
    if (peer.pcId !== null) {
      if (peer.phase === Phase.OPEN) {
        if (now - peer.lastActivity < 2 * this.timing.heartbeatInterval) return []; // stale
      } else if (peer.phase === Phase.OFFERING) {
        if (now - peer.descriptionSentAt < this.timing.retransmitInterval / 2) return [];
        if (!this.mayWorkFor(peer, now)) return [];
        return this.resendDescription(peer, now); // they never got our offer
      } else if (!this.callerTowards(peer.id)) {
        return []; // their offer is on its way
      }
    }
    if (!this.mayWorkFor(peer, now)) return this.reject(`${peer.id} asks for new connections too often`);
    if (this.callerTowards(peer.id)) return this.call(peer, now);
    const actions = this.closePc(peer);
    peer.attemptStarted = now; // waiting for the caller's offer
    actions.push(this.send(peer.id, { type: "hello", nick: this.nick, to: peer.id }));
    return actions;
  }

  onOffer(offer, now) {
    const peer = this.peers.get(offer.from) ?? this.addPeer(offer.from, offer.nick, now);
    if (!peer) return [];
    peer.heardDirectly = true;
    this.announceNick(peer, offer.nick);
    if (peer.session === offer.session) {
      // A duplicate, or sent again because our answer was lost.
      return this.mayWorkFor(peer, now) ? this.resendDescription(peer, now) : [];
    }
    if (peer.phase === Phase.OFFERING && this.callerTowards(peer.id)) return []; // crossed: ours wins
    if (!this.mayWorkFor(peer, now)) return this.reject(`${peer.id} offers new connections too often`);
    const actions = this.closePc(peer);
    const pcId = this.openPc(peer, offer.session, Phase.ANSWERING, now);
    actions.push({ type: "CreatePeerConnection", pcId, peer: peer.id, caller: false });
    actions.push({ type: "SetRemoteDescription", pcId, sdpType: "offer", sdp: limitSdp(offer.sdp, peer.budget) });
    actions.push(...this.applyEarlyCandidates(peer));
    return actions;
  }

  onAnswer(answer) {
    const peer = this.peers.get(answer.from);
    if (peer && peer.session === answer.session && peer.remoteDescribed) return []; // a duplicate
    if (!peer || peer.pcId === null || peer.phase !== Phase.OFFERING || peer.session !== answer.session) {
      return this.reject(`unexpected or stale answer from ${answer.from}`);
    }
    this.announceNick(peer, answer.nick);
    peer.phase = Phase.CONNECTING;
    const sdp = limitSdp(answer.sdp, peer.budget);
    return [{ type: "SetRemoteDescription", pcId: peer.pcId, sdpType: "answer", sdp },
      ...this.applyEarlyCandidates(peer)];
  }

  onCandidate(message) {
    const sender = message.from;
    const peer = this.peers.get(sender);
    if (peer && peer.session === message.session && peer.remoteDescribed) {
      return this.addCandidates(peer, [message.candidate]);
    }
    if (this.callerTowards(sender) && (!peer || peer.session !== message.session)) {
      return this.reject(`candidate for unknown session from ${sender}`);
    }
    if (!peer) {
      // A stranger's offer may still be on its way: a few candidates, for a few strangers.
      const stray = this.strays.get(sender) ?? [];
      this.strays.delete(sender);
      this.strays.set(sender, stray);
      if (this.strays.size > MAX_STRAY_SENDERS) this.strays.delete(this.strays.keys().next().value);
      if (stray.length >= MAX_EARLY_CANDIDATES) return this.reject(`too many early candidates from ${sender}`);
      stray.push([message.session, message.candidate]);
      return [];
    }
    const buffered = [...peer.early.values()].reduce((sum, list) => sum + list.length, 0);
    if (buffered >= MAX_EARLY_CANDIDATES) return this.reject(`too many early candidates from ${sender}`);
    if (!peer.early.has(message.session)) peer.early.set(message.session, []);
    peer.early.get(message.session).push(message.candidate);
    return [];
  }

  // -- helpers --

  addPeer(id, nick, now) {
    if (this.peers.size >= MAX_PEERS) {
      this.reject(`peer limit ${MAX_PEERS} reached, ignoring ${id}`);
      return null;
    }
    const unanswered = [...this.peers.values()].filter((q) => q.pcId === null && !q.heardDirectly);
    if (unanswered.length >= MAX_UNANSWERED) {
      const oldest = unanswered.reduce((a, b) => (b.attemptStarted < a.attemptStarted ? b : a));
      this.drop(oldest, "no reply", { announce: false });
    }
    const peer = {
      id, nick, phase: Phase.IDLE, pcId: null, session: null, remoteDescribed: false,
      early: new Map(), joined: false, description: null, descriptionSentAt: 0, descriptionSends: 0,
      heardDirectly: false, attemptStarted: now, lastActivity: 0, badFrames: null, work: null,
      budget: newBudget(), pk: null,
    };
    this.peers.set(id, peer);
    this.admission.forget(id);
    for (const [session, candidate] of this.strays.get(id) ?? []) {
      if (!peer.early.has(session)) peer.early.set(session, []);
      peer.early.get(session).push(candidate);
    }
    this.strays.delete(id);
    return peer;
  }

  // Serve the strangers whose turn it is.
  admit(now) {
    const halfOpen = [...this.peers.values()].filter((p) => p.pcId !== null && p.phase !== Phase.OPEN).length;
    const actions = [];
    for (const [sender, { message, pk }] of this.admission.take(now, halfOpen)) {
      if (this.peers.has(sender) && message.type === "hello" && message.to === undefined) continue;
      actions.push(...(message.type === "hello" ? this.onHello(message, now) : this.onOffer(message, now)));
      const peer = this.peers.get(sender);
      if (peer) peer.pk = pk ?? peer.pk;
    }
    return actions;
  }

  // Whether a message from `peer` may cost us a peer connection or a publish.
  mayWorkFor(peer, now) {
    peer.work ??= new TokenBucket(this.timing.peerWorkRate, this.timing.peerWorkBurst, now);
    return peer.work.take(now);
  }

  // A nick is the one announced before joining: a peer cannot become someone else later.
  announceNick(peer, nick) { if (!peer.joined) peer.nick = nick; }

  shun(id, now) {
    this.shunned.delete(id);
    this.shunned.set(id, now + this.timing.shunSeconds);
    if (this.shunned.size > MAX_SHUNNED) this.shunned.delete(this.shunned.keys().next().value);
  }

  isShunned(id, now) {
    const until = this.shunned.get(id);
    if (until === undefined) return false;
    if (now < until) return true;
    this.shunned.delete(id);
    return false;
  }

  call(peer, now) {
    const actions = this.closePc(peer);
    const pcId = this.openPc(peer, this.newSession(), Phase.OFFERING, now);
    actions.push({ type: "CreatePeerConnection", pcId, peer: peer.id, caller: true });
    return actions;
  }

  openPc(peer, session, phase, now) {
    const pcId = this.nextPcId++;
    Object.assign(peer, { pcId, session, phase, remoteDescribed: phase === Phase.ANSWERING,
      budget: newBudget(), attemptStarted: now });
    this.byPc.set(pcId, peer);
    return pcId;
  }

  resendDescription(peer, now) {
    if (!peer.description) return []; // not made yet: it goes out once reported
    peer.descriptionSentAt = now;
    peer.descriptionSends += 1;
    return [peer.description];
  }

  applyEarlyCandidates(peer) {
    peer.remoteDescribed = true;
    const early = peer.early.get(peer.session) ?? [];
    peer.early.clear(); // other sessions' are stale now
    return this.addCandidates(peer, early);
  }

  addCandidates(peer, candidates) {
    const actions = [];
    for (const candidate of candidates) {
      const refusal = candidate === null ? null : admitCandidate(peer.budget, candidate.candidate);
      if (refusal === null) actions.push({ type: "AddRemoteCandidate", pcId: peer.pcId, candidate });
      else this.reject(`candidate from ${peer.id} refused: ${refusal}`);
    }
    return actions;
  }

  closePc(peer) {
    if (peer.pcId === null) return [];
    const pcId = peer.pcId;
    this.byPc.delete(pcId);
    Object.assign(peer, { pcId: null, session: null, description: null, descriptionSends: 0,
      remoteDescribed: false, phase: Phase.IDLE });
    return [{ type: "ClosePeerConnection", pcId }];
  }

  // The connection died without a bye: drop it, and ask the peer for a new one.
  lost(peer, reason, { recontact = true, silent = false } = {}) {
    const actions = this.drop(peer, reason, { silent });
    if (!this.partial) { // in a partial mesh, the overlay replaces lost links
      this.helloInterval = this.timing.helloInitial;
      this.hurryHello = true;
    }
    if (recontact && !this.left && !this.partial) {
      actions.push(this.send(peer.id, { type: "hello", nick: this.nick, to: peer.id }));
    }
    return actions;
  }

  drop(peer, reason, { announce = true, saidBye = false, silent = false } = {}) {
    const actions = this.closePc(peer);
    this.peers.delete(peer.id);
    if (peer.joined && announce) {
      actions.push({ type: "LinkClosed", peer: peer.id, nick: peer.nick, reason, saidBye, silent });
    }
    return actions;
  }

  broadcastHello(now) {
    const t = this.timing;
    const jitter = (this.random() * 2 - 1) * t.helloJitter;
    this.nextHello = Math.max(now + this.helloInterval * (1 + jitter), now + this.helloFloor);
    this.helloInterval = Math.min(this.helloInterval * 2, t.helloMax);
    const message = { type: "hello", nick: this.nick };
    if (this.partial) message.crowd = true;
    return [{ type: "Publish", to: null, message }];
  }

  send(to, message) { return { type: "Publish", to, message }; }

  reject(reason) {
    this.dropped += 1;
    this.lastRejected = reason; // for the page's console, and for tests
    return [];
  }
}
