"""Helpers for the browser tests (test_ui.py): a headless Chromium, a TCP proxy that can
cut connections like a network loss, a paced log writer and a stand-in server for the
parts the real server does not have yet (auth, journal sources).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import REPO, find_free_port

RESOURCES = REPO / "Sources" / "TailcastServer" / "Resources"
SHOTS = REPO / "test-output" / "ui"
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
CSP = ("default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
       "script-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'none'")


# --------------------------------------------------------------------------- browser


def make_driver():
    """Headless Chromium via Selenium, or pytest.skip when any piece is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium)")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) or shutil.which(path)):
            pytest.skip(f"{path} not found (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
                "--enable-precise-memory-info", "--js-flags=--expose-gc",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--no-proxy-server"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as exc:  # noqa: BLE001 - a browser that cannot start is an environment problem
        pytest.skip(f"headless Chromium does not start: {exc}")


class Page:
    """The UI in the browser: waits with deadlines, JS helpers, console and screenshots."""

    def __init__(self, driver):
        self.d = driver

    def open(self, url: str) -> "Page":
        self.console()  # drain what earlier pages logged
        self.d.get(url)
        self.wait("window.tailcast && window.tailcast.stats().status === 'live'", 15, "the page to be live")
        return self

    def js(self, script: str, *args) -> Any:
        return self.d.execute_script(script, *args)

    def wait(self, expr: str, timeout: float = 10.0, what: str = "", *args) -> Any:
        """Polls `return (expr)` in the page until truthy; fails at the deadline."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                value = self.js(f"return ({expr});", *args)
                if value:
                    return value
            except Exception as exc:  # noqa: BLE001 - keep polling
                last = exc
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or expr}"
                                     + (f" (last error: {last})" if last else "")
                                     + f"; stats={self.stats()}")
            time.sleep(0.05)

    def frame(self) -> None:
        """Waits until the page has rendered two more frames (the view renders in rAF)."""
        self.d.set_script_timeout(10)
        self.d.execute_async_script(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));")

    def stats(self) -> dict:
        with contextlib.suppress(Exception):
            return self.js("return window.tailcast.stats()")
        return {}

    def lines(self) -> list[dict]:
        return self.js("return window.tailcast.lines()")

    def texts(self, source: str | None = None) -> list[str]:
        return [l["text"] for l in self.lines() if source is None or l["source"] == source]

    def markers(self) -> list[dict]:
        return self.js("return window.tailcast.markers()")

    def wait_texts(self, pred: Callable[[list[str]], bool], timeout: float = 10.0, what: str = "") -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            texts = self.texts()
            if pred(texts):
                self.frame()
                return texts
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                     f"page has {len(texts)} lines, last {texts[-5:]}; {self.stats()}")
            time.sleep(0.05)

    def console(self) -> list[dict]:
        return self.d.get_log("browser")

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.d.save_screenshot(str(path))
        return path

    def scheme(self, value: str) -> None:
        """Emulates prefers-color-scheme (dark / light) for the next loads."""
        self.d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                               {"features": [{"name": "prefers-color-scheme", "value": value}]})


# --------------------------------------------------------------------------- log writer


class PacedWriter(threading.Thread):
    """Appends numbered lines to a file at `rate` lines/s, for at most `count` lines and
    `seconds` seconds, in batches every `tick` seconds (paced by a clock, not by sleeps)."""

    def __init__(self, path: Path, rate: int, count: int, seconds: float, tick: float = 0.01,
                 fmt: Callable[[int], str] = lambda i: f"{i:08d} fast line with some payload abcdefghijklmnopqrstuvwxyz 0123456789"):
        super().__init__(daemon=True)
        self.path, self.rate, self.count, self.seconds, self.tick, self.fmt = path, rate, count, seconds, tick, fmt
        self.written = 0
        self.stop_flag = threading.Event()
        self.elapsed = 0.0

    def run(self) -> None:
        start = time.monotonic()
        with open(self.path, "a", encoding="utf-8") as f:
            while self.written < self.count and not self.stop_flag.is_set():
                now = time.monotonic() - start
                if now >= self.seconds:
                    break
                due = min(self.count, int(now * self.rate) + 1)
                if due > self.written:
                    f.write("".join(self.fmt(i) + "\n" for i in range(self.written + 1, due + 1)))
                    f.flush()
                    self.written = due
                time.sleep(self.tick)  # pacing only; the amount comes from the clock
        self.elapsed = time.monotonic() - start


# --------------------------------------------------------------------------- cutting proxy


class CutProxy:
    """A TCP proxy 127.0.0.1:port -> 127.0.0.1:upstream. cut() resets every open connection
    and refuses new ones until restore(), as a network loss would."""

    def __init__(self, upstream: int):
        self.upstream = upstream
        self.port = find_free_port()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(64)
        self.blocked = False
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            if self.blocked:
                _reset(client)
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                _reset(client)
                continue
            self.accepted += 1
            with self.lock:
                self.conns += [client, up]
            for a, b in ((client, up), (up, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.blocked = True
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            _reset(s)

    def restore(self) -> None:
        self.blocked = False

    def close(self) -> None:
        self.closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self.lsock.close()


def _reset(s: socket.socket) -> None:
    """Ends a connection abruptly (no WebSocket close frame): the shutdown wakes the pump
    blocked on it, and SO_LINGER 0 makes the close a reset."""
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()


# --------------------------------------------------------------------------- stand-in server


class StandInServer:
    """Serves the UI files (with the real CSP) and a scripted /ws on its own port, for what
    the real server cannot do yet: ask for a token (error `unauthorized`, close 1008) and
    list a journald source. It accepts a WebSocket only with ?token=<token>.
    """

    def __init__(self, token: str, sources: list[dict]):
        self.token = token
        self.sources = sources
        self.port = find_free_port()
        self.ws_queries: list[str] = []
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise AssertionError("stand-in server did not start")

    def _run(self) -> None:
        from websockets.asyncio.server import serve
        from websockets.datastructures import Headers
        from websockets.http11 import Response
        import urllib.parse

        def respond(status: int, body: bytes, ctype: str) -> Response:
            headers = Headers([("Content-Type", ctype), ("Content-Length", str(len(body))),
                               ("Content-Security-Policy", CSP), ("Cache-Control", "no-store")])
            return Response(status, "OK" if status == 200 else "Not Found", headers, body)

        types = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
                 "css": "text/css; charset=utf-8", "svg": "image/svg+xml", "json": "application/json"}

        def process_request(connection, request):
            path, _, query = request.path.partition("?")
            if path == "/ws":
                self.ws_queries.append(query)
                return None  # go on with the WebSocket handshake
            if path == "/api/sources":
                return respond(200, json.dumps(self.sources).encode(), "application/json")
            name = {"/": "index.html", "/favicon.ico": "favicon.svg"}.get(path)
            if name is None and path.startswith("/ui/"):
                name = path[4:]
            file = RESOURCES / name if name and "/" not in name else None
            if file is None or not file.is_file():
                return respond(404, b"", "text/plain")
            return respond(200, file.read_bytes(), types.get(file.suffix[1:], "application/octet-stream"))

        async def handler(ws):
            query = urllib.parse.parse_qs(ws.request.path.partition("?")[2], keep_blank_values=True)
            if query.get("token", [""])[0] != self.token:
                await ws.send(json.dumps({"type": "error", "code": "unauthorized", "message": "a valid token is needed"}))
                await ws.close(1008, "unauthorized")
                return
            names = [s["name"] for s in self.sources]
            await ws.send(json.dumps({"type": "hello", "protocol": 1, "server": "stand-in", "sources": names,
                                      "epochs": {n: "standin" for n in names}, "query": {}, "heartbeat_ms": 15000}))
            await ws.send(json.dumps({"type": "lines", "lines": [
                {"source": names[0], "seq": 1, "ts": "2026-11-25T10:00:00.000000Z", "text": "journal line: disk full",
                 "fields": {"unit": "db.service", "priority": 3, "identifier": "db"}},
                {"source": names[0], "seq": 2, "ts": "2026-11-25T10:00:00.000000Z", "text": "journal line: all good",
                 "fields": {"unit": "db.service", "priority": 6, "identifier": "db"}},
            ]}))
            with contextlib.suppress(Exception):
                async for _ in ws:
                    pass

        async def main():
            self.loop = asyncio.get_running_loop()
            self.stop_future = self.loop.create_future()
            async with serve(handler, "127.0.0.1", self.port, process_request=process_request):
                self.ready.set()
                await self.stop_future

        asyncio.run(main())

    def close(self) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(lambda: self.stop_future.done() or self.stop_future.set_result(None))
        self.thread.join(5)
