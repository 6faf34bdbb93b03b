// meshchat in the browser: the protocol of docs/protocol.md over the bundled broker (or
// any y-webrtc signalling server), with the browser's own WebRTC and WebCrypto.
// No build step: an ES module the broker serves as is.

import {
  BAD_FRAME_BURST, BAD_FRAME_RATE, CONNECT_TIMEOUT, HEARTBEAT_INTERVAL, HELLO_INITIAL, HELLO_JITTER,
  HELLO_MAX, MAX_HALF_OPEN, MAX_OFFER_SENDS, MAX_PEERS, MAX_STRAY_SENDERS, PART_RATE,
  RELAY_HIGH_WATER, RETRANSMIT, SEND_BACKLOG, UNANSWERED_TIMEOUT,
} from "/constants.js";
import { DataPlane, LOW_WATER, TICK_INTERVAL, TokenBucket, hex } from "/dataplane.js";
import {
  MAX_FRAME_CHARS, admitCandidate, canonical, cleanNick, clientTopic, globalTopic, limitSdp, newBudget,
} from "/frames.js";
import { CHAT_CHANNEL, checkChannelName, encodeBody } from "/payloads.js";
import { PART_BYTES, partBody, partCount } from "/parts.js";
import { RoomSeal } from "/sealing.js";
import { FileTransfers } from "/files.js";
import { History } from "/history.js";
import { b64url, clientIdFor, unb64url, verifiedBy } from "/keys.js";
import { PageOverlay, isOverlayFrame } from "/crowd.js";

const PROTOCOL_VERSION = 1;
const encoder = new TextEncoder();
const RESERVED_PREFIX = "meshchat/"; // the framework's own channels (files)
const now = () => performance.now() / 1000; // the data plane's clock, in seconds

export { b64url, canonical }; // where the page's tests look for them

function randomHex(bytes) {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}

// --- identity -------------------------------------------------------------------------

export class Identity {
  static async create() {
    const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", keys.publicKey);
    const id = await clientIdFor(raw);
    return new Identity(keys.privateKey, b64url(raw), id);
  }

  constructor(privateKey, publicKeyB64, id) {
    this.privateKey = privateKey;
    this.publicKey = publicKeyB64;
    this.id = id;
  }

  async sign(text) {
    return this.signBytes(encoder.encode(text));
  }

  async signBytes(bytes) {
    return b64url(await crypto.subtle.sign("Ed25519", this.privateKey, bytes));
  }
}

async function verified(wire) {
  if (typeof wire.pk !== "string" || typeof wire.sig !== "string") return false;
  const { sig, ...signed } = wire;
  return verifiedBy(wire.from, wire.pk, sig, encoder.encode(canonical(signed)));
}

// --- the broker connection ------------------------------------------------------------

class BrokerConnection {
  constructor(url, onMessage, onState) {
    this.url = url;
    this.onMessage = onMessage;
    this.onState = onState;
    this.topics = [];
    this.identity = null;
    this.iceServers = [];
    this.delay = 250;
    this.closed = false;
  }

