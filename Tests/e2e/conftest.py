"""Shared fixtures and helpers for the tailcast end-to-end tests.

The tests drive the real binary (env TAILCAST_BIN, default <repo>/.build/debug/tailcast)
over HTTP and WebSocket, exactly as a user or a script would. Every wait is a poll with a
deadline; no test relies on a fixed port.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
import websockets
from websockets.asyncio.client import connect as _ws_connect

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("TAILCAST_BIN", str(REPO / ".build" / "debug" / "tailcast"))

START_DEADLINE = 20.0
STOP_DEADLINE = 10.0
EPOCH_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

# Plain HTTP without any proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- basics


def require_binary() -> str:
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        pytest.fail(f"tailcast binary not found or not executable: {BIN} (set TAILCAST_BIN)")
    return BIN


def find_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll pred() until it returns a truthy value; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = pred()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last one
            last_exc = exc
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


def run_bin(args: list[str], timeout: float = 20.0, **kw) -> subprocess.CompletedProcess:
    """Run the binary to completion (for --version, check-config and start-up failures)."""
    require_binary()
    return subprocess.run(
        [BIN, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """GET http://127.0.0.1:port/path -> (status, headers (lower-case keys), body)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    try:
        with _HTTP.open(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def http_json(port: int, path: str) -> tuple[int, Any]:
    status, _, body = http_get(port, path)
    return status, json.loads(body)


# --------------------------------------------------------------------------- config


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot render {v!r} as TOML")


def render_config(
    listen: str | None,
    server: dict | None = None,
    defaults: dict | None = None,
    sources: Iterable[dict] = (),
    cluster: dict | None = None,
) -> str:
    out = ["[server]"]
    if listen is not None:
        out.append(f"listen = {_toml_value(listen)}")
    for k, v in (server or {}).items():
        out.append(f"{k} = {_toml_value(v)}")
    if defaults:
        out += ["", "[defaults]"]
        out += [f"{k} = {_toml_value(v)}" for k, v in defaults.items()]
    if cluster is not None:  # a node on the bus (nats_support.py builds these tables)
        out += ["", "[cluster]"]
        out += [f"{k} = {_toml_value(v)}" for k, v in cluster.items()]
    for src in sources:
        out += ["", "[[source]]"]
        out += [f"{k} = {_toml_value(v)}" for k, v in src.items()]
    return "\n".join(out) + "\n"


def file_sources(mapping: dict[str, Path | str], **extra) -> list[dict]:
    """{"app": path} -> [{"name": "app", "kind": "file", "path": "...", **extra}]"""
    return [{"name": n, "kind": "file", "path": str(p), **extra} for n, p in mapping.items()]


# --------------------------------------------------------------------------- server process


class Tailcast:
    """One running tailcast process on its own port, with its own config and stderr file."""

    def __init__(self, workdir: Path, port: int, config_path: Path, extra_args: list[str]):
        self.workdir = workdir
        self.port = port
        self.config_path = config_path
        self.extra_args = extra_args
        self.stderr_path = workdir / f"tailcast-{port}.stderr"
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    # -- lifecycle
    def start(self, wait_ready: bool = True) -> "Tailcast":
        require_binary()
        self.returncode = None
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [BIN, "--config", str(self.config_path), *self.extra_args],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"tailcast exited with {self.proc.returncode} during start-up; stderr:\n"
                    + self.stderr_text()
                )
            try:
                status, _, _ = http_get(self.port, "/healthz", timeout=1.0)
                if status == 200:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(
                    f"GET /healthz did not answer 200 within {START_DEADLINE}s; stderr:\n"
                    + self.stderr_text()
                )
            time.sleep(0.05)
        if wait_ready:
            wait_for(lambda: http_get(self.port, "/readyz")[0] == 200, START_DEADLINE,
                     "/readyz to answer 200")
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = STOP_DEADLINE) -> int:
        assert self.proc is not None
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def stop(self, timeout: float = STOP_DEADLINE) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- HTTP helpers
    def get(self, path: str) -> tuple[int, dict, bytes]:
        return http_get(self.port, path)

    def get_json(self, path: str) -> tuple[int, Any]:
        return http_json(self.port, path)

    def sources(self) -> dict[str, dict]:
        status, body = self.get_json("/api/sources")
        assert status == 200, f"/api/sources answered {status}"
        return {s["name"]: s for s in body}

    def wait_seq(self, name: str, seq: int, timeout: float = 15.0) -> None:
        """Wait until /api/sources reports that source `name` has read line `seq`."""
        wait_for(lambda: self.sources()[name]["seq"] >= seq, timeout,
                 f"source {name!r} to reach seq {seq}")

    def metrics(self) -> "Metrics":
        status, headers, body = self.get("/metrics")
        assert status == 200, f"/metrics answered {status}"
        return parse_prometheus(body.decode())

    def ws_url(self, query: str | list | dict = "") -> str:
        if not isinstance(query, str):
            query = urllib.parse.urlencode(query, doseq=True)
        return f"ws://127.0.0.1:{self.port}/ws" + (f"?{query}" if query else "")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def free_port() -> int:
    return find_free_port()


