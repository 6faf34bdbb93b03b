// The page in a room bigger than a full mesh (docs/protocol.md, section 4), as a light
// member: it keeps fewer links than a Python peer (it takes up to PAGE_LINKS, and asks
// for one when it has fewer than PAGE_LOW), knows every member its links vouch for
// (rosters, "here" envelopes; a mere announcement makes no member), tells the room it
// is there, and relays envelopes as every peer does.
import { Gossip, isOverlayFrame } from "./gossip.js";
import { canonical, cleanNick, privateLine } from "./frames.js";
import { verifiedBy } from "./keys.js";
import { SealedRelays, openLine, privateSignedContent } from "./private.js";
import { PartAssembler, readPart } from "./parts.js";

export const THRESHOLD = 24, PAGE_LINKS = 8, PAGE_LOW = 3;
// A member only rosters tell of joins once two of our links vouch for it (partial/membership.py,
// HEARSAY_LINKS); one link's claims wait, MAX_HEARSAY_PER_LINK at most.
export const HEARSAY_LINKS = 2, MAX_HEARSAY_PER_LINK = 256;
export const GONE_REPORTS = 2, REPORT_MEMORY = 30, GONE_QUIET = 2, MEMBER_TTL = 90, SUSPECT_GRACE = 8;
export { isOverlayFrame };
export const PRUNE_FRAME = '{"type":"prune"}';
export const RECOVER_SLACK = 8; // envelopes an author may say between two parts (room_core.py)

// The page's part in a partial mesh. It is handed what it needs of the room as
// callbacks (`room`): who we are (id, room, identity, lastHello()), what it may ask of
// the links (linkCount, openLinks, isLinked, isKnown, sendFrame, badFrame, dropPeer,
// link, unlink, becamePartial), and where what it learns goes (emit, nickOf, deliver,
// openSignal, history).
export class PageOverlay {
  constructor(room) {
    this.room = room;
    this.sealed = new SealedRelays(room.room, room.id, room.identity.sealKey);
    this.partial = false;
    this.crowdProbes = undefined; // 0 once a hello said "crowd" (the core counts probes)
    this.members = new Map(); // id -> { nick, pk, heardAt }
    this.announced = new Set(); // ids the page was told joined
    this.reports = new Map(); // id -> Map(reporter -> when)
    this.hearsay = new Map(); // id -> Set of links that vouched for it, not yet enough
    this.hearsayByLink = new Map(); // link -> claims of it still waiting
    this.parts = new PartAssembler(); // relayed payloads coming in parts (parts.js)
    this.pruning = new Set(); // links told of a prune, closed a little later
    this.gossip = new Gossip({ clientId: room.id, room: room.room, key: room.identity.publicKey,
      sign: (bytes) => room.identity.signBytes(bytes), knows: (id) => this.members.has(id) });
  }

  // A broadcast hello on the signalling service keeps a member current; `crowd`: it
  // said the room is a partial mesh.
  helloHeard(id, now, crowd = false) {
    const member = this.members.get(id);
    if (member) { member.heardAt = Math.max(member.heardAt, now); member.spokeAt = now; }
    if (crowd) this.crowdProbes ??= 0;
  }

  // A member vouched for: a link, a roster entry, or its own "here" envelope.
  noteMember(id, nick, pk, now) {
    if (id === this.room.id) return;
    const member = this.members.get(id);
    if (member) { member.heardAt = Math.max(member.heardAt, now); return; }
    if (this.members.size >= 1024) return;
    this.members.set(id, { nick: cleanNick(nick), pk, heardAt: now });
    if (this.members.size + 1 > THRESHOLD) this.becomePartial();
    this.announce(id);
  }

  becomePartial() {
    if (this.partial) return;
    this.partial = true;
    this.room.becamePartial();
    for (const id of this.members.keys()) this.announce(id);
    this.introduce();
  }

  // Once in a partial mesh with a link: tell the room we are here, once.
  introduce() {
    if (!this.partial || this.introduced || !this.gossip.links.size || !this.room.lastHello()) return;
    this.introduced = true;
    this.publish({ type: "here", hello: this.room.lastHello() })
      .catch((error) => console.warn("could not say here", error));
  }