  async open() {
    this.ws = await new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new Error(`cannot reach broker at ${this.url}`));
    });
    // The bundled broker answers with a challenge (to prove we own our topic) and the
    // ICE servers it offers; a y-webrtc server says nothing.
    const challenge = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 800);
      this.ws.onmessage = (event) => {
        const frame = JSON.parse(event.data);
        if (frame.type === "challenge") {
          clearTimeout(timer);
          resolve(frame);
        }
      };
      this.ws.send(JSON.stringify({ type: "challenge" }));
    });
    this.challenge = challenge ? challenge.nonce : null;
    if (challenge && Array.isArray(challenge.iceServers)) this.iceServers = challenge.iceServers;
    this.ws.onmessage = (event) => this.receive(event.data);
    this.ws.onclose = () => this.lost();
    if (this.topics.length) await this.sendSubscribe(this.topics);
  }

  async subscribe(topics) {
    this.topics.push(...topics);
    await this.sendSubscribe(topics);
  }

  async sendSubscribe(topics) {
    const frame = { type: "subscribe", topics };
    if (this.challenge && this.identity) {
      frame.proof = {
        pk: this.identity.publicKey,
        sig: await this.identity.sign(`meshchat-subscribe:${this.challenge}`),
      };
    }
    this.ws.send(JSON.stringify(frame));
  }

  publish(topic, data) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "publish", topic, data }));
    }
  }

  receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    if (frame && frame.type === "publish" && typeof frame.topic === "string") {
      this.onMessage(frame.topic, frame.data);
    }
  }

  lost() {
    if (this.closed) return;
    this.onState("lost");
    const retry = async () => {
      try {
        await this.open();
        this.delay = 250;
        this.onState("restored");
      } catch {
        this.delay = Math.min(this.delay * 2, 10000);
        setTimeout(retry, this.delay * (0.5 + Math.random()));
      }
    };
    setTimeout(retry, this.delay * (0.5 + Math.random()));
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

// --- the room ----------------------------------------------------------------------------

export class Room extends EventTarget {
  // With a secret, everything published is sealed and the room's name is hidden.
  // ``signalling``: { broker: url } or { ably: { endpoint, tls, key | token } }.
  // ``history``: keep the room's recent lines and ask for them (history.js).
  static async join(signalling, roomName, nick, secret = "", { history = true } = {}) {
    const room = new Room(roomName, nick, await Identity.create());
    room.keepHistory = history;
    if (secret) room.seal = await RoomSeal.create(roomName, secret, b64url, unb64url);
    await room.start(signalling);
    return room;
  }

  constructor(name, nick, identity) {
    super();
    this.name = name;
    this.nick = nick;
    this.identity = identity;
    this.id = identity.id;
    this.peers = new Map(); // id -> peer state
    this.strays = new Map(); // stranger id -> candidates sent ahead of its offer
    this.channels = new Map(); // name -> Channel the page asked for
    this.drained = []; // senders waiting for the payload backlog to go down
    // Everything said on data channels is the core's business (dataplane.js).
    this.data = new DataPlane({
      clientId: this.id, nick: this.nick, room: this.name,
      sign: (bytes) => identity.signBytes(bytes),
      verify: (author, signature, bytes) => this.verifyBy(author, signature, bytes),
      heartbeatInterval: HEARTBEAT_INTERVAL / 1000,
      wanted: (channel) => this.channels.has(channel), // files and history open theirs too
    });
    this.helloInterval = HELLO_INITIAL;
    this.nextHello = 0;
    this.left = false;
    this.seal = null;
    // In a room bigger than a full mesh, the page is a light member (crowd.js).
    this.overlay = new PageOverlay(this);
  }

  // Messages dropped because their author's signature did not verify (sent to us, or
  // in the history a peer gave us).
  get forged() { return this.data.forged + (this.history?.forged ?? 0); }

  // The smoothed round-trip time to a peer in seconds (heartbeat echoes), or null.
  roundTrip(peerId) { return this.data.roundTrip(peerId); }

  get topicRoom() { return this.seal ? this.seal.topicTag : this.name; }
  get globalTopic() { return globalTopic(this.topicRoom); }
  topicOf(id) { return clientTopic(this.topicRoom, id); }

  async start(signalling) {
    const onMessage = (topic, data) => this.onSignal(topic, data).catch((e) => console.warn(e));
    const onState = (state) => this.onBrokerState(state);
    const ably = signalling.ably;
    this.broker = ably
      // The Ably SDK is loaded only by pages that use Ably (it is a third of a megabyte).
      ? new (await import("/ably.js")).AblyConnection(ably.endpoint, ably.tls, ably, onMessage, onState)
      : new BrokerConnection(signalling.broker, onMessage, onState);
    this.broker.identity = this.identity;
    await this.broker.open();
    await this.broker.subscribe([this.topicOf(this.id), this.globalTopic]);
    this.files = new FileTransfers(this);
    this.history = new History(this, { keep: this.keepHistory ?? true });
    this.scheduleTick();
    await this.hello();
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  onBrokerState(state) {
    this.emit(state === "lost" ? "signalling-lost" : "signalling-restored", {});
    if (state === "restored") { this.helloInterval = HELLO_INITIAL; this.hello(); }
  }

  // -- signalling out --

  async signal(topic, type, fields) {
    const wire = { v: PROTOCOL_VERSION, room: this.name, from: this.id, type, ...fields,
      pk: this.identity.publicKey };
    wire.sig = await this.identity.sign(canonical(wire));
    const data = this.seal
      ? { v: PROTOCOL_VERSION, sealed: await this.seal.seal(canonical(wire)) }
      : wire;
    this.broker.publish(topic, data);
    return data;
  }

  async hello(to) {
    if (to) return this.signal(this.topicOf(to), "hello", { nick: this.nick, to });
    const jitter = 1 + (Math.random() * 2 - 1) * HELLO_JITTER;
    this.nextHello = Date.now() + this.helloInterval * jitter;
    this.helloInterval = Math.min(this.helloInterval * 2, HELLO_MAX);
    // "crowd": we are in a partial mesh, so a newcomer need not probe everyone it hears.
    const crowd = this.overlay.partial ? { crowd: true } : {};
    this.lastHello = await this.signal(this.globalTopic, "hello", { nick: this.nick, ...crowd });
  }

  // -- signalling in --

  // A signalling message opened (if sealed) and checked: its wire form, or null.
  async openSignal(data) {
    if (!data || typeof data !== "object") return null;
    let wire = data;
    if (this.seal) {
      if (typeof data.sealed !== "string") return null; // unsealed: not one of us
      try { wire = JSON.parse(await this.seal.open(data.sealed)); } catch {
        console.warn("cannot open sealed message: wrong room secret?");
        return null;
      }
      if (!wire || typeof wire !== "object") return null;
    }
    if (wire.v !== PROTOCOL_VERSION || wire.room !== this.name || wire.from === this.id) return null;
    if (!(await verified(wire))) { console.warn("dropped a forged or altered message"); return null; }
    return wire;
  }

  async onSignal(topic, data) {
    if (this.left) return;
    const wire = await this.openSignal(data);
    if (!wire || (wire.to !== undefined && wire.to !== this.id)) return;
    const from = wire.from;
    if (wire.type === "hello" && wire.to === undefined) {
      this.overlay.helloHeard(from, Date.now() / 1000, wire.crowd === true);
    }
    const caller = this.id < from;
    let peer = this.peers.get(from);
    if (peer && wire.to !== undefined) peer.heard = true;
    if (peer) peer.pk = wire.pk; // verified above; an id is a hash of its key
    if (!peer && ["hello", "offer"].includes(wire.type)) {
      // In a partial mesh a stranger's announcement is not called back; in one, or once
      // a hello said "crowd", its request for a link is taken up while the page has few.
      if (this.overlay.partial && wire.to === undefined) return;
      if (wire.to !== undefined && !this.overlay.acceptsLink()) return;
    }
    switch (wire.type) {
      case "hello": {
        const directed = wire.to !== undefined;
        if (!peer) {
          // A crowd (a hello said so): probe a few of it, not each (signalling/protocol.py).
          if (!directed && !this.overlay.mayProbe()) return;
          peer = this.addPeer(from, wire.nick, wire.pk);
          if (!peer) return;
          peer.heard = directed;
          // A stranger's announcement gets one directed hello (a probe); a peer
          // connection only once it replies, so a flood of identities costs little.
          if (!directed) return this.hello(from);
        }
        this.announceNick(peer, wire.nick);
        if (peer.pc) {
          if (!directed) return;
          if (peer.phase === "open" && Date.now() - peer.lastSeen < 2 * HEARTBEAT_INTERVAL) return;
          if (peer.phase === "offering") {
            if (Date.now() - peer.sentAt >= RETRANSMIT / 2) this.resend(peer);
            return;
          }
          if (!caller) return;
        }
        if (caller) return this.call(peer);
        this.closePc(peer);
        peer.started = Date.now();
        return this.hello(from);
      }
      case "offer": {
        if (!peer) peer = this.addPeer(from, wire.nick, wire.pk);
        if (!peer) return;
        peer.heard = true;
        this.announceNick(peer, wire.nick);
        if (peer.session === wire.session) return this.resend(peer);
        if (peer.phase === "offering" && caller) return; // crossed offers: ours wins
        this.closePc(peer);
        this.openPc(peer, wire.session, "answering");
        await peer.pc.setRemoteDescription({ type: "offer", sdp: limitSdp(wire.sdp, peer.budget) });
        peer.remoteSet = true;
        await this.flushEarly(peer);
        await peer.pc.setLocalDescription(await peer.pc.createAnswer());
        peer.phase = "connecting";
        return this.sendDescription(peer, "answer");
      }
      case "answer": {
        if (!peer || peer.phase !== "offering" || peer.session !== wire.session) return;
        this.announceNick(peer, wire.nick);
        peer.phase = "connecting";
        await peer.pc.setRemoteDescription({ type: "answer", sdp: limitSdp(wire.sdp, peer.budget) });
        peer.remoteSet = true;
        return this.flushEarly(peer);
      }
      case "candidate": {
        if (!peer) {
          // Its offer may still be on the way: keep a few, for a few strangers only.
          const stray = this.strays.get(from) || [];
          if (stray.length < 64) stray.push([wire.session, wire.candidate]);
          this.strays.delete(from);
          this.strays.set(from, stray);
          if (this.strays.size > MAX_STRAY_SENDERS) this.strays.delete(this.strays.keys().next().value);
          return;
        }
        if (peer.session === wire.session && peer.remoteSet) {
          return this.addCandidate(peer, wire.candidate);
        }
        const early = peer.early.get(wire.session) || [];
        if (early.length < 64) peer.early.set(wire.session, [...early, wire.candidate]);
        return;
      }
      case "bye":
        if (peer) this.drop(peer, "said bye");
        this.overlay.memberLeft(from, "said bye");
    }
  }

  addPeer(id, nick, pk) {
    const all = [...this.peers.values()];
    if (all.length >= MAX_PEERS || all.filter((p) => p.phase !== "open").length >= MAX_HALF_OPEN) {
      return null; // strangers wait their turn: real peers hello again soon
    }
    const peer = { id, nick: cleanNick(nick), pc: null, channel: null, session: null,
      phase: "idle", remoteSet: false, early: new Map(), joined: false, started: Date.now(),
      lastSeen: 0, description: null, sentAt: 0, sends: 0, heard: false, badFrames: null,
      budget: newBudget(), pk, key: null, inbox: Promise.resolve() };
    for (const [session, candidate] of this.strays.get(id) || []) {
      peer.early.set(session, [...(peer.early.get(session) || []), candidate]);
    }
    this.strays.delete(id);
    this.peers.set(id, peer);
    return peer;
  }

  // A peer's nick is the one it announced before joining; it cannot change it later.
  announceNick(peer, nick) {
    if (!peer.joined) peer.nick = cleanNick(nick);
  }

  openPc(peer, session, phase) {
    const pc = new RTCPeerConnection({ iceServers: this.broker.iceServers });
    Object.assign(peer, { pc, session, phase, remoteSet: false, started: Date.now(), sends: 0,
      budget: newBudget() });
    pc.onicecandidate = (event) => {
      if (peer.pc !== pc) return;
      // Browsers trickle; null marks end-of-candidates, which aiortc waits for.
      const candidate = event.candidate && event.candidate.candidate
        ? { candidate: event.candidate.candidate, sdpMid: event.candidate.sdpMid,
            sdpMLineIndex: event.candidate.sdpMLineIndex }
        : null;
      this.signal(this.topicOf(peer.id), "candidate",
        { to: peer.id, session, candidate });
    };
    pc.onconnectionstatechange = () => {
      if (peer.pc === pc && ["failed", "closed"].includes(pc.connectionState)) {
        this.lost(peer, `connection ${pc.connectionState}`);
      }
    };
    pc.ondatachannel = (event) => this.attach(peer, pc, event.channel);
    return pc;
  }

  async call(peer) {
    this.closePc(peer);
    const pc = this.openPc(peer, randomHex(8), "offering");
    this.attach(peer, pc, pc.createDataChannel("chat"));
    await pc.setLocalDescription(await pc.createOffer());
    if (peer.pc === pc) return this.sendDescription(peer, "offer");
  }

  async sendDescription(peer, type) {
    peer.description = { type, sdp: peer.pc.localDescription.sdp, session: peer.session };
    peer.sentAt = Date.now();
    peer.sends = 1;
    return this.signal(this.topicOf(peer.id), type,
      { to: peer.id, session: peer.session, sdp: peer.description.sdp, nick: this.nick });
  }

  resend(peer) {
    if (!peer.description || peer.description.session !== peer.session) return;
    peer.sentAt = Date.now();
    peer.sends += 1;
    return this.signal(this.topicOf(peer.id), peer.description.type,
      { to: peer.id, session: peer.session, sdp: peer.description.sdp, nick: this.nick });
  }

  async flushEarly(peer) {
    const early = peer.early.get(peer.session) || [];
    peer.early.clear();
    for (const candidate of early) await this.addCandidate(peer, candidate);
  }

  async addCandidate(peer, candidate) {
    const problem = candidate === null ? null : admitCandidate(peer.budget, candidate.candidate);
    if (problem) { console.warn("candidate from", peer.id, "refused:", problem); return; }
    try {
      await peer.pc.addIceCandidate(candidate === null ? undefined : candidate);
    } catch (error) {
      console.warn("bad candidate from", peer.id, error);
    }
  }

  attach(peer, pc, channel) {
    if (channel.label !== "chat") return;
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.onbufferedamountlow = () => { if (peer.pc === pc) this.pump(peer); };
    const opened = () => {
      if (peer.pc !== pc) return;
      peer.channel = channel;
      peer.phase = "open";
      peer.lastSeen = Date.now();
      peer.channelOpen = true;
      // The data plane first: whoever hears "joined" may send to the peer at once.
      this.carry(this.data.opened(peer.id, now()));
      if (!peer.joined) {
        peer.joined = true;
        if (!this.overlay.partial) {
          this.overlay.announced.add(peer.id);
          this.emit("joined", { id: peer.id, nick: peer.nick });
        }
      }
      this.overlay.linkUp(peer);
    };
    channel.onopen = opened;
    if (channel.readyState === "open") opened();
    channel.onmessage = (event) => this.onChannel(peer, pc, event.data);
    channel.onclose = () => { if (peer.pc === pc) this.lost(peer, "data channel closed"); };
  }

  // Garbage on the data channel: a few are forgiven, a peer that keeps at it is dropped.
  badFrame(peer, why) {
    // A few are forgiven (a newer client, a glitch); one that keeps at it is dropped.
    if (peer.badFrames === null) {
      console.warn("bad data channel frame from", peer.id, why);
      peer.badFrames = new TokenBucket(BAD_FRAME_RATE, BAD_FRAME_BURST, now());
    }
    if (!peer.badFrames.take(now())) this.drop(peer, "sent too many invalid data channel frames");
  }

  // Frames are handled one after another per peer: checking a signature takes a moment.
  onChannel(peer, pc, data) {
    if (peer.pc !== pc) return;
    peer.lastSeen = Date.now();
    const frame = typeof data === "string" ? data : new Uint8Array(data);
    peer.inbox = peer.inbox.then(async () => {
      if (peer.pc !== pc) return;
      if (isOverlayFrame(frame)) await this.overlay.onFrame(peer, frame, now());
      else this.carry(await this.data.receive(peer.id, frame, now()));
    }).catch((error) => console.warn("data channel frame from", peer.id, error));
  }

  // Whether `author` signed `bytes`, by the key it proved in signalling.
  async verifyBy(author, signature, bytes) {
    const peer = this.peers.get(author);
    if (!peer || typeof peer.pk !== "string") return false;
    peer.key ??= crypto.subtle.importKey(
      "raw", unb64url(peer.pk), { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify("Ed25519", await peer.key, unb64url(signature), bytes);
  }

  // Carry out what the data plane decided.
  carry(actions) {
    for (const action of actions) {
      const peer = this.peers.get(action.peer);
      switch (action.type) {
        case "SendFrame":
          if (peer && peer.phase === "open" && peer.channel?.readyState === "open") {
            peer.channel.send(action.frame);
          }
          break;
        case "Pump": if (peer) this.pump(peer); break;
        case "FlushAcksAt":
          setTimeout(() => { if (!this.left) this.carry(this.data.flush(now())); },
            Math.max(0, action.when - now()) * 1000);
          break;
        case "MessageReceived": {
          const { id, from, ts, text } = action.message;
          // Shown under the nick the peer announced when it joined, not the frame's.
          const detail = { id, from, nick: this.nickOf(from), ts, text };
          this.emit("message", detail);
          this.history?.keep({ ...action.message, nick: detail.nick }, this.peers.get(from)?.pk);
          this.channels.get(CHAT_CHANNEL)?.deliver({ ...detail, data: text, size: text.length });
          break;
        }
        case "PayloadReceived": {
          const h = action.header;
          const detail = { id: h.id, channel: h.channel, from: h.sender,
            nick: this.nickOf(h.sender), ts: h.ts, size: h.size,
            sha256: h.sha256, data: h.kind === "bytes" ? action.body : action.value };
          this.channels.get(h.channel)?.deliver(detail);
          break;
        }
        case "MessageUndelivered":
          this.emit("undelivered", { id: action.id, peer: action.peer, reason: action.reason });
          break;
        case "PayloadUndelivered":
          if (action.header.channel.startsWith(RESERVED_PREFIX)) break; // files say it their way
          this.emit("undelivered", { id: action.header.id, channel: action.header.channel,
            peer: action.peer, reason: action.reason });
          break;
        case "TransferProgress": {
          const { channel, id, sending, done, total } = action;
          if (channel.startsWith(RESERVED_PREFIX)) break; // a file's chunks: files.js reports
          const detail = { channel, id, peer: action.peer, sending, done, total };
          this.emit("progress", detail);
          this.channels.get(channel)?.dispatchEvent(new CustomEvent("progress", { detail }));
          break;
        }
        case "PeerSaidBye": if (peer) this.drop(peer, "said bye"); break;
        case "PeerSilent": if (peer) this.lost(peer, `silent for ${action.silence.toFixed(1)} s`); break;
        case "PeerMisbehaved": if (peer) this.badFrame(peer, action.reason); break;
        case "DropPeer":
          console.warn("dropping peer", action.peer, action.reason);
          if (peer) this.drop(peer, action.reason);
          break;
      }
    }
    // Every change to the payload backlog comes through here: release held senders.
    if (this.drained.length && this.data.backlog() <= SEND_BACKLOG) {
      for (const wake of this.drained.splice(0)) wake();
    }
  }

  // Hand the peer's channel as many payload frames as it takes now.
  pump(peer) {
    if (peer.phase !== "open" || peer.channel?.readyState !== "open") return;
    this.carry(this.data.pump(peer.id, peer.channel.bufferedAmount, now()));
  }

  // -- sending --

  async send(text) {
    if (this.overlay.partial) {
      const message = await this.data.newChat(text, Date.now());
      await this.overlay.publish(message);
      this.history?.keep(message, this.identity.publicKey);
      return { message, delivered: [...this.overlay.gossip.links].sort() };
    }
    const [sent, actions] = await this.data.sendChat(text, now(), Date.now());
    this.carry(actions);
    this.history?.keep(sent.message, this.identity.publicKey);
    return { message: sent.message, delivered: sent.delivered };
  }

  // The channel `name`: send(data, {to}) any JSON value or bytes (Uint8Array,
  // ArrayBuffer) to everyone or to chosen peer ids; "message" events carry what arrives
  // ({data, from, nick, ts, id, size}), "progress" events how far large payloads are.
  channel(name) {
    checkChannelName(name);
    if (!this.channels.has(name)) this.channels.set(name, new Channel(this, name));
    return this.channels.get(name);
  }

  // Offer a File (from an <input type=file> or a drop) to everyone, or to chosen peer
  // ids; file-* events on the room say how it goes (files.js).
  sendFile(file, to = null) { return this.files.sendFile(file, to); }

  async sendPayload(channel, data, to = null) {
    while (this.data.backlog() > SEND_BACKLOG && !this.left) {
      await new Promise((resolve) => this.drained.push(resolve));
    }
    const linked = to !== null && to.length && to.every((id) => this.overlay.gossip.links.has(id));
    if (this.overlay.partial && !linked) return this.relayValue(channel, data, to);
    const [sent, actions] = await this.data.sendPayload(channel, data, now(), Date.now(), to);
    this.carry(actions);
    return sent;
  }

  // A payload to the room, or to members not all linked to us, through the partial
  // mesh: a JSON value in one envelope if it fits, else in parts (parts.js), paced.
  async relayValue(channel, data, to) {
    checkChannelName(channel);
    const absent = (to ?? []).filter((id) => !this.overlay.members.has(id));
    if (absent.length) throw new Error(`not in the room: ${absent.join(", ")}`);
    const [kind, bytes] = encodeBody(data);
    const id = randomHex(16), ts = Date.now();
    const sending = () => ({ id, sending: [...this.overlay.gossip.links].sort() });
    if (kind === "json" && bytes.length <= MAX_FRAME_CHARS - 8192) { // envelope fields fit
      await this.overlay.publish({ type: "data", channel, id, ts, value: data }, to ?? []);
      return sending();
    }
    const release = this.relaying;
    let done;
    this.relaying = new Promise((resolve) => { done = resolve; });
    await release; // one relayed payload of ours at a time
    try {
      for (let i = 0; i < partCount(bytes.length); i++) {
        await this.roomToRelay();
        const part = bytes.subarray(i * PART_BYTES, (i + 1) * PART_BYTES);
        await this.overlay.publish(partBody(channel, id, ts, kind, bytes.length, i), to ?? [], part);
      }
    } finally { done(); }
    return sending();
  }

  // Wait for our turn to relay a part: PART_RATE a second, and no link backed up.
  async roomToRelay() {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const wait = (this.nextPartAt ?? 0) - performance.now();
    if (wait > 0) await sleep(wait);
    this.nextPartAt = Math.max(performance.now(), this.nextPartAt ?? 0) + 1000 / PART_RATE;
    const backedUp = () => [...this.peers.values()]
      .some((p) => p.channel?.readyState === "open" && p.channel.bufferedAmount > RELAY_HIGH_WATER);
    while (backedUp() && !this.left) await sleep(20);
    if (this.left) throw new Error("the room was left");
  }

  // -- the partial mesh's needs (crowd.js) --

  nickOf(id) { return this.peers.get(id)?.nick ?? this.overlay.nick(id) ?? "anon"; }

  linkCount() { return [...this.peers.values()].filter((p) => p.pc).length; }

  sendFrame(peerId, frame) {
    const peer = this.peers.get(peerId);
    if (peer && peer.phase === "open" && peer.channel?.readyState === "open") peer.channel.send(frame);
  }

  // Ask the member `id` for a link.
  link(id) {
    const member = this.overlay.members.get(id);
    const peer = member && this.addPeer(id, member.nick, member.pk);
    if (!peer) return;
    peer.heard = true;
    if (this.id < id) this.call(peer);
    else this.hello(id);
  }

  // Close a link that is not a leave (the peer pruned it).
  unlink(peer) {
    this.overlay.linkDown(peer.id);
    this.closePc(peer);
    this.peers.delete(peer.id);
  }

  // -- losing peers --

  closePc(peer) {
    if (peer.channelOpen) {
      peer.channelOpen = false;
      this.carry(this.data.closed(peer.id, now(), false));
    }
    if (!peer.pc) return;
    const pc = peer.pc;
    Object.assign(peer, { pc: null, channel: null, session: null, phase: "idle",
      remoteSet: false, description: null });
    pc.close();
  }

  drop(peer, reason) {
    this.closePc(peer);
    this.peers.delete(peer.id);
    this.overlay.linkDown(peer.id);
    if (!peer.joined) return; // a stranger: the data plane never knew it
    if (this.overlay.partial) {
      // A link, not the member: gone from the room only when it says bye.
      if (reason === "said bye") this.overlay.memberLeft(peer.id, reason);
    } else {
      this.overlay.announced.delete(peer.id);
      this.emit("left", { id: peer.id, nick: peer.nick, reason });
    }
    this.carry(this.data.closed(peer.id, now(), reason === "said bye"));
  }

  lost(peer, reason) {
    this.drop(peer, reason);
    if (this.overlay.partial) return; // the overlay finds other links
    this.helloInterval = HELLO_INITIAL;
    this.nextHello = Math.min(this.nextHello, Date.now() + HELLO_INITIAL);
    if (!this.left) this.hello(peer.id);
  }

  // Woken on time for heartbeats and suspicion deadlines (they decide how soon a
  // crashed peer is noticed), and at least every TICK_INTERVAL for the rest.
  scheduleTick() {
    const wait = Math.min(Math.max(this.data.nextWakeup() - now(), 0), TICK_INTERVAL);
    this.timer = setTimeout(() => { this.tick(); if (!this.left) this.scheduleTick(); }, wait * 1000);
  }

  tick() {
    if (this.left) return;
    const now = Date.now();
    this.carry(this.data.tick(performance.now() / 1000));
    this.overlay.tick(performance.now() / 1000);
    for (const peer of [...this.peers.values()]) {
      if (peer.phase === "open") continue;
      if (now - peer.started > CONNECT_TIMEOUT) {
        this.drop(peer, "connection attempt timed out");
      } else if (!peer.heard && now - peer.started > UNANSWERED_TIMEOUT) {
        this.drop(peer, "no reply"); // a stranger that never spoke to us directly
      } else if (peer.phase === "offering" && now - peer.sentAt >= RETRANSMIT) {
        if (peer.sends >= MAX_OFFER_SENDS) this.drop(peer, "offer never answered");
        else this.resend(peer);
      }
    }
    if (now >= this.nextHello) {
      if ([...this.peers.values()].some((p) => p.phase !== "open")) this.helloInterval = HELLO_INITIAL;
      this.hello();
    }
  }

  // A tab that slept may have missed everything: look for everyone again.
  wake() {
    this.helloInterval = HELLO_INITIAL;
    this.hello();
  }

  leave() {
    if (this.left) return;
    this.left = true;
    clearTimeout(this.timer);
    this.files?.close();
    this.carry(this.data.leave());
    for (const wake of this.drained.splice(0)) wake();
    this.signal(this.globalTopic, "bye", {});
    for (const peer of [...this.peers.values()]) this.closePc(peer);
    setTimeout(() => this.broker.close(), 200);
  }
}

// One named channel of a room (Room.channel): an EventTarget for "message" and "progress".
export class Channel extends EventTarget {
  constructor(room, name) {
    super();
    this.room = room;
    this.name = name;
  }

  async send(data, { to = null } = {}) {
    if (this.name === CHAT_CHANNEL) {
      if (typeof data !== "string" || to !== null) throw new Error("the chat channel carries text, to everyone");
      return this.room.send(data);
    }
    return this.room.sendPayload(this.name, data, to);
  }

  deliver(detail) { this.dispatchEvent(new CustomEvent("message", { detail })); }
}