class ServerFactory:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.servers: list[Tailcast] = []

    def write_config(self, port: int | None, *, sources=(), server=None, defaults=None,
                     cluster=None, name: str | None = None) -> Path:
        listen = f"127.0.0.1:{port}" if port is not None else None
        path = self.workdir / (name or f"tailcast-{port}.toml")
        path.write_text(render_config(listen, server, defaults, sources, cluster))
        return path

    def __call__(self, *, sources=(), server=None, defaults=None, cluster=None, extra_args=(),
                 wait_ready: bool = True, port: int | None = None, start: bool = True) -> Tailcast:
        port = port or find_free_port()
        cfg = self.write_config(port, sources=sources, server=server, defaults=defaults,
                                cluster=cluster)
        srv = Tailcast(self.workdir, port, cfg, list(extra_args))
        self.servers.append(srv)
        if start:
            srv.start(wait_ready=wait_ready)
        return srv

    def stop_all(self) -> None:
        for srv in self.servers:
            srv.stop()


@pytest.fixture
def tailcast(workdir: Path):
    """Factory: tailcast(sources=[...], server={...}, defaults={...}) -> running Tailcast."""
    require_binary()
    factory = ServerFactory(workdir)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def module_tailcast(tmp_path_factory):
    """Same factory, shared by a module (for servers that many read-only tests query)."""
    require_binary()
    factory = ServerFactory(tmp_path_factory.mktemp("mod"))
    yield factory
    factory.stop_all()


# --------------------------------------------------------------------------- writing logs


def append_lines(path: Path | str, lines: Iterable[str]) -> None:
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write("".join(line + "\n" for line in lines))