  announce(id) {
    if (!this.partial || this.announced.has(id)) return;
    const member = this.members.get(id);
    if (!member) return;
    this.announced.add(id);
    this.room.emit("joined", { id, nick: member.nick });
  }

  memberLeft(id, reason) {
    this.deliverWhole(this.parts.forget(id)); // before its nick goes
    this.members.delete(id);
    this.reports.delete(id);
    if (this.announced.delete(id)) {
      this.room.emit("left", { id, nick: this.room.nickOf(id), reason });
    }
  }

  nick(id) { return this.members.get(id)?.nick; }
  key(id) { return this.members.get(id)?.pk; }

  // Whether a stranger asking for a link gets one.
  // (A hello that says "crowd" is reason enough to keep to PAGE_LINKS.)
  acceptsLink() {
    return (!this.partial && this.crowdProbes === undefined) || this.room.linkCount() < PAGE_LINKS;
  }

  linkUp(id, nick, pk) {
    this.noteMember(id, nick, pk, Date.now() / 1000);
    const member = this.members.get(id);
    if (member) member.spokeAt = Date.now() / 1000; // a link opening is its own word
    this.announce(id);
    this.carry(this.gossip.linkUp(id, performance.now() / 1000));
    this.introduce();
  }

  linkDown(id) {
    this.gossip.linkDown(id);
    this.pruning.delete(id);
    // What members reported of it while our link lived counts now: a crashed member's
    // link pruned or closed before it looked silent brings no report of ours.
    this.weighReports(id, Date.now() / 1000, false);
  }

  // A frame of the partial mesh from the link to `id` (`now`: the data plane's clock).
  async onFrame(id, frame, now) {
    if (frame instanceof Uint8Array) return this.carry(await this.gossip.receiveBinary(id, frame, now));
    let wire;
    try { wire = JSON.parse(frame); } catch { return this.room.badFrame(id, "overlay frame is not JSON"); }
    if (!wire || typeof wire !== "object") return this.room.badFrame(id, "overlay frame is not an object");
    if (wire.type === "prune") return this.room.unlink(id);
    if (wire.type === "roster") return this.onRoster(id, wire.members, Date.now() / 1000);
    this.carry(await this.gossip.receive(id, wire, frame, now));
  }

