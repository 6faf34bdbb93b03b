// The chat page: a thin view over Room (meshchat.js). Text from peers is only ever
// put into the page as text nodes, never as HTML.
import { Room } from "/meshchat.js";
import { ContactBook } from "/contacts.js";
import { Identity, browserStore } from "/identity.js";
import { grouped } from "/safety.js";
import { visible } from "/text.js";

const params = new URLSearchParams(location.search);
const roomName = params.get("room") || "lobby";
const $ = (id) => document.getElementById(id);
$("room-name").textContent = roomName;
$("nick").value = params.get("nick") || localStorage.getItem("meshchat-nick") || "";
// A secret may come in the fragment (#secret=...), which browsers never send to servers.
const fragment = new URLSearchParams(location.hash.slice(1));
$("secret").value = fragment.get("secret") || "";
$("remember").checked = localStorage.getItem("meshchat-remember") === "yes";

let room = null;
let contacts = null; // a remembered identity's (contacts.js), kept in IndexedDB
const names = new Map();
const transfers = new Map(); // transfer id -> its line in the conversation
let privateTo = null; // the peer what is typed goes to privately (its "msg" button), or null

// Write to `id` privately (sealed to its key: private.js), or to the room again (null).
function writePrivately(id) {
  privateTo = id;
  const button = $("private-to");
  button.hidden = id === null;
  button.textContent = id === null ? "" : `private to ${visible(names.get(id) ?? "?")}${tag(id)} ✕`;
  $("text").placeholder = id === null ? "Say something" : "A private message, sealed to their key";
  $("text").focus();
}
$("private-to").addEventListener("click", () => writePrivately(null));

function size(bytes) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let amount = bytes, unit = 0;
  while (amount >= 1024 && unit < units.length - 1) { amount /= 1024; unit += 1; }
  return unit ? `${amount.toFixed(1)} ${units[unit]}` : `${bytes} B`;
}

// A file's line: what it is, and a progress bar (a download link once it is here).
function transferLine(id, text) {
  line([[text, "text"]], "file");
  const item = $("messages").lastElementChild;
  item.dataset.transfer = id;
  item.append(document.createElement("progress"));
  transfers.set(id, item);
}

async function sendFiles(files) {
  for (const file of files) {
    try {
      const transfer = await room.sendFile(file);
      transferLine(transfer.id, `you send ${file.name} (${size(file.size)})`);
    } catch (error) {
      line([[error.message]], "notice");
    }
  }
}

function line(parts, className) {
  const item = document.createElement("li");
  if (className) item.className = className;
  for (const [text, partClass] of parts) {
    const span = document.createElement("span");
    if (partClass) span.className = partClass;
    span.textContent = visible(text); // what a peer wrote is shown, never obeyed (text.js)
    item.append(span);
  }
  $("messages").append(item);
  redrawSoon();
}

// Redrawn at most once per burst (a roster of a hundred members is a hundred "joined"
// events): the peer list rebuilt and the log scrolled once, not per event.
let peersChanged = false, redrawTimer = null;
function redrawSoon(peers = false) {
  peersChanged ||= peers;
  redrawTimer ??= setTimeout(() => {
    redrawTimer = null;
    if (peersChanged) renderPeers();
    peersChanged = false;
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }, 50);
}

const clock = (ts) => {
  const time = new Date(ts);
  return Number.isNaN(time.getTime())
    ? "--:--" : time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
};

// A nick is whatever a peer chose: the start of its id tells two "ana"s apart, and a
// verified contact is marked.
const verified = (id, nick) => contacts?.standing(id, nick) === "verified";
const tag = (id, nick = names.get(id)) => `#${id.slice(0, 4)}${verified(id, nick) ? "✓" : ""}`;

async function trust(id) {
  const key = room?.publicKeyOf(id);
  if (!contacts || !key) return;
  contacts.trust(names.get(id) ?? "anon", id, key);
  await browserStore("put", `contacts-${room.id}`, contacts.toJSON());
  line([[`${names.get(id)}${tag(id)} is a verified contact now`]], "notice");
  redrawSoon(true);
}