def append_bytes(path: Path | str, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


# --------------------------------------------------------------------------- WebSocket client


class Closed(Exception):
    pass


class WSClient:
    """A websockets client that records everything it receives.

    msgs: every envelope; lines: every line of every `lines` envelope (in order);
    close_code: set once the connection is closed (1006 if no close frame arrived).
    """

    def __init__(self, ws):
        self.ws = ws
        self.msgs: list[dict] = []
        self.lines: list[dict] = []
        self.hello: dict | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.frame_sizes: list[tuple[str, int]] = []  # (type, bytes of the text frame)

    @classmethod
    async def open(cls, url: str, expect_hello: bool = True, timeout: float = 10.0, **kw) -> "WSClient":
        kw.setdefault("max_size", None)
        kw.setdefault("ping_interval", None)
        kw.setdefault("proxy", None)
        kw.setdefault("compression", None)
        ws = await _ws_connect(url, open_timeout=timeout, close_timeout=5, **kw)
        c = cls(ws)
        if expect_hello:
            msg = await c.recv(timeout)
            assert msg is not None, f"connection closed ({c.close_code}) before hello"
            assert msg.get("type") == "hello", f"first message is not hello: {msg}"
            c.hello = msg
        return c

    def _record(self, msg: dict) -> None:
        self.msgs.append(msg)
        t = msg.get("type")
        if t == "lines":
            self.lines.extend(msg["lines"])
        elif t == "hello":
            self.hello = msg

    async def recv(self, timeout: float) -> dict | None:
        """Next envelope, or None when the connection is closed. Raises TimeoutError."""
        if self.close_code is not None:
            return None
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd is not None else 1006
            self.close_reason = exc.rcvd.reason if exc.rcvd is not None else None
            return None
        assert isinstance(raw, str), f"server sent a binary frame: {raw[:80]!r}"
        msg = json.loads(raw)
        assert isinstance(msg, dict) and "type" in msg, f"envelope without type: {raw[:200]}"
        self.frame_sizes.append((msg["type"], len(raw.encode())))
        self._record(msg)
        return msg

    async def until(self, pred: Callable[["WSClient"], Any], timeout: float = 10.0, what: str = "") -> Any:
        """Receive until pred(self) is truthy; fail at the deadline or on close."""
        deadline = time.monotonic() + timeout
        while True:
            value = pred(self)
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or pred}; "
                                     f"{self.summary()}")
            try:
                msg = await self.recv(left)
            except (asyncio.TimeoutError, TimeoutError):
                continue
            if msg is None:
                value = pred(self)
                if value:
                    return value
                raise AssertionError(f"connection closed (code {self.close_code}) while waiting for "
                                     f"{what or pred}; {self.summary()}")

    async def lines_until(self, count: int, timeout: float = 10.0) -> list[dict]:
        await self.until(lambda c: len(c.lines) >= count, timeout, f"{count} lines")
        return self.lines

    async def next_of_type(self, typ: str, timeout: float = 10.0, start: int = 0) -> dict:
        """First envelope of type `typ` at index >= start in msgs (waiting for it)."""
        def find(c):
            for m in c.msgs[start:]:
                if m.get("type") == typ:
                    return m
            return None
        return await self.until(find, timeout, f"a {typ!r} envelope")

    async def quiet(self, duration: float) -> list[dict]:
        """Receive for `duration` seconds; return what arrived (used for bounded negative checks)."""
        got = []
        deadline = time.monotonic() + duration
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await self.recv(left)
            except (asyncio.TimeoutError, TimeoutError):
                break
            if msg is None:
                break
            got.append(msg)
        return got

    async def wait_closed(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while self.close_code is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"connection not closed within {timeout}s; {self.summary()}")
            try:
                await self.recv(left)
            except (asyncio.TimeoutError, TimeoutError):
                pass
        return self.close_code

    async def send(self, obj: Any) -> None:
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def sync(self, timeout: float = 10.0) -> None:
        """Round trip: send a malformed message and wait for its `bad_message` error.

        The server handles a connection's messages in order, so once the answer is here every
        message sent before (e.g. `pause`) has taken effect.
        """
        n = len(self.msgs)
        await self.send("{sync")
        err = await self.next_of_type("error", timeout, start=n)
        assert err.get("code") == "bad_message", err

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()

    def of_type(self, typ: str) -> list[dict]:
        return [m for m in self.msgs if m.get("type") == typ]

    def events(self, source: str | None = None) -> list[str]:
        return [m["event"] for m in self.msgs
                if m.get("type") == "event" and (source is None or m.get("source") == source)]

    def texts(self, source: str | None = None) -> list[str]:
        return [l["text"] for l in self.lines if source is None or l["source"] == source]

    def seqs(self, source: str | None = None) -> list[int]:
        return [l["seq"] for l in self.lines if source is None or l["source"] == source]

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for m in self.msgs:
            kinds[m["type"]] = kinds.get(m["type"], 0) + 1
        tail = [m if m["type"] != "lines" else {"type": "lines", "n": len(m["lines"]),
                                                "last": m["lines"][-1]} for m in self.msgs[-3:]]
        return (f"received {kinds}, {len(self.lines)} lines, close={self.close_code}, "
                f"last={json.dumps(tail)[:600]}")


async def ws_open(srv: Tailcast, query: Any = "", **kw) -> WSClient:
    return await WSClient.open(srv.ws_url(query), **kw)


async def ws_error_then_close(srv: Tailcast, query: Any, timeout: float = 10.0) -> tuple[dict, int, list]:
    """Connect with a query that must be rejected: returns (error envelope, close code, all msgs)."""
    c = await ws_open(srv, query, expect_hello=False)
    err = await c.next_of_type("error", timeout)
    code = await c.wait_closed(timeout)
    return err, code, c.msgs


def run(coro):
    return asyncio.run(coro)


def assert_continuous(seqs: list[int], first: int | None = None) -> None:
    assert seqs, "no lines"
    if first is not None:
        assert seqs[0] == first, f"first seq {seqs[0]}, expected {first}"
    for a, b in zip(seqs, seqs[1:]):
        if b != a + 1:
            raise AssertionError(f"seq not continuous: {a} then {b} (first {seqs[0]}, last {seqs[-1]})")


# --------------------------------------------------------------------------- raw WebSocket


