"""The browser client in real Chromium, in the same room as Python peers.

Everything runs inside a network namespace the test creates: the broker, the Python
peers and Chromium itself (started through a small wrapper). Besides loopback the
namespace has one veth pair whose both ends are inside it (Chromium gathers host
candidates only where it sees a routed interface), so no traffic can leave it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.crowd import CrowdProcess, formed
from meshchat.mesh.partial.membership import OverlayConfig
from meshchat.wire.canonical import canonical

from .mosquitto import start_mosquitto
from .netns import ip, require_netns
from .processes import MESHCHAT, REPO, Broker, Peer, Signalling, start_meshchat_broker
from .test_chat_mesh import is_message

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we are root
    "--disable-gpu",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = REPO / "artifacts"
PAGE_LINKS = 8  # broker/web/crowd.js: links a page keeps in a partial mesh
TIMEOUT_MS = 45_000


@pytest.fixture
def loopback_namespace() -> Iterator[str]:
    require_netns()
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed")
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")
    name = f"mc-web-{uuid.uuid4().hex[:6]}"
    ip("netns", "add", name)
    try:
        # No IPv6 in here: addresses that arrive late (duplicate address detection on
        # the veth) are a network change to Chromium, which then fails the page's
        # loads in flight with ERR_NETWORK_CHANGED.
        for setting in ("all", "default"):
            subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    name,
                    "sh",
                    "-c",
                    f"echo 1 > /proc/sys/net/ipv6/conf/{setting}/disable_ipv6",
                ],
                check=True,
                timeout=10,
            )
        inside = ["netns", "exec", name, "ip"]
        ip(*inside, "link", "set", "lo", "up")
        ip(*inside, "link", "add", "mca", "type", "veth", "peer", "name", "mcb")
        ip(*inside, "addr", "add", "10.204.0.1/24", "dev", "mca")
        ip(*inside, "addr", "add", "10.204.0.2/24", "dev", "mcb")
        ip(*inside, "link", "set", "mca", "up")
        ip(*inside, "link", "set", "mcb", "up")
        ip(*inside, "route", "add", "default", "via", "10.204.0.2", "dev", "mca")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@pytest.fixture
async def room_setup(
    loopback_namespace: str, tmp_path: Path
) -> AsyncIterator[tuple[Broker, Any, list[str]]]:
    from playwright.async_api import async_playwright

    launcher = ["ip", "netns", "exec", loopback_namespace]
    broker = await start_meshchat_broker(launcher=launcher)
    wrapper = tmp_path / "chromium-in-namespace"
    wrapper.write_text(f'#!/bin/sh\nexec {" ".join(launcher)} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(wrapper), args=CHROMIUM_ARGS
            )
            yield broker, browser, launcher
            await browser.close()
    finally:
        await broker.stop()


async def open_page(browser: Any, broker: Broker, nick: str, fragment: str = "") -> Any:
    page, said = await click_join(browser, broker, nick, fragment)
    try:
        await page.wait_for_function("window.meshchatRoom !== undefined", timeout=TIMEOUT_MS)
    except Exception as error:
        raise AssertionError(f"the page did not join: {error}; it said: {said}") from None
    return page


async def click_join(
    browser: Any, broker: Broker, nick: str, fragment: str = "", remember: bool = False
) -> tuple[Any, list[str]]:
    """A page served by ``broker``, its join button clicked; and what the page says of
    itself (console, errors, failed requests), to explain a page that never gets going."""
    # Playwright's polling evaluates strings, which the page's CSP forbids: let it.
    page = await browser.new_page(viewport={"width": 900, "height": 600}, bypass_csp=True)
    said: list[str] = []
    page.on("console", lambda message: said.append(f"console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: said.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: said.append(f"failed: {request.url}"))
    http = broker.url.replace("ws://", "http://")
    await page.goto(f"{http}/?room=web&nick={nick}{fragment}")
    try:
        # The link only suggests the nick; joining takes the user's click.
        await page.wait_for_function(
            "nick => document.querySelector('#nick').value === nick", arg=nick, timeout=TIMEOUT_MS
        )
        if remember:
            await page.check("#remember")
        await page.click("#join button")
    except Exception as error:
        raise AssertionError(f"the page did not load: {error}; it said: {said}") from None
    return page, said


async def page_id(page: Any) -> str:
    value: str = await page.evaluate("window.meshchatRoom.id")
    return value


async def peer_names(page: Any) -> list[str]:
    names: list[str] = await page.eval_on_selector_all(
        "#peers li .nick", "e => e.map(x => x.textContent)"
    )
    return sorted(names)


async def received_texts(page: Any) -> list[str]:
    texts: list[str] = await page.eval_on_selector_all(
        "#messages li:not(.notice):not(.mine):not(.history) .text",
        "e => e.map(x => x.textContent)",
    )
    return texts


async def wait_for_texts(page: Any, texts: list[str]) -> None:
    """Wait until the page shows exactly these received messages (in any order)."""
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        while sorted(await received_texts(page)) != sorted(texts):
            await asyncio.sleep(0.1)


async def wait_for_names(page: Any, names: list[str]) -> None:
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        while await peer_names(page) != sorted(names):
            await asyncio.sleep(0.1)


async def send_from_page(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#compose button")


async def test_two_browsers_and_two_python_peers_chat_exactly_once(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    broker, browser, launcher = room_setup
    pages = [await open_page(browser, broker, n) for n in ("wanda", "xavi")]
    pythons = [await Peer.start(broker, "web", n, launcher=launcher) for n in ("yara", "zed")]
    try:
        everyone = ["wanda", "xavi", "yara", "zed"]
        for page, me in zip(pages, ("wanda", "xavi"), strict=True):
            await wait_for_names(page, [n for n in everyone if n != me])
        page_ids = [await page_id(p) for p in pages]
        for python in pythons:
            await python.wait_for_peers({*page_ids, *(p.id for p in pythons if p is not python)})

        said = {}
        for page, nick in zip(pages, ("wanda", "xavi"), strict=True):
            said[f"hello from {nick}"] = nick
            await send_from_page(page, f"hello from {nick}")
        for python in pythons:
            said[f"hello from {python.nick}"] = python.nick
            await python.send(f"hello from {python.nick}")

        for page, nick in zip(pages, ("wanda", "xavi"), strict=True):
            expected = sorted(t for t, who in said.items() if who != nick)
            await wait_for_texts(page, expected)
        for python in pythons:
            expected = sorted(t for t, who in said.items() if who != python.nick)
            for text in expected:
                await python.wait_for(functools.partial(is_message, text))
            got = sorted(m["text"] for m in python.messages())
            assert got == expected, f"{python.nick}: {got}"

        # Round trips, measured both ways by heartbeat echoes the other language makes.
        await pages[0].wait_for_function(
            "[...document.querySelectorAll('#peers .rtt')]"
            ".filter((e) => / ms$/.test(e.textContent)).length === 3",
            timeout=15_000,
        )
        for _ in range(30):
            await pythons[0].command_line("/peers")
            listed = await pythons[0].wait_for(lambda e: e["event"] == "peers" and e is not None)
            pythons[0].events.remove(listed)
            rtts = {p["id"]: p["rtt_ms"] for p in listed["peers"]}
            if all(rtts.get(i) is not None for i in page_ids):
                break
            await asyncio.sleep(0.5)
        assert all(0 < rtts[i] < 1000 for i in page_ids), rtts

        # For a person to look at (not committed): the conversation, wide and phone-sized.
        ARTIFACTS.mkdir(exist_ok=True)
        await pages[0].screenshot(path=str(ARTIFACTS / "browser-chat.png"))
        await pages[0].set_viewport_size({"width": 390, "height": 700})
        await pages[0].screenshot(path=str(ARTIFACTS / "browser-chat-phone.png"))

        # A page closes: everyone else sees it leave.
        await pages[1].close()
        for python in pythons:
            await python.wait_for(lambda e: e["event"] == "left" and e["peer"] == page_ids[1])
        await wait_for_names(pages[0], ["yara", "zed"])
    finally:
        for python in pythons:
            await python.stop()


async def test_history_reaches_a_late_page_and_the_page_passes_it_on(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    broker, browser, launcher = room_setup
    ana, bo = [await Peer.start(broker, "web", n, launcher=launcher) for n in ("ana", "bo")]
    cy = None
    try:
        await ana.wait_for_peers({bo.id})
        said = [f"before the page came, {n}" for n in range(3)]
        for text in said:
            await ana.send(text)
            await bo.wait_for(functools.partial(is_message, text))
        page = await open_page(browser, broker, "wanda")
        await page.wait_for_function(
            "document.querySelectorAll('#messages li.history').length === 3", timeout=TIMEOUT_MS
        )
        shown = await page.eval_on_selector_all(
            "#messages li.history .text", "e => e.map(x => x.textContent)"
        )
        assert shown == said, "once each, in order, marked as history"
        await send_from_page(page, "said by the page")
        await ana.wait_for(functools.partial(is_message, "said by the page"))

        # Only the page is left to remember: it gives a newcomer all of it, ana's
        # lines still verifying as ana's.
        await ana.quit()
        await bo.quit()
        cy = await Peer.start(broker, "web", "cy", launcher=launcher)
        await cy.wait_for(functools.partial(is_message, "said by the page"))
        got = [(e["text"], e["from"]) for e in cy.history()]
        assert got == [
            *((text, ana.id) for text in said),
            ("said by the page", await page_id(page)),
        ]
    finally:
        for python in (ana, bo, cy):
            if python is not None:
                await python.stop()


async def test_the_page_notices_a_crashed_peer_within_seconds_and_a_stalled_one_never(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    """The page's failure detector (liveness.js) is the Python one: a SIGKILLed peer is
    reported silent in about two seconds; one stopped for a second stays."""
    broker, browser, launcher = room_setup
    page = await open_page(browser, broker, "wanda")
    pythons = [await Peer.start(broker, "web", n, launcher=launcher) for n in ("yara", "zed")]
    try:
        await wait_for_names(page, ["yara", "zed"])
        await asyncio.sleep(3.0)  # heartbeats to learn from
        stalling, victim = pythons
        stalling.process.send_signal(signal.SIGSTOP)
        await asyncio.sleep(1.0)
        stalling.process.send_signal(signal.SIGCONT)
        victim.kill()
        killed_at = time.monotonic()
        await wait_for_names(page, ["yara"])
        noticed = time.monotonic() - killed_at
        assert noticed < 4.0, f"the page noticed after {noticed:.2f} s"
        notices = await page.eval_on_selector_all(
            "#messages li.notice", "e => e.map(x => x.textContent)"
        )
        (left,) = [n for n in notices if " left (" in n]
        assert left.startswith("zed") and "(silent for " in left, left
        await asyncio.sleep(3.0)
        assert await peer_names(page) == ["yara"], "the stalled peer was taken for gone"
    finally:
        for python in pythons:
            await python.stop()


async def test_files_go_from_python_to_the_page_and_back_verified(
    room_setup: tuple[Broker, Any, list[str]], tmp_path: Path
) -> None:
    """A Python peer's /send becomes a download link in the page with the same bytes;
    a file picked in the page is saved by the Python peer with the same SHA-256."""
    broker, browser, launcher = room_setup
    page = await open_page(browser, broker, "wanda")
    downloads = tmp_path / "yara"
    python = await Peer.start(
        broker, "web", "yara", "--downloads", str(downloads), launcher=launcher
    )
    try:
        await wait_for_names(page, ["yara"])
        await python.wait_for_peers({await page_id(page)})
        # Nothing is taken without the user's word: the offer waits for a click.
        tricky = tmp_path / "invoice.pdf.exe"
        tricky.write_bytes(b"MZ")
        await python.command_line(f'/send "{tricky}"')
        offered = await page.wait_for_selector("#messages li.file .warning", timeout=TIMEOUT_MS)
        assert "two extensions: it is a .exe file" in await offered.text_content()
        await page.click("#messages li.file button.decline")
        refused = await python.wait_for(lambda e: e["event"] == "file-failed")
        assert refused["reason"] == "refused: the user declined it"

        to_page = tmp_path / "from python.bin"
        to_page.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
        await python.command_line(f'/send "{to_page}"')
        accept = await page.wait_for_selector(
            "#messages li.file:last-child button.accept", timeout=TIMEOUT_MS
        )
        assert "(3.0 MiB)" in await page.text_content("#messages li.file:last-child .text")
        await accept.click()
        link = await page.wait_for_selector("#messages li.file a", timeout=TIMEOUT_MS)
        assert await link.get_attribute("download") == "from python.bin"
        assert "(3.0 MiB)" in await link.text_content()
        digest = await page.evaluate(
            """async (selector) => {
                const blob = await (await fetch(document.querySelector(selector).href)).blob();
                const bytes = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
                const hex = (b) => b.toString(16).padStart(2, "0");
                return [...new Uint8Array(bytes)].map(hex).join("");
            }""",
            "#messages li.file a",
        )
        assert digest == hashlib.sha256(to_page.read_bytes()).hexdigest()
        await python.wait_for(lambda e: e["event"] == "file-delivered")
        # Saved: the page gives the memory back, and says so where the link was.
        url = await link.get_attribute("href")
        await page.evaluate("(a) => a.dispatchEvent(new MouseEvent('click'))", link)
        await page.wait_for_function(
            "!document.querySelector('#messages li.file a')", timeout=TIMEOUT_MS
        )
        assert "(saved)" in await page.text_content("#messages li.file:last-child")
        gone = await page.evaluate(
            "async (u) => { try { await fetch(u); return false; } catch { return true; } }", url
        )
        assert gone, "the blob URL was released"

        to_python = tmp_path / "from the page.txt"
        to_python.write_bytes(os.urandom(2 * 1024 * 1024))
        await page.set_input_files("#file", str(to_python))
        received = await python.wait_for(lambda e: e["event"] == "file-received", within=60)
        assert received["sha256"] == hashlib.sha256(to_python.read_bytes()).hexdigest()
        assert (downloads / "from the page.txt").read_bytes() == to_python.read_bytes()

        # Dropped on the page, as from a file manager.
        dropped = await page.evaluate_handle(
            """() => {
                const transfer = new DataTransfer();
                transfer.items.add(new File(["dropped on the page"], "dropped.txt"));
                return transfer;
            }"""
        )
        await page.dispatch_event("#messages", "drop", {"dataTransfer": dropped})
        await python.wait_for(
            lambda e: e["event"] == "file-received" and e["path"].endswith("dropped.txt"),
            within=60,
        )
        assert (downloads / "dropped.txt").read_text() == "dropped on the page"
    finally:
        await python.stop()


async def test_the_page_keys_messages_by_sender_and_names_them_by_their_join(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    """Issue-9 defences in the browser: eve reuses yara's message id (the page must not
    drop yara's real message as a duplicate) and puts yara's nick in her frame (the page
    must still show it as eve's)."""
    broker, browser, launcher = room_setup
    page = await open_page(browser, broker, "wanda")
    hostile = await asyncio.create_subprocess_exec(
        *launcher,
        sys.executable,
        "-m",
        "tests.integration.hostile",
        broker.url,
        "web",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert hostile.stdout is not None
        assert await asyncio.wait_for(hostile.stdout.readline(), TIMEOUT_MS / 1000) == b"sent\n"
        await wait_for_texts(page, ["eve's text", "yara's text"])
        lines = await page.eval_on_selector_all(
            "#messages li:not(.notice):not(.mine)",
            "e => e.map(x => [x.querySelector('.nick').textContent, "
            "x.querySelector('.text').textContent])",
        )
        shown = {text: nick for nick, text in lines}
        assert shown["eve's text"].startswith("eve#"), shown
        assert shown["yara's text"].startswith("yara#"), shown
    finally:
        hostile.kill()
        await hostile.wait()


async def test_a_reloaded_page_rejoins_and_html_is_shown_as_text(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    broker, browser, launcher = room_setup
    page = await open_page(browser, broker, "wanda")
    python = await Peer.start(broker, "web", "yara", launcher=launcher)
    try:
        await wait_for_names(page, ["yara"])
        first_id = await page_id(page)
        await page.reload()
        await page.click("#join button")  # rejoining, too, is the user's choice
        await page.wait_for_function("window.meshchatRoom !== undefined", timeout=TIMEOUT_MS)
        second_id = await page_id(page)
        assert second_id != first_id  # a fresh identity, as a new visitor
        await wait_for_names(page, ["yara"])
        await python.wait_for_peers({second_id})

        hostile = '<img src=x onerror="window.pwned=1"><b>bold</b> & <script>1</script>'
        await python.send(hostile)
        await wait_for_texts(page, [hostile])
        assert (
            await page.eval_on_selector_all(
                "#messages img, #messages b, #messages script", "e => e.length"
            )
            == 0
        )
        assert await page.evaluate("window.pwned === undefined")
        # A right-to-left override showed "https://evil.com" + "exe.png" reversed; the
        # page shows what the app shows: the character as a visible escape.
        await python.send("https://evil.com\u202egnp.exe")
        await wait_for_texts(page, [hostile, "https://evil.com\\u202egnp.exe"])
        await send_from_page(page, "back again")
        await python.wait_for(lambda e: e.get("text") == "back again")
    finally:
        await python.stop()


async def test_a_sealed_room_joins_browser_and_python_and_keeps_others_out(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    broker, browser, launcher = room_setup
    page = await open_page(browser, broker, "wanda", "#secret=open%20sesame")
    member = await Peer.start(broker, "web", "yara", "--secret", "open sesame", launcher=launcher)
    outsider = await Peer.start(broker, "web", "zed", launcher=launcher)
    try:
        await wait_for_names(page, ["yara"])
        await member.wait_for_peers({await page_id(page)})
        await send_from_page(page, "sealed hello")
        await member.wait_for(lambda e: e.get("text") == "sealed hello")
        await member.send("sealed reply")
        await wait_for_texts(page, ["sealed reply"])
        assert outsider.connected_peers() == set(), "no secret, no meeting"
        assert await peer_names(page) == ["yara"]
    finally:
        await member.stop()
        await outsider.stop()


async def test_the_browsers_scrypt_matches_rfc_7914(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    broker, browser, _ = room_setup
    page = await open_page(browser, broker, "wanda")
    derived = await page.evaluate(
        """async () => {
            const { scrypt } = await import("/sealing.js");
            const e = new TextEncoder();
            const key = await scrypt(e.encode("password"), e.encode("NaCl"), 1024, 8, 16, 64);
            return [...key].map((b) => b.toString(16).padStart(2, "0")).join("");
        }"""
    )
    expected = hashlib.scrypt(b"password", salt=b"NaCl", n=1024, r=8, p=16, dklen=64).hex()
    assert derived == expected
    assert expected.startswith("fdbabe1c9d3472007856e7190d01e9fe")  # the RFC's vector


@contextlib.asynccontextmanager
async def ably_endpoint(launcher: list[str], key: str) -> AsyncIterator[str]:
    """The test suite's Ably-protocol endpoint, run inside the namespace: its address."""
    endpoint = await asyncio.create_subprocess_exec(
        *launcher,
        sys.executable,
        "-m",
        "tests.support.ably_endpoint",
        "0",
        key,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert endpoint.stdout is not None
        line = (await asyncio.wait_for(endpoint.stdout.readline(), 30)).decode()
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        endpoint.terminate()
        await endpoint.wait()


async def test_the_page_chats_over_ably_with_python_peers(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    """The page configured for Ably, against the Ably-protocol endpoint of the test suite
    (run inside the namespace), with a Python peer using the real ably SDK."""
    broker, browser, launcher = room_setup
    key = "meshchatTest.key1:local-test-secret"
    async with ably_endpoint(launcher, key) as address:
        ably = Signalling(
            "ably",
            ["--transport", "ably", "--ably-endpoint", f"ws://{address}"],
            {"ABLY_API_KEY": key},
        )
        python = await Peer.start(ably, "web", "yara", launcher=launcher)
        page = await open_page(
            browser,
            broker,
            "wanda",
            f"&transport=ably&ablyEndpoint={address}&ablyTls=0#ablyKey={key}",
        )
        try:
            await wait_for_names(page, ["yara"])
            await python.wait_for_peers({await page_id(page)})
            await send_from_page(page, "via ably")
            await python.wait_for(lambda e: e.get("text") == "via ably")
            await python.send("and back")
            await wait_for_texts(page, ["and back"])
        finally:
            await python.stop()


async def test_the_page_chats_over_mosquitto_with_python_peers(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    """The page over mosquitto's websockets listener (MQTT.js), Python peers over its
    MQTT one, in a sealed room: they meet, and lines go both ways."""
    broker, browser, launcher = room_setup
    mosquitto = await start_mosquitto("mqtt-tcp", launcher=launcher)
    secret = "mqtt page secret"
    pythons: list[Peer] = []
    try:
        for nick in ("yara", "zed"):
            pythons.append(
                await Peer.start(mosquitto, "web", nick, "--secret", secret, launcher=launcher)
            )
        ws = f"ws://127.0.0.1:{mosquitto.ws_port}/"
        page = await open_page(
            browser, broker, "wanda", f"&transport=mqtt&mqtt={ws}#secret={secret}"
        )
        await wait_for_names(page, ["yara", "zed"])
        me = await page_id(page)
        for python in pythons:
            await python.wait_for_peers({me})
        await send_from_page(page, "via mqtt")
        for python in pythons:
            await python.wait_for(lambda e: e.get("text") == "via mqtt")
        await pythons[0].send("and back")
        await wait_for_texts(page, ["and back"])
    finally:
        for python in pythons:
            await python.stop()
        await mosquitto.stop()


async def test_the_page_says_in_its_status_line_why_ably_is_not_there(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    """A refused key and an endpoint nobody answers at: one clear status line each,
    and no room."""
    broker, browser, launcher = room_setup
    key = "meshchatTest.key1:local-test-secret"
    async with ably_endpoint(launcher, key) as address:
        wrong_key = "meshchatTest.key1:not-the-secret"
        refused, _ = await click_join(
            browser,
            broker,
            "wanda",
            f"&transport=ably&ablyEndpoint={address}&ablyTls=0#ablyKey={wrong_key}",
        )
        await refused.wait_for_function(
            "document.querySelector('#status').textContent.startsWith('Ably refused')",
            timeout=TIMEOUT_MS,
        )
    # Nothing listens on the endpoint's port any more.
    started = time.monotonic()
    unreachable, _ = await click_join(
        browser, broker, "xavi", f"&transport=ably&ablyEndpoint={address}&ablyTls=0#ablyKey={key}"
    )
    await unreachable.wait_for_function(
        "document.querySelector('#status').textContent === 'cannot reach Ably within 15 s'",
        timeout=TIMEOUT_MS,
    )
    assert time.monotonic() - started < 20
    for page in (refused, unreachable):
        assert await page.evaluate("window.meshchatRoom === undefined")
        assert await page.is_hidden("main")


async def test_the_page_rides_out_a_broker_restart(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    broker, browser, launcher = room_setup
    port = int(broker.url.rsplit(":", 1)[1])
    page = await open_page(browser, broker, "wanda")
    yara = await Peer.start(broker, "web", "yara", launcher=launcher)
    restarted: Broker | None = None
    try:
        await wait_for_names(page, ["yara"])
        assert broker.process is not None
        broker.process.kill()
        await broker.process.wait()
        await page.wait_for_selector("#status:has-text('reconnecting')", timeout=TIMEOUT_MS)
        await yara.send("while the broker is down")  # the data channel does not care
        await wait_for_texts(page, ["while the broker is down"])
        restarted = await start_meshchat_broker(port=port, launcher=launcher)
        await page.wait_for_selector("#status:has-text('you are wanda')", timeout=TIMEOUT_MS)
        zed = await Peer.start(restarted, "web", "zed", launcher=launcher)
        try:
            await wait_for_names(page, ["yara", "zed"])
        finally:
            await zed.stop()
    finally:
        await yara.stop()
        if restarted is not None:
            await restarted.stop()


async def test_canonical_json_is_byte_identical_in_the_browser_and_in_python(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    """Signatures cover canonical JSON: both implementations must agree to the byte."""
    broker, browser, _ = room_setup
    page = await open_page(browser, broker, "wanda")
    samples: list[dict[str, Any]] = [
        {"type": "hello", "from": "ab", "nick": "é ü 😀", "v": 1, "room": "r"},
        {
            "z": [3, {"b": None, "a": True}],
            "a": 'quote " backslash \\ newline \n tab \t',
            "ctl": "\x01\x1f",
            "sep": "\u2028\u2029",
            "n": -12,
            "": "empty key",
        },
        {
            "candidate": {
                "candidate": "candidate:1 1 udp 1 127.0.0.1 5 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            }
        },
    ]
    in_browser = await page.evaluate(
        "async (values) => { const m = await import('/meshchat.js');"
        " return values.map(m.canonical); }",
        samples,
    )
    assert in_browser == [canonical(sample).decode() for sample in samples]


BLOB_WATCHER = """() => {
  window.blobs = [];
  window.meshchatRoom.channel("blobs").addEventListener("message", async (event) => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", event.detail.data));
    const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    window.blobs.push([event.detail.from, hex, event.detail.data.length]);
  });
}"""

SEND_BLOB = """async ([size, to]) => {
  const data = crypto.getRandomValues(new Uint8Array(size));
  await window.meshchatRoom.channel("blobs").send(data, { to });
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}"""


async def test_the_page_joins_a_room_bigger_than_a_full_mesh(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    """26 Python peers (one process) make a partial mesh; the page joins it as a light
    member: it knows all of them, keeps a few links, reads a line from a peer it has no
    link to, and its own line reaches every one of them through the others."""
    broker, browser, launcher = room_setup
    crowd = await CrowdProcess.start(broker.url, "web", nick_prefix="c", launcher=launcher)
    try:
        await crowd.join(26)
        await formed([crowd], 26, OverlayConfig().degree_low, within=120.0)
        page = await open_page(browser, broker, "wanda")
        me = await page_id(page)
        await wait_for_names(page, [f"c{n}" for n in range(26)])
        assert await page.evaluate("window.meshchatRoom.overlay.partial")
        # Links taken up before the page knew the room was big are pruned to PAGE_LINKS.
        async with asyncio.timeout(15.0):
            while not 1 <= await page.evaluate("window.meshchatRoom.linkCount()") <= PAGE_LINKS:
                await asyncio.sleep(0.2)

        rooms = (await crowd.command("status"))["rooms"]
        linked_to_page = {room["id"] for room in rooms if me in room["linked"]}
        far = next(i for i, room in enumerate(rooms) if room["id"] not in linked_to_page)
        await crowd.command("send", room=far, count=1, interval=0.0, tag="far")
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            while not any(t.startswith("far 0 ") for t in await received_texts(page)):
                await asyncio.sleep(0.1)

        await send_from_page(page, "hello crowd")
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            while True:
                received = (await crowd.command("received"))["received"]
                got = [
                    [text for sender, text, _ in lines if sender == me]
                    for lines in received.values()
                ]
                if got == [["hello crowd"]] * 26:
                    break
                await asyncio.sleep(0.2)

        # Bytes both ways, relayed in parts by peers the page may have no link to; the
        # page confirms what was relayed to it alone (a receipt back through the room).
        await page.evaluate(BLOB_WATCHER)
        sent = (await crowd.command("send_bytes", room=far, size=100_000, to=[me]))["sha256"]
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            while await page.evaluate("window.blobs") != [[rooms[far]["id"], sent, 100_000]]:
                await asyncio.sleep(0.2)
            while (awaited := await crowd.command("awaited", room=far))["awaited"]:
                await asyncio.sleep(0.2)
        assert awaited["undelivered"] == [], "the page's receipt came back"
        from_page = await page.evaluate(SEND_BLOB, [60_000, None])
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            while True:
                payloads = (await crowd.command("payloads"))["payloads"]
                mine = [[p for p in got if p[0] == me] for got in payloads.values()]
                if mine == [[[me, from_page, 60_000]]] * 26:
                    break
                await asyncio.sleep(0.2)

        # Privately to a member the page has no link to: a line and bytes, sealed by the
        # page to its key and opened by Python; nobody else gets either.
        far_id = rooms[far]["id"]
        await page.evaluate("id => window.meshchatRoom.send('psst, far one', { to: [id] })", far_id)
        sealed_blob = await page.evaluate(SEND_BLOB, [30_000, [far_id]])
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            while True:
                received = (await crowd.command("received"))["received"]
                payloads = (await crowd.command("payloads"))["payloads"]
                if [me, "psst, far one"] in [line[:2] for line in received[far_id]] and [
                    me,
                    sealed_blob,
                    30_000,
                ] in payloads[far_id]:
                    break
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        received = (await crowd.command("received"))["received"]
        payloads = (await crowd.command("payloads"))["payloads"]
        for room_id in received:
            if room_id != far_id:
                assert "psst, far one" not in [line[1] for line in received[room_id]]
                assert sealed_blob not in [p[1] for p in payloads[room_id]]
    finally:
        await crowd.stop()


async def test_a_member_s_roster_of_made_up_identities_lists_none_and_the_page_answers(
    room_setup: tuple[Broker, Any, list[str]],
) -> None:
    """One linked member sent the page 11 rosters of 1,100 self-signed hellos (alice,
    bob, carol, admin...): the page listed 1,024 peers and froze for 26 s."""
    broker, browser, launcher = room_setup
    page = await open_page(browser, broker, "wanda")
    await page.evaluate(
        """() => {
            window.longestTask = 0;
            new PerformanceObserver((list) => {
                for (const task of list.getEntries()) {
                    window.longestTask = Math.max(window.longestTask, task.duration);
                }
            }).observe({ type: "longtask", buffered: true });
        }"""
    )
    liar = await asyncio.create_subprocess_exec(
        *launcher,
        sys.executable,
        "-m",
        "tests.integration.roster_liar",
        broker.url,
        "web",
        "1100",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert liar.stdout is not None
        assert await asyncio.wait_for(liar.stdout.readline(), TIMEOUT_MS / 1000) == b"linked\n"
        assert await asyncio.wait_for(liar.stdout.readline(), TIMEOUT_MS / 1000) == b"sent\n"
        started = time.monotonic()
        answered = await page.evaluate("() => 'here'")  # the page is not stuck
        print(f"the page answered {time.monotonic() - started:.3f} s after the rosters")
        await asyncio.sleep(3.0)  # what it would take in, it has by now
        print(f"longest main-thread task: {await page.evaluate('window.longestTask')} ms")
        assert answered == "here"
        assert await peer_names(page) == ["eve"]
        joined = await page.eval_on_selector_all(
            "#messages li.notice", "e => e.filter(x => x.textContent.includes('joined')).length"
        )
        assert joined == 1
    finally:
        if liar.returncode is None:
            liar.kill()
        await liar.wait()


async def test_a_remembered_page_verifies_and_trusts_a_python_peer_and_flags_an_impostor(
    room_setup: tuple[Broker, Any, list[str]], tmp_path: Path
) -> None:
    broker, browser, launcher = room_setup
    made = await asyncio.to_thread(
        subprocess.run,
        [*MESHCHAT, "identity", "new", "sam"],
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    broker.env["XDG_DATA_HOME"] = str(tmp_path)  # where sam's identity is kept
    page, said = await click_join(browser, broker, "rita", remember=True)
    await page.wait_for_function("window.meshchatRoom !== undefined", timeout=TIMEOUT_MS)
    sam = await Peer.start(broker, "web", "sam", "--identity", "sam", launcher=launcher)
    peers = [sam]
    try:
        first_id = await page_id(page)
        await page.reload()
        assert await page.is_checked("#remember")  # the choice is remembered too
        await page.click("#join button")
        await page.wait_for_function("window.meshchatRoom !== undefined", timeout=TIMEOUT_MS)
        assert await page_id(page) == first_id, said
        exported = await page.evaluate(
            "crypto.subtle.exportKey('pkcs8', window.meshchatRoom.identity.privateKey)"
            ".then(() => 'exported', () => 'refused')"
        )
        assert exported == "refused"  # kept as a key no script can read out

        await wait_for_names(page, ["sam"])
        await sam.wait_for_peers({first_id})
        await sam.command_line(f"/verify {first_id}")
        number = (await sam.wait_for(lambda e: e["event"] == "safety-number"))["number"]
        from_page = await page.evaluate(f"window.meshchatRoom.safetyNumber('{sam.id}')")
        assert from_page == number
        await page.click("#peers li .verify")
        await wait_for_line(page, "safety", " ".join(number[i : i + 5] for i in range(0, 60, 5)))

        await page.click("#peers li .trust")
        await wait_for_line(page, "notice", "is a verified contact now")
        assert await sam.quit() == 0
        sam_again = await Peer.start(broker, "web", "sam", "--identity", "sam", launcher=launcher)
        peers.append(sam_again)
        assert sam_again.id == sam.id
        await page.wait_for_function(
            "id => [...document.querySelectorAll('#peers li')]"
            ".some(e => e.title === id && e.querySelector('.tag').textContent.endsWith('✓'))",
            arg=sam.id,
            timeout=TIMEOUT_MS,
        )
        impostor = await Peer.start(broker, "web", "sam", launcher=launcher)  # a fresh key
        peers.append(impostor)
        await wait_for_line(page, "warning", f"sam#{impostor.id[:4]} uses the nick of your contact")

        # Private lines both ways, sealed by Python and opened by the page, and back;
        # the impostor, in the same room, shows neither.
        await impostor.wait_for_peers({first_id})
        await sam_again.command_line(f"/msg {first_id} for rita only")
        await wait_for_line(page, "private", "for rita only")
        await page.click(f"#peers li[title='{sam.id}'] .msg")
        await send_from_page(page, "for sam only")
        got = await sam_again.wait_for(lambda e: e["event"] == "message" and e["from"] == first_id)
        assert got["text"] == "for sam only" and got["private"] is True
        await wait_for_line(page, "mine", "for sam only")
        await asyncio.sleep(0.5)
        assert not [e for e in impostor.messages() if "only" in e["text"]]
    finally:
        for peer in peers:
            await peer.stop()


async def wait_for_line(page: Any, kind: str, text: str) -> None:
    await page.wait_for_function(
        "([kind, text]) => [...document.querySelectorAll(`#messages .${kind}`)]"
        ".some(e => e.textContent.includes(text))",
        arg=[kind, text],
        timeout=TIMEOUT_MS,
    )
