// What the page's signalling must agree on with the Python client (mesh/signalling/protocol.py,
// signalling/admission.py, payload_sender.py): tests/vectors/constants.json lists every shared
// constant once, and tests/node/constants.test.mjs holds these to it. Times in ms.

export const HELLO_INITIAL = 1000, HELLO_MAX = 30000, HELLO_JITTER = 0.25;
export const CONNECT_TIMEOUT = 20000, RETRANSMIT = 2000;
export const HEARTBEAT_INTERVAL = 1000; // the data plane's failure detector judges silence
// Bounds against hostile peers.
export const MAX_PEERS = 256, MAX_HALF_OPEN = 32, UNANSWERED_TIMEOUT = 6000, MAX_OFFER_SENDS = 4;
export const MAX_STRAY_SENDERS = 32;
// Invalid data-channel frames forgiven a second, and in a burst, before the peer is dropped.
export const BAD_FRAME_RATE = 2, BAD_FRAME_BURST = 20;
// send() on a channel waits while this many payload bytes are still to go out.
export const SEND_BACKLOG = 8 * 1024 * 1024;
// Parts of a payload relayed through a partial mesh: at most PART_RATE a second, none
// while a link's channel holds RELAY_HIGH_WATER bytes not yet sent.
export const PART_RATE = 150, RELAY_HIGH_WATER = 1024 * 1024;