function renderPeers() {
  const list = $("peers");
  list.replaceChildren(...[...names].map(([id, nick]) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "nick";
    name.textContent = visible(nick);
    const idTag = document.createElement("span");
    idTag.className = "tag";
    idTag.textContent = tag(id);
    const rtt = document.createElement("span");
    rtt.className = "rtt";
    rtt.textContent = roundTrip(id);
    const verify = document.createElement("button");
    verify.className = "verify";
    verify.textContent = "verify";
    verify.title = "Show the safety number you and this peer share";
    verify.addEventListener("click", () => showSafetyNumber(id));
    const whisper = document.createElement("button");
    whisper.className = "msg";
    whisper.textContent = "msg";
    whisper.title = "Write to this peer privately: sealed to their key, nobody else can read it";
    whisper.addEventListener("click", () => writePrivately(id));
    item.append(name, idTag, rtt, verify, whisper);
    if (contacts && !verified(id, nick)) {
      const trustButton = document.createElement("button");
      trustButton.className = "trust";
      trustButton.textContent = "trust";
      trustButton.title = "Keep this peer's key as a verified contact (compare safety numbers first)";
      trustButton.addEventListener("click", () => trust(id));
      item.append(trustButton);
    }
    item.title = id;
    return item;
  }));
}

// The digits to compare with the peer, read aloud or side by side (safety.js).
async function showSafetyNumber(id) {
  const digits = await room?.safetyNumber(id);
  if (!digits) return line([["no key is known for this peer yet"]], "notice");
  line([[`safety number with ${names.get(id) ?? "?"}${tag(id)}: ${grouped(digits)}`]], "safety");
  line([["compare it with theirs: if every digit matches, no one sits between you"]], "notice");
}