class RawWS:
    """A hand-made WebSocket client over a plain socket.

    It can stop reading for as long as a test wants (the kernel buffers fill and the server
    sees a slow consumer), and it answers pings only when `answer_pings` is true.
    """

    def __init__(self, port: int, path: str, rcvbuf: int | None = None, answer_pings: bool = True):
        self.answer_pings = answer_pings
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"connection closed during handshake: {buf!r}")
            buf += chunk
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        assert b" 101 " in status + b" ", f"handshake failed: {head.decode(errors='replace')}"
        self.closed = False
        self.close_code: int | None = None

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("raw websocket read timed out")
        self.sock.settimeout(left)
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise Closed("EOF")
        self.buf += chunk

    def _parse(self) -> tuple[bool, int, bytes] | None:
        """One complete frame from the buffer (consumed), or None if it is not all here yet."""
        buf = self.buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            n, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n, pos = struct.unpack("!Q", buf[2:10])[0], 10
        mask = b""
        if b1 & 0x80:
            if len(buf) < pos + 4:
                return None
            mask, pos = buf[pos:pos + 4], pos + 4
        if len(buf) < pos + n:
            return None
        data = buf[pos:pos + n]
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.buf = buf[pos + n:]
        return bool(b0 & 0x80), b0 & 0x0F, data

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def read_frame(self, timeout: float) -> tuple[bool, int, bytes]:
        deadline = time.monotonic() + timeout
        while (frame := self._parse()) is None:
            self._fill(deadline)
        return frame

    def recv(self, timeout: float = 10.0) -> dict | None:
        """Next text message as JSON; None when the server closed (close_code set)."""
        if self.closed:
            return None
        deadline = time.monotonic() + timeout
        parts: list[bytes] = []
        try:
            while True:
                fin, opcode, data = self.read_frame(max(0.0, deadline - time.monotonic()))
                if opcode == 0x9:  # ping
                    if self.answer_pings:
                        self.send_frame(0xA, data)
                    continue
                if opcode == 0xA:
                    continue
                if opcode == 0x8:
                    self.closed = True
                    self.close_code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    with contextlib.suppress(OSError):
                        self.send_frame(0x8, data[:2])
                    return None
                parts.append(data)
                if fin:
                    return json.loads(b"".join(parts))
        except (Closed, ConnectionResetError):
            self.closed = True
            if self.close_code is None:
                self.close_code = 1006
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


# --------------------------------------------------------------------------- Prometheus text


class Metrics:
    def __init__(self, samples: list[tuple[str, dict, float]], types: dict[str, str]):
        self.samples = samples
        self.types = types

    def has_family(self, name: str) -> bool:
        return name in self.types or any(s[0] == name for s in self.samples)

    def get(self, name: str, **labels) -> float | None:
        """Sum of the samples of `name` whose labels include `labels` (None if none)."""
        vals = [v for n, l, v in self.samples
                if n == name and all(l.get(k) == str(x) for k, x in labels.items())]
        return sum(vals) if vals else None

    def value(self, name: str, **labels) -> float:
        v = self.get(name, **labels)
        if v is None:
            raise AssertionError(f"metric {name}{labels} not found; have "
                                 f"{sorted({n for n, _, _ in self.samples})}")
        return v


_METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE_RE = re.compile(rf"^({_METRIC_NAME})(\{{(.*)\}})?\s+(\S+)(\s+-?\d+)?\s*$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def _parse_labels(text: str) -> dict:
    labels: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _LABEL_RE.match(text, pos)
        if not m:
            raise AssertionError(f"bad label set: {{{text}}}")
        val = m.group(2).replace(r"\\", "\\").replace(r"\"", '"').replace(r"\n", "\n")
        labels[m.group(1)] = val
        pos = m.end()
    return labels


def parse_prometheus(text: str) -> Metrics:
    """A strict little parser of the Prometheus text exposition format (0.0.4)."""
    samples: list[tuple[str, dict, float]] = []
    types: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                assert len(parts) == 4 and parts[3] in (
                    "counter", "gauge", "histogram", "summary", "untyped"), f"line {lineno}: {line}"
                types[parts[2]] = parts[3]
            continue
        m = _SAMPLE_RE.match(line)
        assert m, f"/metrics line {lineno} is not a sample: {line!r}"
        name, _, labels, value = m.group(1), m.group(2), m.group(3), m.group(4)
        try:
            v = float(value)
        except ValueError:
            raise AssertionError(f"/metrics line {lineno}: bad value {value!r}") from None
        samples.append((name, _parse_labels(labels) if labels else {}, v))
    return Metrics(samples, types)


def self_signed_certificate(workdir: Path) -> tuple[Path, Path]:
    """A throw-away RSA certificate for 127.0.0.1 (cert.pem, key.pem in workdir), made by openssl."""
    import shutil
    if not shutil.which("openssl"):
        pytest.skip("openssl missing")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key
