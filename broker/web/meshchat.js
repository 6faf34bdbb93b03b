// meshchat in the browser: the protocol of docs/protocol.md over the bundled broker (or
// any y-webrtc signalling server, or Ably), with the browser's own WebRTC and WebCrypto.
// No build step: ES modules the broker serves as they are.
//
// Room is the page's driver: the decisions are its cores' (signalling.js, dataplane.js,
// crowd.js for a partial mesh); Room feeds them what the signalling service, the peer
// connections and the clock say, and carries out what they return.

import { HEARTBEAT_INTERVAL } from "/constants.js";
import { DataPlane, TICK_INTERVAL, hex } from "/dataplane.js";
import { canonical, clientTopic, globalTopic } from "/frames.js";
import { checkChannelName } from "/payloads.js";
import { RoomSeal } from "/sealing.js";
import { FileTransfers } from "/files.js";
import { History } from "/history.js";
import { b64url, unb64url } from "/keys.js";
import { PageOverlay, isOverlayFrame } from "/crowd.js";
import { SAID_BYE, Signalling } from "/signalling.js";
import { BrokerConnection } from "/broker.js";
import { Identity, KeyRing } from "/identity.js";
import { safetyNumber } from "/safety.js";
import { SignalCodec } from "/codec.js";
import { Channel } from "/channel.js";
import { PayloadSender } from "/sender.js";
import { BrowserLinks } from "/links.js";
import { newsOf } from "/news.js";
import { keysFor, sealPayload } from "/private.js";

const now = () => performance.now() / 1000; // the cores' clock, in seconds

export { Channel, Identity, b64url, canonical }; // where the page's tests look for them

export class Room extends EventTarget {
  // With a secret, everything published is sealed and the room's name is hidden.
  // ``signalling``: { broker: url }, { ably: { endpoint, tls, key | token } } or
  // { mqtt: { url, username, password, prefix } } (MQTT over websockets).
  // ``history``: keep the room's recent lines and ask for them (history.js).
  // ``remember``: join as the identity kept on this browser (identity.js); or as
  // ``identity``, one the caller has already.
  static async join(signalling, roomName, nick, secret = "",
    { history = true, remember = false, identity = null } = {}) {
    identity ??= await (remember ? Identity.remembered() : Identity.create());
    const room = new Room(roomName, nick, identity);
    room.keepHistory = history;
    if (secret) room.seal = await RoomSeal.create(roomName, secret, b64url, unb64url);
    await room.start(signalling);
    return room;
  }

  constructor(name, nick, identity) {
    super();
    Object.assign(this, { name, nick, identity, id: identity.id, seal: null, left: false });
    this.links = new BrowserLinks({
      localDescription: (pcId, type, sdp) =>
        this.signalled(this.signalling.localDescription(pcId, type, sdp, now())),
      localCandidate: (pcId, candidate) => this.signalled(this.signalling.localCandidate(pcId, candidate)),
      opened: (pcId, peer) => this.linkOpened(pcId, peer),
      frame: (pcId, peer, frame) => this.onFrame(pcId, peer, frame),
      closed: (pcId, reason) => this.signalled(this.signalling.connectionFailed(pcId, reason)),
      drained: (pcId) => this.pump(pcId),
    });
    this.keys = new KeyRing();
    this.channels = new Map(); // name -> Channel the page asked for
    this.signalling = new Signalling({
      id: this.id, nick, newSession: () => hex(crypto.getRandomValues(new Uint8Array(8))),
      acceptLink: () => this.overlay.acceptsLink(),
    });
    this.data = new DataPlane({
      clientId: this.id, nick, room: name,
      sign: (bytes) => identity.signBytes(bytes),
      // By the key the author proved in signalling.
      verify: (author, signature, bytes) => this.keys.verify(this.signalling.peers.get(author), signature, bytes),
      heartbeatInterval: HEARTBEAT_INTERVAL / 1000,
      wanted: (channel) => this.channels.has(channel), // files and history open theirs too
      sealKey: identity.sealKey,
      sealKeyOf: (id) => this.codec?.sealKeyOf(id) ?? null, // announced in signed signalling
    });
    // In a room bigger than a full mesh, the page is a light member (crowd.js).
    this.overlay = new PageOverlay({
      id: this.id, room: name, identity,
      lastHello: () => this.lastHello,
      emit: (type, detail) => this.emit(type, detail),
      nickOf: (id) => this.nickOf(id),
      linkCount: () => this.signalling.connectionCount(),
      openLinks: () => [...this.signalling.openPeers().keys()],
      isLinked: (id) => this.signalling.peers.get(id)?.phase === "open",
      isKnown: (id) => this.signalling.peers.has(id),
      sendFrame: (id, frame) => this.sendFrame(id, frame),
      badFrame: (id, why) => this.peerMisbehaved(id, why),
      dropPeer: (id, reason) => this.onLink(id, (pcId) => this.signalling.misbehaved(pcId, reason, now())),
      unlink: (id) => this.signalled(this.signalling.unlink(id)),
      link: (id) => this.link(id),
      becamePartial: () => this.signalled(this.signalling.goPartial()),
      openSignal: (wire) => this.openSignal(wire),
      history: () => this.history,
      deliver: (channel, detail) => this.channels.get(channel)?.deliver(detail),
    });
    this.sender = new PayloadSender({
      backlog: () => this.data.backlog(), overlay: this.overlay, left: () => this.left,
      backedUp: (high) => this.links.backedUp(high),
      sealFor: (channel, id, to) =>
        sealPayload(this.name, this.id, channel, id, to, keysFor(to, (peer) => this.codec.sealKeyOf(peer))),
    });
  }