// How far a peer is: the round trip its heartbeats measure, redrawn every second.
function roundTrip(id) {
  const seconds = room?.roundTrip(id);
  if (seconds === null || seconds === undefined) return "";
  const ms = seconds * 1000;
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

setInterval(() => {
  for (const item of $("peers").children) {
    item.querySelector(".rtt").textContent = roundTrip(item.title);
  }
}, 1000);

async function join(nick) {
  localStorage.setItem("meshchat-nick", nick);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  $("status").textContent = "connecting…";
  const secret = $("secret").value;
  // ?transport=ably&ablyEndpoint=host:port, with #ablyKey=... or #ablyToken=... (a
  // fragment never reaches a server); by default, the broker that served this page.
  // ?transport=mqtt&mqtt=wss://host:port/path (&mqttPrefix=...), with #mqttUser=...
  // and #mqttPassword=... in the fragment.
  const transport = params.get("transport");
  const signalling = transport === "ably"
    // No endpoint given: the SDK's default, with its fallback hosts.
    ? { ably: { endpoint: params.get("ablyEndpoint") || null,
                tls: params.get("ablyTls") !== "0",
                key: fragment.get("ablyKey"), token: fragment.get("ablyToken") } }
    : transport === "mqtt"
      ? { mqtt: { url: params.get("mqtt") || "", prefix: params.get("mqttPrefix") || "meshchat/",
                  username: fragment.get("mqttUser"), password: fragment.get("mqttPassword") } }
      : { broker: `${scheme}://${location.host}/` };
  // ?history=off: neither ask for the room's recent lines nor keep them.
  const remember = $("remember").checked;
  localStorage.setItem("meshchat-remember", remember ? "yes" : "no");
  // Remembered: its contacts first, so that the first "joined" is checked against them.
  const identity = remember ? await Identity.remembered() : null;
  if (identity) contacts = new ContactBook((await browserStore("get", `contacts-${identity.id}`)) ?? {});
  room = await Room.join(signalling, roomName, nick, secret,
    { history: params.get("history") !== "off", identity });
  window.meshchatRoom = room; // for tests and the curious
  const kind = secret ? "sealed room" : "open room";
  $("status").textContent = `you are ${nick}${tag(room.id)} (${kind})`;
  $("join").hidden = true;
  document.querySelector("main").hidden = false;
  $("text").focus();
  room.addEventListener("joined", ({ detail }) => {
    names.set(detail.id, detail.nick);
    redrawSoon(true);
    line([[`${detail.nick}${tag(detail.id)} joined`]], "notice");
    if (contacts?.standing(detail.id, detail.nick) === "mismatch") {
      line([[`${detail.nick}${tag(detail.id)} uses the nick of your contact with another key: it is not them`]],
        "warning");
    }
  });
  room.addEventListener("left", ({ detail }) => {
    names.delete(detail.id);
    if (privateTo === detail.id) writePrivately(null);
    redrawSoon(true);
    line([[`${detail.nick}${tag(detail.id)} left (${detail.reason})`]], "notice");
  });
  room.addEventListener("message", ({ detail }) => {
    line([[clock(detail.ts), "time"], [detail.nick + tag(detail.from, detail.nick), "nick"],
      [detail.text, "text"]], detail.history ? "history" : detail.private ? "private" : undefined);
  });
  room.addEventListener("undelivered", ({ detail }) => {
    line([[`a message did not reach ${names.get(detail.peer) || detail.peer}: ${detail.reason}`]],
      "notice");
  });
  room.addEventListener("file-offered", ({ detail }) => {
    transferLine(detail.id, `${detail.nick}${tag(detail.from)} sends ${detail.name} (${size(detail.size)})`);
    const item = transfers.get(detail.id);
    if (detail.warning) {
      const warning = document.createElement("span");
      warning.className = "warning";
      warning.textContent = ` ⚠ ${detail.warning}`;
      item.querySelector(".text").after(warning);
    }
    if (!detail.pending) return;
    // Nothing is taken without the user's word (it waits in the page's memory).
    const take = document.createElement("button");
    take.className = "accept";
    take.textContent = "accept";
    const leave = document.createElement("button");
    leave.className = "decline";
    leave.textContent = "decline";
    const decide = (yes) => {
      take.remove();
      leave.remove();
      if (yes) room.files.accept(detail.from, detail.id);
      else room.files.decline(detail.from, detail.id);
    };
    take.addEventListener("click", () => decide(true));
    leave.addEventListener("click", () => decide(false));
    item.querySelector("progress").before(take, leave);
  });
  room.addEventListener("file-progress", ({ detail }) => {
    const bar = transfers.get(detail.id)?.querySelector("progress");
    if (bar) { bar.max = detail.total || 1; bar.value = detail.done; }
  });
  room.addEventListener("file-received", ({ detail }) => {
    const item = transfers.get(detail.id);
    if (!item) return;
    const link = document.createElement("a");
    link.href = detail.url; // a blob: URL made by the page from the verified bytes
    link.download = detail.name;
    link.textContent = `${visible(detail.name)} (${size(detail.size)})`;
    // Once saved, the page gives the file's memory back (the link goes with it).
    link.addEventListener("click", () => setTimeout(() => {
      room.files.release(detail.id, detail.url);
      link.replaceWith(`${visible(detail.name)} (saved)`);
    }, 1000));
    item.querySelector("progress").replaceWith(link);
  });
  room.addEventListener("file-delivered", ({ detail }) => {
    const bar = transfers.get(detail.id)?.querySelector("progress");
    if (bar) bar.title = `delivered to ${names.get(detail.peer) || detail.peer}`;
  });
  room.addEventListener("file-failed", ({ detail }) => {
    for (const button of transfers.get(detail.id)?.querySelectorAll("button") ?? []) button.remove();
    const who = names.get(detail.peer) || detail.peer;
    line([[`a file ${detail.sending ? "to" : "from"} ${who} failed: ${detail.reason}`]], "notice");
  });
  room.addEventListener("signalling-lost", () => { $("status").textContent = "reconnecting…"; });
  room.addEventListener("signalling-restored", () => {
    $("status").textContent = `you are ${nick}${tag(room.id)} (${kind})`;
  });
}

$("join").addEventListener("submit", (event) => {
  event.preventDefault();
  const nick = $("nick").value.trim();
  if (nick) join(nick).catch((error) => { $("status").textContent = error.message; });
});

$("compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim() || !room) return;
  $("text").value = "";
  try {
    const to = privateTo;
    const { message } = await room.send(text, { to: to === null ? null : [to] });
    const who = to === null ? room.nick + tag(room.id) : `${room.nick}${tag(room.id)} → ${names.get(to) ?? "?"}${tag(to)}`;
    line([[clock(message.ts), "time"], [who, "nick"], [text, "text"]], to === null ? "mine" : "mine private");
  } catch (error) {
    $("text").value = text;
    line([[error.message]], "notice");
  }
});

addEventListener("beforeunload", () => room && room.leave());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && room) room.wake();
});
// A link may suggest a nick (?nick=), but joining is always the user's own click: a
// link must not put someone into a room, and announce them there, on its own.

$("file").addEventListener("change", () => {
  if (room) sendFiles([...$("file").files]);
  $("file").value = "";
});
document.addEventListener("dragover", (event) => { if (room) event.preventDefault(); });
document.addEventListener("drop", (event) => {
  if (!room || !event.dataTransfer?.files.length) return;
  event.preventDefault();
  sendFiles([...event.dataTransfer.files]);
});
