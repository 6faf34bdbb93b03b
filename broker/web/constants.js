// What the page's signalling must agree on with the Python client (mesh/signalling/protocol.py,
// signalling/admission.py, payload_sender.py): tests/vectors/constants.json lists every shared
// constant once, and tests/node/constants.test.mjs holds these to it. Times in ms.

export const HELLO_INITIAL = 1000, HELLO_MAX = 30000, HELLO_JITTER = 0.25;
// On joining, strangers' announcements are only noted for this long (the room may be
// too big for a full mesh, and its members call us anyway).
export const JOIN_SETTLE = 1500;
export const CONNECT_TIMEOUT = 20000, RETRANSMIT = 2000;
export const HEARTBEAT_INTERVAL = 1000; // the data plane's failure detector judges silence
// Bounds against hostile peers.
export const MAX_PEERS = 256, MAX_HALF_OPEN = 32, UNANSWERED_TIMEOUT = 6000, MAX_OFFER_SENDS = 4;
export const MAX_STRAY_SENDERS = 32, MAX_EARLY_CANDIDATES = 64, MAX_UNANSWERED = 64;
// Once a hello says the room is a partial mesh ("crowd"), the strangers we probe.
export const CROWD_PROBES = 6;
// Strangers served in turn, one lane (the connection they came through) at a time:
// this many a second, in bursts of ADMIT_BURST; a few waiting per lane, not for long.
export const ADMIT_RATE = 10, ADMIT_BURST = 40, ADMIT_PER_LANE = 2, ADMIT_MAX_LANES = 256;
export const ADMIT_MAX_AGE = 3000;
// What a known peer's messages may make us do (a connection, a publish) per second.
export const PEER_WORK_RATE = 0.5, PEER_WORK_BURST = 6;
// A peer dropped for breaking the rules is ignored this long; so many are remembered.
export const SHUN = 60000, MAX_SHUNNED = 1024;
// Invalid data-channel frames forgiven a second, and in a burst, before the peer is dropped.
export const BAD_FRAME_RATE = 2, BAD_FRAME_BURST = 20;
// send() on a channel waits while this many payload bytes are still to go out.
export const SEND_BACKLOG = 8 * 1024 * 1024;
// Parts of a payload relayed through a partial mesh: at most PART_RATE a second, none
// while a link's channel holds RELAY_HIGH_WATER bytes not yet sent.
export const PART_RATE = 150, RELAY_HIGH_WATER = 1024 * 1024;