  // The peers we hold a connection to, or try to: id -> {id, nick, phase, joined, ...}
  // (the signalling core's own state: read it, never change it).
  get peers() { return this.signalling.peers; }

  // Messages dropped because their author's signature did not verify (sent to us, or
  // in the history a peer gave us).
  get forged() { return this.data.forged + (this.history?.forged ?? 0); }

  // The smoothed round-trip time to a peer in seconds (heartbeat echoes), or null.
  roundTrip(peerId) { return this.data.roundTrip(peerId); }

  // The 60 digits we and `peerId` share (safety.js), or null for a peer without a key.
  async safetyNumber(peerId) {
    const key = this.publicKeyOf(peerId);
    return key ? safetyNumber(unb64url(this.identity.publicKey), unb64url(key)) : null;
  }

  // The key (base64url) `peerId` proved it signs with, if the room knows it.
  publicKeyOf(peerId) { return this.signalling.peers.get(peerId)?.pk ?? this.overlay.key(peerId) ?? null; }

  get topicRoom() { return this.seal ? this.seal.topicTag : this.name; }
  topicOf(id) { return id === null ? globalTopic(this.topicRoom) : clientTopic(this.topicRoom, id); }

  async start(signalling) {
    const onMessage = (topic, data, lane) => this.onSignal(topic, data, lane).catch((e) => console.warn(e));
    const onState = (state) => this.onBrokerState(state);
    const { ably, mqtt } = signalling;
    // The Ably SDK and MQTT.js load only for pages that use them (a third of a megabyte each).
    if (ably) {
      this.broker = new (await import("/ably.js")).AblyConnection(ably.endpoint, ably.tls, ably, onMessage, onState);
    } else if (mqtt) {
      this.broker = new (await import("/mqtt.js")).MqttConnection(mqtt.url, mqtt, mqtt.prefix, onMessage, onState);
    } else {
      this.broker = new BrokerConnection(signalling.broker, onMessage, onState);
    }
    this.broker.identity = this.identity;
    this.codec = new SignalCodec(this.name, this.identity, this.seal);
    await this.broker.open();
    this.links.iceServers = this.broker.iceServers;
    await this.broker.subscribe([this.topicOf(this.id), this.topicOf(null)]);
    this.files = new FileTransfers(this);
    this.history = new History(this, { keep: this.keepHistory ?? true });
    this.signalled(this.signalling.subscribed(now()));
    this.scheduleTick();
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  onBrokerState(state) {
    this.emit(state === "lost" ? "signalling-lost" : "signalling-restored", {});
    if (state === "restored") this.signalled(this.signalling.reannounce(now()));
  }

  // -- signalling --

  async publish(to, message) {
    const data = await this.codec.encode(message);
    if (to === null && message.type === "hello") this.lastHello = data; // for rosters and "here"
    this.broker.publish(this.topicOf(to), data);
  }

  // A signalling message opened (if sealed) and its signature checked (codec.js).
  openSignal(data) { return this.codec.open(data); }

  async onSignal(topic, data, lane) {
    const wire = await this.openSignal(data);
    if (!wire || this.left) return;
    this.signalled(this.signalling.received(wire, now(), { lane, global: topic === this.topicOf(null) }));
  }

  // Carry out what the signalling core decided.
  signalled(actions) {
    const departed = []; // after the links closed: "left" then names the nick they had
    for (const action of actions) {
      switch (action.type) {
        case "Publish": this.publish(action.to, action.message).catch((e) => console.warn(e)); break;
        case "CreatePeerConnection": this.links.create(action.pcId, action.peer, action.caller); break;
        case "SetRemoteDescription": this.links.describe(action.pcId, action.sdpType, action.sdp); break;
        case "AddRemoteCandidate": this.links.addCandidate(action.pcId, action.candidate); break;
        case "ClosePeerConnection": this.closeLink(action.pcId); break;
        case "LinkOpened":
          if (!this.overlay.partial) {
            this.overlay.announced.add(action.peer);
            this.emit("joined", { id: action.peer, nick: action.nick });
          }
          break;
        case "LinkClosed": this.linkClosed(action); break;
        case "Announced": this.overlay.helloHeard(action.peer, Date.now() / 1000, action.crowd); break;
        case "Departed": departed.push(action.peer); break;
      }
    }
    for (const peer of departed) this.overlay.memberLeft(peer, SAID_BYE);
  }

  // -- links --

  linkOpened(pcId, peer) {
    // The data plane first: whoever hears "joined" may send to the peer at once.
    this.carry(this.data.opened(peer, now()));
    this.signalled(this.signalling.channelOpen(pcId, now()));
    const state = this.signalling.peers.get(peer);
    this.overlay.linkUp(peer, state?.nick, state?.pk);
  }

  // Frames come one after another per link: checking a signature takes a moment.
  async onFrame(pcId, peer, frame) {
    this.signalling.channelActivity(pcId, now());
    if (isOverlayFrame(frame)) await this.overlay.onFrame(peer, frame, now());
    else this.carry(await this.data.receive(peer, frame, now()));
  }

  closeLink(pcId) {
    const peer = this.links.close(pcId);
    if (peer === null) return;
    this.overlay.linkDown(peer);
    this.carry(this.data.closed(peer, now(), false)); // nothing more goes on it
  }

  linkClosed({ peer, nick, reason, saidBye }) {
    if (this.overlay.partial) {
      // A link, not the member: gone from the room only when it says bye.
      if (saidBye) this.overlay.memberLeft(peer, reason);
    } else if (this.overlay.announced.delete(peer)) {
      this.emit("left", { id: peer, nick, reason });
    }
    this.carry(this.data.closed(peer, now(), saidBye));
  }

  // The core's `decide(pcId)` for the connection to `peer`, if there is one.
  onLink(peer, decide) {
    const pcId = this.signalling.pcOf(peer);
    if (pcId !== null) this.signalled(decide(pcId));
  }

  peerMisbehaved(peer, why) {
    console.warn("bad data channel frame from", peer, why);
    this.onLink(peer, (pcId) => this.signalling.badFrame(pcId, now()));
  }

  // Carry out what the data plane decided.
  carry(actions) {
    for (const action of actions) {
      const peer = action.peer;
      switch (action.type) {
        case "SendFrame": this.sendFrame(peer, action.frame); break;
        case "Pump": this.pump(this.signalling.pcOf(peer)); break;
        case "FlushAcksAt":
          setTimeout(() => { if (!this.left) this.carry(this.data.flush(now())); },
            Math.max(0, action.when - now()) * 1000);
          break;
        case "MessageReceived": {
          const from = action.message.from;
          if (action.message.to) break; // a private line is for its recipients, never history
          this.history?.keep({ ...action.message, nick: this.nickOf(from) }, this.signalling.peers.get(from)?.pk);
          break;
        }
        case "PeerSaidBye": this.onLink(peer, (pcId) => this.signalling.channelBye(pcId)); break;
        case "PeerSilent": this.onLink(peer, (pcId) => this.signalling.peerSilent(pcId, action.silence)); break;
        case "PeerMisbehaved": this.peerMisbehaved(peer, action.reason); break;
        case "DropPeer":
          console.warn("dropping peer", peer, action.reason);
          this.onLink(peer, (pcId) => this.signalling.misbehaved(pcId, action.reason, now()));
          break;
      }
      for (const [channel, type, detail] of newsOf(action, (id) => this.nickOf(id))) {
        (channel === null ? this : this.channels.get(channel))?.dispatchEvent(new CustomEvent(type, { detail }));
      }
    }
    this.sender.changed(); // every change to the payload backlog comes through here
  }

  sendFrame(peer, frame) { this.links.send(this.signalling.pcOf(peer), frame); }

  // Hand the link's channel as many payload frames as it takes now.
  pump(pcId) {
    const buffered = this.links.buffered(pcId);
    const peer = this.signalling.peerFor(pcId);
    if (buffered !== null && peer !== null) this.carry(this.data.pump(peer, buffered, now()));
  }

  // -- sending --

  // Say `text` to the room; with `to` (peer ids), privately: sealed to their keys end
  // to end (private.js), so that relays in a partial mesh carry it but cannot read it.
  async send(text, { to = null } = {}) {
    if (to !== null) return this.sendPrivate(text, to);
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

  async sendPrivate(text, to) {
    const chosen = [...new Set(to)].sort();
    const linked = chosen.every((id) => this.signalling.peers.get(id)?.phase === "open");
    if (this.overlay.partial && !linked) {
      const absent = chosen.filter((id) => !this.overlay.members.has(id) && !this.signalling.peers.has(id));
      if (absent.length) throw new Error(`not in the room: ${absent.join(", ")}`);
      const [message, line] = await this.data.newPrivate(text, chosen, Date.now());
      await this.overlay.publish(line, chosen);
      return { message, delivered: [...this.overlay.gossip.links].sort() };
    }
    const [sent, actions] = await this.data.sendPrivate(text, chosen, now(), Date.now());
    this.carry(actions);
    return { message: sent.message, delivered: sent.delivered };
  }

  // The channel `name`: send(data, {to}) any JSON value or bytes (Uint8Array,
  // ArrayBuffer) to everyone or to chosen peer ids; "message" events carry what arrives
  // ({data, sender, nick, timestamp_ms, id, size}; from and ts are the same as sender
  // and timestamp_ms), "progress" events how far large payloads are,
  // "delivered" ({id, channel, peer}) and "undelivered" (with a reason) how each ended.
  channel(name) {
    checkChannelName(name);
    if (!this.channels.has(name)) this.channels.set(name, new Channel(this, name));
    return this.channels.get(name);
  }

  // Offer a File (from an <input type=file> or a drop) to everyone, or to chosen peer
  // ids; file-* events on the room say how it goes (files.js).
  sendFile(file, to = null) { return this.files.sendFile(file, to); }

  async sendPayload(channel, data, to = null) {
    await this.sender.turn();
    if (this.sender.mustRelay(to)) return this.sender.relay(channel, data, to);
    const [sent, actions] = await this.data.sendPayload(channel, data, now(), Date.now(), to);
    this.carry(actions);
    return sent;
  }

  // -- the partial mesh's needs (crowd.js) --

  nickOf(id) { return this.signalling.nickOf(id) ?? this.overlay.nick(id) ?? "anon"; }

  linkCount() { return this.signalling.connectionCount(); }

  // Ask the member `id` for a link.
  link(id) {
    const member = this.overlay.members.get(id);
    if (!member) return;
    this.signalled(this.signalling.connect(id, member.nick, now()));
  }

  // -- time --

  // Woken on time for heartbeats and suspicion deadlines (they decide how soon a
  // crashed peer is noticed), and at least every TICK_INTERVAL for the rest.
  scheduleTick() {
    const wait = Math.min(Math.max(this.data.nextWakeup() - now(), 0), TICK_INTERVAL);
    this.timer = setTimeout(() => { this.tick(); if (!this.left) this.scheduleTick(); }, wait * 1000);
  }

  tick() {
    if (this.left) return;
    this.carry(this.data.tick(now()));
    this.overlay.tick(now());
    this.signalled(this.signalling.tick(now()));
  }

  // A tab that slept may have missed everything: look for everyone again.
  wake() { this.signalled(this.signalling.reannounce(now())); }

  leave() {
    if (this.left) return;
    this.left = true;
    clearTimeout(this.timer);
    this.files?.close();
    this.carry(this.data.leave());
    this.signalled(this.signalling.leave());
    setTimeout(() => this.broker.close(), 200);
  }
}