  async onRoster(link, entries, now) {
    if (!Array.isArray(entries) || entries.length > 100) return this.room.badFrame(link, "bad roster");
    // Only a partial mesh's peers send rosters; a link's word alone does not make a room
    // partial: a hello must have said "crowd" too, or the page counted enough members.
    if (!this.partial && this.crowdProbes === undefined) return;
    this.becomePartial();
    for (const entry of entries) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[1] !== "number") continue;
      const wire = await this.room.openSignal(entry[0]);
      if (wire && wire.type === "hello" && wire.to === undefined && entry[1] < 90
        && this.corroborated(wire.from, link)) {
        this.noteMember(wire.from, wire.nick, wire.pk, now - Math.max(0, entry[1]));
      }
    }
  }

  // Whether enough links now vouch for `id`, known only by their rosters (partial/membership.py).
  corroborated(id, link) {
    if (this.members.has(id)) return true;
    const links = this.hearsay.get(id) ?? new Set();
    if (!links.has(link)) {
      if ((this.hearsayByLink.get(link) ?? 0) >= MAX_HEARSAY_PER_LINK) return false;
      links.add(link);
      this.hearsayByLink.set(link, (this.hearsayByLink.get(link) ?? 0) + 1);
    }
    if (links.size >= HEARSAY_LINKS) { // however few links we have: one liar is not two
      this.hearsay.delete(id);
      for (const l of links) this.hearsayByLink.set(l, this.hearsayByLink.get(l) - 1);
      return true;
    }
    this.hearsay.set(id, links);
    if (this.hearsay.size > 1024) {
      const [oldest, its] = this.hearsay.entries().next().value;
      this.hearsay.delete(oldest);
      for (const l of its) this.hearsayByLink.set(l, this.hearsayByLink.get(l) - 1);
    }
    return false;
  }

  carry(actions) {
    for (const action of actions) {
      switch (action.type) {
        case "SendFrame": this.room.sendFrame(action.peer, action.frame); break;
        case "Delivered":
          this.deliver(action.envelope).catch((error) => console.warn("relayed message", error));
          break;
        case "Forged": this.room.dropPeer(action.peer, "it relayed a forged message"); break;
        case "PeerMisbehaved": this.room.badFrame(action.peer, action.reason); break;
      }
    }
  }

  async deliver(envelope) {
    const { author, body } = envelope;
    const member = this.members.get(author);
    if (member) member.heardAt = Date.now() / 1000;
    const nick = this.nick(author) ?? "anon";
    switch (body.type) {
      case "chat": {
        if (body.to !== undefined) return this.deliverPrivate(envelope, nick);
        const message = await this.room.history().checked({ ...body, key: envelope.key });
        if (!message || message.from !== author) return;
        const { id, from, ts, text } = message;
        this.room.emit("message", { id, from, nick, ts, text });
        this.room.history().keep({ ...message, nick }, envelope.key);
        this.room.deliver("chat", { id, from, nick, ts, text, data: text, size: text.length });
        return;
      }
      case "data": {
        const { channel, id, ts } = body;
        if (typeof channel !== "string" || typeof id !== "string" || !Number.isSafeInteger(ts)) return;
        let value = body.value, size = JSON.stringify(value ?? null).length;
        if (body.seal !== undefined) { // sealed to its recipients, us among them
          try { [value, size] = await this.sealed.openValue(author, body, envelope.to); } catch (error) {
            console.warn("dropped a sealed value:", error.message);
            return;
          }
        }
        this.room.deliver(channel, { id, channel, from: author, nick, ts, data: value, size });
        if (envelope.to.length) this.sendReceipt(author, id);
        return;
      }
      case "part": {
        let part = readPart(body, envelope.attachment);
        if (part.seal) {
          try { part = await this.sealed.openPart(author, part, envelope.to); } catch (error) {
            console.warn("dropped a sealed part:", error.message);
            return;
          }
        }
        const now = performance.now() / 1000;
        // Begun before we heard its author: gossip took its first parts for older than
        // us; ask for them (and a few numbers before: the author may have said more).
        if (part.i > 0 && this.parts.isNew(author, part)) this.gossip.recover(author, envelope.n - part.i - RECOVER_SLACK, envelope.n, now);
        return this.deliverWhole(this.parts.add(author, part, envelope.n, now, envelope.to.length > 0, envelope.via));
      }
      case "gone":
        if (body.peer === this.room.id) { // we are not gone: say so, once for a few reports
          if (Date.now() - (this.saidHereAt ?? 0) < 3000) return;
          this.saidHereAt = Date.now();
          return this.publish({ type: "here", hello: this.room.lastHello() });
        }
        return this.reportedGone(body.peer, author);
      case "here": {
        const wire = await this.room.openSignal(body.hello);
        if (wire && wire.from === author && wire.type === "hello") {
          this.noteMember(author, wire.nick, wire.pk, Date.now() / 1000);
          const member = this.members.get(author);
          if (member) member.spokeAt = Date.now() / 1000; // its own word, not hearsay
          this.announce(author);
        }
        return;
      }
      case "bye": return this.memberLeft(author, "said bye");
    }
  }

  // A private line relayed to us among its recipients (partial/relayed.py, RoomCore):
  // as its envelope says, signed by its author, and it opens with our key.
  async deliverPrivate(envelope, nick) {
    let line;
    try { line = privateLine(envelope.body); } catch (error) {
      console.warn("dropped a relayed private line:", error.message);
      return;
    }
    if (line.from !== envelope.author || canonical(line.to) !== canonical(envelope.to)) return;
    const signed = new TextEncoder().encode(privateSignedContent(this.room.room, line));
    if (!(await verifiedBy(line.from, envelope.key, line.sig, signed))) return;
    let text;
    try { text = await openLine(line, this.room.room, this.room.id, this.room.identity.sealKey); } catch (error) {
      console.warn("dropped a relayed private line:", error.message);
      return;
    }
    const { id, from, ts, to } = line;
    const detail = { id, from, nick, ts, text, sender: from, timestamp_ms: ts, private: true, to };
    this.room.emit("message", detail);
    this.room.deliver("chat", { ...detail, data: text, size: text.length });
  }

  // Relayed payloads put back together ({author, part, data, addressed}), each as if
  // it had come over a link; one relayed to chosen members gets a receipt.
  deliverWhole(payloads) {
    for (const { author, part, data, addressed } of payloads) {
      const { channel, id, ts, kind, size } = part;
      let value = data;
      if (kind === "json") {
        try { value = JSON.parse(new TextDecoder().decode(data)); } catch { continue; }
      }
      const nick = this.nick(author) ?? "anon";
      this.room.deliver(channel, { id, channel, from: author, nick, ts, size, data: value });
      if (addressed) this.sendReceipt(author, id);
    }
  }

  // Above PAGE_LINKS open links (taken up before the page knew the room was big), one
  // goes each tick: it is told (a prune, as partial/membership.py does) and closed 2 s later.
  pruneExtra() {
    const open = this.room.openLinks().filter((id) => !this.pruning.has(id));
    if (open.length <= PAGE_LINKS) return;
    const id = open[Math.floor(Math.random() * open.length)];
    this.pruning.add(id);
    this.room.sendFrame(id, PRUNE_FRAME);
    this.gossip.linkDown(id);
    setTimeout(() => { if (this.pruning.delete(id)) this.room.unlink(id); }, 2000);
  }

  // A member's report that `id` fell silent: believed once two members say so; a
  // reporter that is not a member counts for nothing (mesh/partial/membership.py).
  reportedGone(id, reporter) {
    const member = this.members.get(id);
    const now = Date.now() / 1000;
    if (typeof id !== "string" || !member) return;
    if (reporter !== this.room.id && !this.members.has(reporter)) return;
    // Its own word since voids a report (mesh/partial/membership.py); an envelope of its
    // does not: it may be one said before it died, repaired late or held for order.
    if (now - (member.spokeAt ?? -Infinity) < GONE_QUIET) return;
    const reports = this.reports.get(id) ?? new Map();
    reports.set(reporter, now);
    this.reports.set(id, reports);
    this.weighReports(id, now, this.room.isLinked(id));
  }

  // Suspect a member once enough recent reports say it is gone; kept while our link to
  // it lives (`linked`), believed once it does not (mesh/partial/membership.py).
  weighReports(id, now, linked) {
    const member = this.members.get(id), reports = this.reports.get(id);
    if (!member || !reports) return;
    for (const [who, when] of reports) if (now - when > REPORT_MEMORY || when < (member.spokeAt ?? -Infinity)) reports.delete(who);
    if (!reports.size) this.reports.delete(id);
    if (linked) return;
    if (reports.size >= GONE_REPORTS && !member.suspected) {
      // Gone if nothing is heard from it for a while: a stalled peer is reported by all.
      const names = [...reports.keys()].map((who) => this.nick(who) ?? who).sort().join(", ");
      member.suspected = { since: now, names };
    }
  }

  // Tell the author of a payload relayed to us among chosen members that we have it
  // (partial/relayed_receipts.py).
  sendReceipt(author, id) {
    return this.publish({ type: "got", id }, [author]);
  }

  async publish(body, to = [], attachment = null) {
    const [envelope, actions] = await this.gossip.publish(body, performance.now() / 1000, to, attachment);
    this.carry(actions);
    return envelope;
  }

  tick(now) {
    this.carry(this.gossip.tick(now));
    const { dropped, due } = this.parts.expire(now);
    for (const payload of dropped) console.warn("relayed payload stalled:", payload);
    this.deliverWhole(due);
    const wall = Date.now() / 1000;
    for (const [id, member] of [...this.members]) {
      const linked = this.room.isLinked(id);
      if (wall - member.heardAt > MEMBER_TTL && !this.room.isKnown(id)) this.memberLeft(id, "not heard from");
      else if (member.suspected && ((member.spokeAt ?? 0) > member.suspected.since || linked)) member.suspected = null;
      else if (member.suspected && wall - member.suspected.since >= SUSPECT_GRACE) {
        this.memberLeft(id, `lost (noticed by ${member.suspected.names})`);
      }
    }
    if (this.partial) this.pruneExtra();
    if (!this.partial || this.room.linkCount() >= PAGE_LOW) return;
    const unlinked = [...this.members.keys()].filter((id) => !this.room.isKnown(id));
    if (unlinked.length) this.room.link(unlinked[Math.floor(Math.random() * unlinked.length)]);
  }
}
