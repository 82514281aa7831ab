"""Helpers for the browser tests (test_ui*.py): a headless Chromium, a TCP proxy that can
cut connections like a network loss and a paced log writer. Every browser test runs
against the real binary; the binary serves the UI files of this checkout
(TAILCAST_UI_DIR), so the tests check the files as they are, not as last built.
"""

from __future__ import annotations

import contextlib
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
os.environ.setdefault("TAILCAST_UI_DIR", str(RESOURCES))
SHOTS = REPO / "test-output" / "ui"
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1400, 900  # the browser window; tests that change it get it back

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
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={WIDTH},{HEIGHT}",
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


# --------------------------------------------------------------------------- fixtures
# Imported by the test modules (`from ui_support import driver, page`): one browser per module.

@pytest.fixture(scope="module")
def driver():
    d = make_driver()
    yield d
    d.quit()


@pytest.fixture
def page(driver):
    p = Page(driver)
    p.scheme("dark")
    yield p
    driver.get("about:blank")  # closes the page's WebSocket before the server goes away
    if driver.get_window_size() != {"width": WIDTH, "height": HEIGHT}:
        driver.set_window_size(WIDTH, HEIGHT)


def ui_url(srv_or_port, query: str = "", fragment: str = "") -> str:
    port = srv_or_port if isinstance(srv_or_port, int) else srv_or_port.port
    return f"http://127.0.0.1:{port}/" + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


def problems(entries: list[dict]) -> list[dict]:
    """Console entries that are errors or warnings (a 404, a CSP violation, an exception)."""
    return [e for e in entries if e.get("level") in ("SEVERE", "WARNING")]


# The JS that measures how far the newest row in the DOM is from the bottom of the log area
# (0: it sits on the bottom edge; positive: blank below it; negative: cut off).
BOTTOM_GAP_JS = """
const sc = document.getElementById('scroller');
const rows = document.querySelectorAll('#rows .row');
if (!rows.length) return null;
return sc.getBoundingClientRect().top + sc.clientHeight - rows[rows.length - 1].getBoundingClientRect().bottom;
"""


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


# Every line row in the DOM as [the source shown in its source cell (or null), its entry's
# source, its entry's seq, the text of its message, the highlighted spans [[start, end], …] in
# that text].
LINE_ROWS_JS = """
return [...document.querySelectorAll('#rows .row')].filter(r => r.entry && r.entry.kind === 'line').map(r => {
  const src = r.querySelector('.src'), msg = r.querySelector('.msg');
  let off = 0; const marks = [];
  for (const n of msg.childNodes) {
    const t = n.textContent;
    if (n.nodeType === 1 && n.classList.contains('hl')) {
      if (marks.length && marks[marks.length - 1][1] === off) marks[marks.length - 1][1] = off + t.length;
      else marks.push([off, off + t.length]);
    }
    off += t.length;
  }
  return [src ? src.textContent : null, r.entry.source, r.entry.seq, msg.textContent, marks];
});
"""
