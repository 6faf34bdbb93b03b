// The page's WebRTC engine, the twin of mesh/webrtc/aiortc_engine.py: a link is one
// RTCPeerConnection with one data channel, named by the signalling core's pcId. What
// the core decides is done here in the order it chose, one operation at a time per
// link; what the browser reports goes back through `events`.

import { LOW_WATER } from "./dataplane.js";

export class BrowserLinks {
  // `events`: localDescription(pcId, type, sdp), localCandidate(pcId, candidate),
  // opened(pcId, peer), frame(pcId, peer, data) (awaited: one frame at a time per link),
  // closed(pcId, reason) (the connection or its channel failed), drained(pcId).
  constructor(events) {
    this.events = events;
    this.iceServers = [];
    this.links = new Map(); // pcId -> { pcId, peer, pc, channel, open, ops, inbox }
  }

  create(pcId, peer, caller) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const link = { pcId, peer, pc, channel: null, open: false, ops: Promise.resolve(), inbox: Promise.resolve() };
    this.links.set(pcId, link);
    const current = () => this.links.get(pcId) === link;
    pc.onicecandidate = ({ candidate: c }) => {
      // Browsers trickle; null marks end-of-candidates, which aiortc waits for.
      const candidate = c && c.candidate ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null;
      if (current()) this.events.localCandidate(pcId, candidate);
    };
    pc.onconnectionstatechange = () => {
      if (current() && ["failed", "closed"].includes(pc.connectionState)) {
        this.events.closed(pcId, `connection ${pc.connectionState}`);
      }
    };
    pc.ondatachannel = (event) => this.attach(link, event.channel);
    if (!caller) return;
    this.attach(link, pc.createDataChannel("chat"));
    this.operate(pcId, async () => {
      await pc.setLocalDescription(await pc.createOffer());
      this.events.localDescription(pcId, "offer", pc.localDescription.sdp);
    });
  }

  // Apply the peer's description; for an offer, make ours and report it.
  describe(pcId, type, sdp) {
    this.operate(pcId, async ({ pc }) => {
      await pc.setRemoteDescription({ type, sdp });
      if (type !== "offer") return;
      await pc.setLocalDescription(await pc.createAnswer());
      this.events.localDescription(pcId, "answer", pc.localDescription.sdp);
    });
  }

  addCandidate(pcId, candidate) {
    this.operate(pcId, ({ pc, peer }) => pc.addIceCandidate(candidate ?? undefined)
      .catch((error) => console.warn("bad candidate from", peer, error)));
  }

  // Close the link; the peer it was open to, if its channel was open (else null).
  close(pcId) {
    const link = this.links.get(pcId);
    if (!link) return null;
    this.links.delete(pcId);
    link.pc.close();
    return link.open ? link.peer : null;
  }

  send(pcId, frame) {
    const link = this.links.get(pcId);
    if (link?.open && link.channel.readyState === "open") link.channel.send(frame);
  }

  // Bytes the link's channel still holds to send, or null if it is not open.
  buffered(pcId) {
    const link = this.links.get(pcId);
    return link?.open && link.channel.readyState === "open" ? link.channel.bufferedAmount : null;
  }

  // Whether any open channel holds more than `high` bytes not yet sent.
  backedUp(high) {
    return [...this.links.values()].some((l) => l.open && l.channel.bufferedAmount > high);
  }

  operate(pcId, operation) {
    const link = this.links.get(pcId);
    if (!link) return;
    link.ops = link.ops.then(() => this.links.get(pcId) === link && operation(link)).catch((error) => {
      if (this.links.get(pcId) === link) this.events.closed(pcId, String(error));
    });
  }

  attach(link, channel) {
    if (channel.label !== "chat") return;
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER;
    const current = () => this.links.get(link.pcId) === link;
    channel.onbufferedamountlow = () => { if (current()) this.events.drained(link.pcId); };
    const opened = () => {
      if (!current() || link.open) return;
      Object.assign(link, { channel, open: true });
      this.events.opened(link.pcId, link.peer);
    };
    channel.onopen = opened;
    if (channel.readyState === "open") opened();
    channel.onmessage = ({ data }) => {
      if (!current()) return;
      const frame = typeof data === "string" ? data : new Uint8Array(data);
      link.inbox = link.inbox.then(() => current() && this.events.frame(link.pcId, link.peer, frame))
        .catch((error) => console.warn("data channel frame from", link.peer, error));
    };
    channel.onclose = () => { if (current()) this.events.closed(link.pcId, "data channel closed"); };
  }
}
