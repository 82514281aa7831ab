"""Authentication (bearer tokens), authorization (per-source grants) and the WebSocket Origin check.

Servers are configured with conftest's renderer plus an `[auth]` table appended to the file
(the renderer does not know that table), then started with conftest's Tailcast class.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import time
import uuid
from pathlib import Path

import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect

from conftest import (
    WSClient,
    append_lines,
    file_sources,
    find_free_port,
    render_config,
    run,
    run_bin,
    wait_for,
)

# --------------------------------------------------------------------------- tokens

FULL = secrets.token_hex(32)          # reads every source
APP_ONLY = secrets.token_hex(24)      # reads "app"
APP_WEB = secrets.token_hex(24)       # reads "app" and "web"
HASHED = secrets.token_hex(20)        # listed as sha256:<hex> only, reads every source

TOKENS_TEXT = (
    "# tailcast tokens\n"
    "\n"
    f"{FULL}\n"
    f"{APP_ONLY} app   # only the app log\n"
    f"{APP_WEB}\tapp,web\n"
    f"sha256:{hashlib.sha256(HASHED.encode()).hexdigest()}\n"
)

BEARER_401 = 'Bearer realm="tailcast"'


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def auth_get(port: int, path: str, token: str | None = None, headers: dict | None = None,
             timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """GET with optional bearer token -> (status, lower-case headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = dict(headers or {})
        if token is not None:
            h.update(bearer(token))
        conn.request("GET", path, headers=h)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def append_auth(cfg: Path, tokens_file: Path | str, protect_metrics: bool | None = None,
                extra: str = "") -> None:
    text = cfg.read_text()
    text += f'\n[auth]\ntokens_file = "{tokens_file}"\n'
    if protect_metrics is not None:
        text += f"protect_metrics = {'true' if protect_metrics else 'false'}\n"
    text += extra
    cfg.write_text(text)


def auth_server(factory, *, tokens_text: str = TOKENS_TEXT, server=None, protect_metrics=None,
                sources=None, wait_ready: bool = True):
    """A running tailcast with sources app, web, db (5 lines each) and the given tokens."""
    wd = factory.workdir / f"auth-{uuid.uuid4().hex[:8]}"
    wd.mkdir()
    if sources is None:
        paths = {}
        for name in ("app", "web", "db"):
            p = wd / f"{name}.log"
            p.write_text("".join(f"{name}-init-{i}\n" for i in range(1, 6)))
            paths[name] = p
        sources = file_sources(paths)
    tokens = wd / "tokens"
    tokens.write_text(tokens_text)
    srv = factory(sources=sources, server=server, start=False)
    append_auth(srv.config_path, tokens, protect_metrics)
    srv.logs = {s["name"]: Path(s["path"]) for s in sources}
    srv.tokens_path = tokens
    srv.start(wait_ready=wait_ready)
    return srv


@pytest.fixture(scope="module")
def asrv(module_tailcast):
    """Shared auth server: allowed_origins lists https://logs.example.com."""
    return auth_server(module_tailcast, server={"allowed_origins": ["https://logs.example.com"]})


async def ws_rejected(url: str, timeout: float = 10.0, **kw) -> WSClient:
    """Open a WebSocket expected to be refused with an `error` envelope, read until closed."""
    c = await WSClient.open(url, expect_hello=False, timeout=timeout, **kw)
    await c.wait_closed(timeout)
    return c


def assert_refused(c: WSClient, code: str, param: str) -> dict:
    errs = c.of_type("error")
    assert errs, f"no error envelope; {c.summary()}"
    err = errs[0]
    assert err.get("code") == code and err.get("param") == param, f"expected {code}/{param}, got {err}"
    assert isinstance(err.get("message"), str) and err["message"], err
    assert c.close_code == 1008, f"close code {c.close_code}, expected 1008; {c.summary()}"
    assert c.lines == [], f"lines were sent to a refused client: {c.lines[:3]}"
    return err


# --------------------------------------------------------------------------- HTTP


def test_api_sources_needs_a_valid_token(asrv):
    port = asrv.port
    for hdrs, what in [
        ({}, "no Authorization header"),
        (bearer("x" * 64), "wrong token"),
        (bearer(FULL[:-1]), "valid token minus its last character"),
        (bearer(FULL + "0"), "valid token plus one character"),
        ({"Authorization": f"Basic {base64.b64encode(f'u:{FULL}'.encode()).decode()}"}, "Basic scheme"),
        ({"Authorization": FULL}, "no scheme"),
        ({"Authorization": "Bearer "}, "empty bearer"),
        (bearer(f"sha256:{hashlib.sha256(HASHED.encode()).hexdigest()}"), "the digest line itself"),
    ]:
        status, headers, body = auth_get(port, "/api/sources", headers=hdrs)
        assert status == 401, f"{what}: /api/sources answered {status} {body[:200]!r}"
        assert headers.get("www-authenticate") == BEARER_401, f"{what}: {headers}"
        assert b"init" not in body and b".log" not in body, f"{what}: body leaks data: {body[:200]!r}"

    for token in (FULL, APP_ONLY, APP_WEB, HASHED):
        status, _, body = auth_get(port, "/api/sources", token)
        assert status == 200, f"valid token: /api/sources answered {status} {body[:200]!r}"
        names = {s["name"] for s in json.loads(body)}
        assert {"app"} <= names, names


def test_metrics_protected_by_default(asrv):
    status, headers, body = auth_get(asrv.port, "/metrics")
    assert status == 401, f"/metrics without token answered {status}"
    assert headers.get("www-authenticate") == BEARER_401, headers
    assert b"tailcast_" not in body
    status, _, _ = auth_get(asrv.port, "/metrics", "y" * 40)
    assert status == 401, f"/metrics with a wrong token answered {status}"
    for token in (FULL, HASHED):
        status, _, body = auth_get(asrv.port, "/metrics", token)
        assert status == 200 and b"tailcast_connections" in body, (status, body[:200])


def test_open_endpoints_need_no_token(asrv):
    for path in ("/healthz", "/readyz", "/", "/ui/app.js", "/ui/app.css"):
        status, _, body = auth_get(asrv.port, path)
        assert status == 200, f"{path} without token answered {status} {body[:200]!r}"
    # a wrong token does not break the open endpoints either
    assert auth_get(asrv.port, "/healthz", "nope-nope-nope-nope")[0] == 200


def test_protect_metrics_false_leaves_metrics_open(tailcast):
    srv = auth_server(tailcast, protect_metrics=False)
    status, _, body = auth_get(srv.port, "/metrics")
    assert status == 200 and b"tailcast_connections" in body, f"/metrics answered {status}"
    status, headers, _ = auth_get(srv.port, "/api/sources")
    assert status == 401, f"/api/sources without token answered {status} with protect_metrics=false"
    assert headers.get("www-authenticate") == BEARER_401


# --------------------------------------------------------------------------- WebSocket auth


def test_ws_missing_token_unauthorized(asrv):
    async def go():
        c = await ws_rejected(asrv.ws_url({"n": 100}))
        assert_refused(c, "unauthorized", "token")
        assert [m["type"] for m in c.msgs] == ["error"], f"expected only an error: {c.summary()}"
    run(go())


@pytest.mark.parametrize("how", ["header", "query", "both-wrong", "query-empty"])
def test_ws_wrong_token_unauthorized(asrv, how):
    async def go():
        url, kw = asrv.ws_url({"n": 100}), {}
        if how == "header":
            kw["additional_headers"] = bearer("w" * 64)
        elif how == "query":
            url = asrv.ws_url({"n": 100, "token": FULL[:-1] + ("0" if FULL[-1] != "0" else "1")})
        elif how == "both-wrong":
            url = asrv.ws_url({"n": 100, "token": "q" * 40})
            kw["additional_headers"] = bearer("h" * 40)
        else:
            url = asrv.ws_url({"n": 100, "token": ""})
        c = await ws_rejected(url, **kw)
        assert_refused(c, "unauthorized", "token")
        assert not c.of_type("hello"), c.summary()
    run(go())


@pytest.mark.parametrize("via", ["header", "query"])
@pytest.mark.parametrize("token", ["full", "hashed"])
def test_ws_valid_token(asrv, via, token):
    tok = FULL if token == "full" else HASHED

    async def go():
        q = {"n": 5, "source": "app"}
        kw = {}
        if via == "header":
            kw["additional_headers"] = bearer(tok)
        else:
            q["token"] = tok
        c = await WSClient.open(asrv.ws_url(q), **kw)
        assert c.hello["sources"] == ["app"], c.hello
        await c.lines_until(5)
        assert c.texts() == [f"app-init-{i}" for i in range(1, 6)]
        await c.close()
    run(go())


def test_ws_restricted_token_forbidden_source(asrv):
    async def go():
        for q in ({"source": "db"}, {"source": "app,db"}, {"source": ["app", "web"]}):
            c = await ws_rejected(asrv.ws_url({**q, "n": 10}), additional_headers=bearer(APP_ONLY))
            assert_refused(c, "forbidden", "source")
            assert not c.of_type("hello"), c.summary()
        # the same via token= in the URL
        c = await ws_rejected(asrv.ws_url({"source": "web", "n": 10, "token": APP_ONLY}))
        assert_refused(c, "forbidden", "source")
        # allowed sources work
        c = await WSClient.open(asrv.ws_url({"source": "web,app", "n": 5}), additional_headers=bearer(APP_WEB))
        assert sorted(c.hello["sources"]) == ["app", "web"], c.hello
        await c.lines_until(10)
        await c.close()
    run(go())


def test_ws_default_selection_narrowed(asrv):
    async def go():
        c = await WSClient.open(asrv.ws_url({"n": 5}), additional_headers=bearer(APP_ONLY))
        assert c.hello["sources"] == ["app"], c.hello
        assert set(c.hello.get("epochs", {})) == {"app"}, c.hello
        await c.lines_until(5)
        c2 = await WSClient.open(asrv.ws_url({"n": 5, "token": APP_WEB}))
        assert sorted(c2.hello["sources"]) == ["app", "web"], c2.hello
        await c2.lines_until(10)
        # a marker in every source: only the granted ones arrive
        marker = uuid.uuid4().hex
        for name in ("db", "web", "app"):
            append_lines(asrv.logs[name], [f"{name}-{marker}"])
        await c.until(lambda x: any(marker in t for t in x.texts()), 10, "app marker")
        await c2.until(lambda x: sum(marker in t for t in x.texts()) >= 2, 10, "app and web markers")
        await c.quiet(0.3)
        assert {l["source"] for l in c.lines} == {"app"}, c.summary()
        assert {l["source"] for l in c2.lines} == {"app", "web"}, c2.summary()
        assert not any("db-" in t for t in c.texts() + c2.texts())
        await c.close()
        await c2.close()
    run(go())


def test_ws_query_message_forbidden_keeps_old_query(asrv):
    async def go():
        c = await WSClient.open(asrv.ws_url({"source": "app"}), additional_headers=bearer(APP_ONLY))
        n = len(c.msgs)
        await c.send({"type": "query", "source": "db", "n": 10})
        err = await c.next_of_type("error", 10, start=n)
        assert err.get("code") == "forbidden" and err.get("param") == "source", err
        n = len(c.msgs)
        await c.send({"type": "query", "source": ["app", "web"], "n": 10})
        err = await c.next_of_type("error", 10, start=n)
        assert err.get("code") == "forbidden" and err.get("param") == "source", err
        assert c.close_code is None
        await c.sync()                       # still open and answering
        assert c.lines == [], c.summary()    # no db/web replay leaked
        marker = uuid.uuid4().hex
        append_lines(asrv.logs["db"], [f"db-{marker}"])
        append_lines(asrv.logs["app"], [f"app-{marker}"])
        await c.until(lambda x: f"app-{marker}" in x.texts(), 10, "line of the old query")
        await c.quiet(0.3)
        assert all(l["source"] == "app" for l in c.lines), c.summary()
        assert c.close_code is None
        await c.close()
    run(go())


# --------------------------------------------------------------------------- start-up failures


def _config_with_tokens(workdir: Path, tokens_path: Path, extra_auth: str = "") -> Path:
    log = workdir / "app.log"
    log.write_text("")
    cfg = workdir / f"cfg-{uuid.uuid4().hex[:6]}.toml"
    cfg.write_text(render_config(f"127.0.0.1:{find_free_port()}", None, None, file_sources({"app": log})))
    append_auth(cfg, tokens_path, extra=extra_auth)
    return cfg


def _run_must_exit(cfg: Path):
    try:
        return run_bin(["--config", str(cfg)], timeout=15)
    except Exception as exc:  # subprocess.TimeoutExpired: it started serving
        raise AssertionError(f"tailcast did not refuse to start: {exc!r}") from None


@pytest.mark.parametrize("bad", [
    "short-token",                                   # < 16 characters
    "sha256:abcdef",                                 # too few hex digits
    "sha256:" + "zz" * 32,                           # not hex
    "sha256:" + "a" * 66,                            # too many hex digits
    f"{'t' * 20} app web",                           # three fields
])
def test_bad_tokens_line_refuses_start(workdir, bad):
    tokens = workdir / "tokens"
    tokens.write_text(f"# comment\n\n{'v' * 32}\n{bad}\n{'u' * 32} app\n")  # bad line is line 4
    res = _run_must_exit(_config_with_tokens(workdir, tokens))
    assert res.returncode == 1, f"exit {res.returncode}; stderr: {res.stderr}"
    lines = [l for l in res.stderr.splitlines() if l.startswith(f"{tokens}:")]
    assert lines, f"no '{tokens}:LINE:' on stderr: {res.stderr!r}"
    assert all(l.startswith(f"{tokens}:4:") for l in lines), f"expected line 4: {lines}"
    assert len(lines[0]) > len(f"{tokens}:4:") + 3, f"no message: {lines}"


def test_missing_tokens_file_refuses_start(workdir):
    missing = workdir / "no-such-dir" / "tokens"
    res = _run_must_exit(_config_with_tokens(workdir, missing))
    assert res.returncode == 1, f"exit {res.returncode}; stderr: {res.stderr}"
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {lines}"
    assert str(missing) in lines[0], lines


def test_unknown_auth_key_is_named_with_line(workdir):
    tokens = workdir / "tokens"
    tokens.write_text(FULL + "\n")
    cfg = _config_with_tokens(workdir, tokens, extra_auth="protect_metric = false\n")
    lineno = cfg.read_text().splitlines().index("protect_metric = false") + 1
    res = _run_must_exit(cfg)
    assert res.returncode == 1, f"exit {res.returncode}; stderr: {res.stderr}"
    out = res.stdout + res.stderr
    assert any(l.startswith(f"{cfg}:{lineno}:") and "protect_metric" in l for l in out.splitlines()), out


# --------------------------------------------------------------------------- timing


def test_token_compare_time_does_not_depend_on_prefix(asrv):
    """Sanity check of the constant-time comparison; robust to a noisy 2-core machine."""
    valid = FULL
    flip = {c: ("0" if c != "0" else "1") for c in "0123456789abcdef"}
    long_prefix = valid[:-1] + flip[valid[-1]]                      # 63 of 64 characters match
    no_prefix = "".join(flip[c] for c in valid)                       # no character matches
    assert len(long_prefix) == len(no_prefix) == len(valid)

    conns: dict[str, http.client.HTTPConnection] = {}

    def once(name: str, token: str) -> float:
        for attempt in range(2):
            conn = conns.get(name)
            if conn is None:
                conn = conns[name] = http.client.HTTPConnection("127.0.0.1", asrv.port, timeout=5)
                conn.connect()
            try:
                t0 = time.perf_counter()
                conn.request("GET", "/api/sources", headers=bearer(token))
                resp = conn.getresponse()
                resp.read()
                dt = time.perf_counter() - t0
                assert resp.status == 401, resp.status
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conns.pop(name)
                return dt
            except (http.client.HTTPException, OSError):
                conn.close()
                conns.pop(name, None)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    for _ in range(30):  # warm up both paths
        once("a", long_prefix)
        once("b", no_prefix)
    a, b = [], []
    rnd = random.Random(1)
    for _ in range(300):
        pair = [("a", long_prefix, a), ("b", no_prefix, b)]
        rnd.shuffle(pair)
        for name, tok, out in pair:
            out.append(once(name, tok))
    for c in conns.values():
        c.close()
    ma, mb = statistics.median(a), statistics.median(b)
    bound = max(0.2 * min(ma, mb), 0.0005)
    print(f"timing: medians {ma * 1e3:.3f} ms (long prefix) vs {mb * 1e3:.3f} ms (no prefix)")
    assert abs(ma - mb) < bound, (f"median with a 63-char shared prefix {ma * 1e3:.3f} ms vs no shared "
                                  f"prefix {mb * 1e3:.3f} ms; bound {bound * 1e3:.3f} ms")


# --------------------------------------------------------------------------- Origin


def raw_upgrade(port: int, path: str, extra_headers: dict, host: str | None = None,
                timeout: float = 5.0) -> tuple[str, str]:
    """Send a WebSocket upgrade by hand; return (status line, whole head) of the answer."""
    key = base64.b64encode(os.urandom(16)).decode()
    head = (f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    head += "".join(f"{k}: {v}\r\n" for k, v in extra_headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.encode())
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            buf += chunk
    text = buf.decode(errors="replace")
    return text.split("\r\n", 1)[0], text


def _status_code(status_line: str) -> int | None:
    m = re.match(r"HTTP/1\.[01] (\d{3})", status_line)
    return int(m.group(1)) if m else None


def test_foreign_origin_refused_before_upgrade(asrv):
    port = asrv.port
    evil = f"https://evil-{uuid.uuid4().hex[:10]}.example"
    for origin in (evil, f"http://127.0.0.1:{find_free_port()}", "null", "http://logs.example.com",
                   "https://logs.example.com.evil.example", f"http://127.0.0.1:{port}.evil.example"):
        line, head = raw_upgrade(port, f"/ws?token={FULL}", {"Origin": origin})
        code = _status_code(line)
        assert code != 101, f"Origin {origin}: upgraded: {head!r}"
        assert "sec-websocket-accept" not in head.lower(), f"Origin {origin}: {head!r}"

    async def via_websockets():
        with pytest.raises((websockets.exceptions.InvalidStatus, websockets.exceptions.InvalidHandshake)):
            async with ws_connect(asrv.ws_url({"token": FULL}), origin=evil, proxy=None,
                                  open_timeout=5, additional_headers=bearer(FULL)):
                pass
    run(via_websockets())
    wait_for(lambda: evil in asrv.stderr_text(), 5, f"the refused origin {evil} in the server log")
    assert auth_get(port, "/healthz")[0] == 200


@pytest.mark.parametrize("kind", ["same", "listed", "none"])
def test_allowed_origins(asrv, kind):
    origin = {"same": f"http://127.0.0.1:{asrv.port}", "listed": "https://logs.example.com", "none": None}[kind]

    async def go():
        kw = {"additional_headers": bearer(FULL)}
        if origin:
            kw["origin"] = origin
        c = await WSClient.open(asrv.ws_url({"source": "app", "n": 1}), **kw)
        assert c.hello["sources"] == ["app"]
        await c.lines_until(1)
        await c.close()
    run(go())
    if origin:
        line, head = raw_upgrade(asrv.port, f"/ws?token={FULL}", {"Origin": origin})
        assert _status_code(line) == 101, f"Origin {origin}: {head!r}"


def test_wildcard_allows_any_origin(tailcast):
    srv = auth_server(tailcast, server={"allowed_origins": ["*"]})

    async def go():
        for origin in ("https://anything.example", "null", "http://10.1.2.3:9999"):
            c = await WSClient.open(srv.ws_url({"source": "app", "n": 1, "token": FULL}), origin=origin)
            await c.lines_until(1)
            await c.close()
        # the origin check is not the token check: with "*" a tokenless page is still unauthorized
        c = await ws_rejected(srv.ws_url({"n": 5}), origin="https://anything.example")
        assert_refused(c, "unauthorized", "token")
    run(go())


# --------------------------------------------------------------------------- hostile input


HOSTILE_SOURCES = ["../../etc/passwd", "/etc/passwd", "..", "app/../../../../etc/passwd",
                   "./app", "app/", "~root", "%2e%2e%2fetc%2fpasswd", "..\\..\\etc\\passwd"]


def test_path_like_source_names_are_unknown(asrv):
    async def go():
        for name in HOSTILE_SOURCES:
            for url in (asrv.ws_url({"source": name, "n": 100}),                    # percent-encoded
                        f"ws://127.0.0.1:{asrv.port}/ws?n=100&source={name}"):      # as typed
                c = await ws_rejected(url, additional_headers=bearer(FULL))
                err = c.of_type("error")
                assert err and err[0].get("code") == "bad_query" and err[0].get("param") == "source", \
                    f"source={name!r}: {c.summary()}"
                assert c.close_code == 1008, f"source={name!r}: close {c.close_code}"
                assert c.lines == [] and not c.of_type("hello"), f"source={name!r}: {c.summary()}"
                assert not any("root:" in str(m) for m in c.msgs), f"source={name!r}: {c.msgs}"
            # the same in a query message on a live connection: error, connection stays
            c = await WSClient.open(asrv.ws_url({"source": "app"}), additional_headers=bearer(FULL))
            n = len(c.msgs)
            await c.send({"type": "query", "source": name, "n": 100})
            err = await c.next_of_type("error", 10, start=n)
            assert err.get("code") == "bad_query" and err.get("param") == "source", f"{name!r}: {err}"
            assert c.lines == [] and c.close_code is None, c.summary()
            await c.close()
    run(go())


def _raw_answers(port: int, requests: list[bytes], timeout: float) -> list[tuple[str, bytes]]:
    """Send each raw request on its own connection (all at once); for each, within one shared
    deadline: ("answer", first bytes), ("closed", b"") when the server closed without an
    answer, or ("nothing", b"") when it neither answered nor closed."""
    socks = []
    for req in requests:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            s.sendall(req)
        except (BrokenPipeError, ConnectionResetError):
            pass
        socks.append(s)
    results: list[tuple[str, bytes] | None] = [None] * len(socks)
    bufs = [b""] * len(socks)
    deadline = time.monotonic() + timeout
    try:
        while any(r is None for r in results) and (left := deadline - time.monotonic()) > 0:
            for i, s in enumerate(socks):
                if results[i] is not None:
                    continue
                s.settimeout(min(0.05, left))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    results[i] = ("answer", bufs[i]) if bufs[i] else ("closed", b"")
                    continue
                bufs[i] += chunk
                if b"\r\n" in bufs[i]:
                    results[i] = ("answer", bufs[i])
    finally:
        for s in socks:
            s.close()
    return [r if r is not None else ("nothing", b"") for r in results]


def test_oversized_headers(asrv):
    """A request with ~100 KB of headers gets an error status or a close, and the server keeps serving."""
    port = asrv.port
    big = "a" * 100_000
    cases = [
        (f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Filler: {big}\r\n\r\n", "100 KB header"),
        (f"GET /api/sources HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {big}\r\n\r\n",
         "100 KB Authorization"),
        (f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
         + "".join(f"X-H{i}: {'b' * 20}\r\n" for i in range(5000)) + "\r\n", "5000 headers (~130 KB)"),
        (f"GET /ws?token={FULL} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
         f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
         f"Sec-WebSocket-Version: 13\r\nX-Filler: {big}\r\n\r\n", "100 KB header on a /ws upgrade"),
    ]
    results = _raw_answers(port, [req.encode() for req, _ in cases], timeout=5.0)
    problems = []
    for (_, what), (kind, raw) in zip(cases, results):
        status = _status_code(raw.split(b"\r\n", 1)[0].decode(errors="replace")) if raw else None
        if kind == "nothing":
            problems.append(f"{what}: neither an answer nor a close within 5 s")
        elif kind == "answer" and (status is None or status < 400):
            problems.append(f"{what}: answered {raw[:120]!r}")
    assert auth_get(port, "/healthz")[0] == 200, "/healthz after oversized headers"
    assert asrv.alive
    assert auth_get(port, "/api/sources", FULL)[0] == 200
    assert not problems, "; ".join(problems)


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_connect_churn_leaks_nothing(tailcast):
    srv = auth_server(tailcast)
    pid = srv.proc.pid
    ok_url = srv.ws_url({"source": "app", "n": 2})

    done = [0]

    async def cycle(i: int) -> None:
        done[0] += 1
        kind = i % 4
        if kind == 0:      # authorized, hello + lines, clean close
            c = await WSClient.open(ok_url, additional_headers=bearer(FULL))
            await c.lines_until(2)
            await c.close()
        elif kind == 1:    # no token
            c = await ws_rejected(srv.ws_url({"n": 2}))
            assert c.close_code == 1008
        elif kind == 2:    # forbidden source
            c = await ws_rejected(srv.ws_url({"source": "db", "token": APP_ONLY}))
            assert c.close_code == 1008
        else:              # authorized, then the TCP connection just goes away
            c = await WSClient.open(srv.ws_url({"token": APP_WEB}))
            c.ws.transport.abort()

    async def churn(total: int, concurrency: int = 20, budget: float = 45.0) -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(i):
            async with sem:
                await cycle(i)
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(total))), budget)

    run(churn(40))  # warm-up: lazily created state is not a leak
    fd0, rss0 = _fds(pid), _rss_kb(pid)
    t0 = time.monotonic()
    done[0] = 0
    run(churn(2000))
    elapsed = time.monotonic() - t0
    assert done[0] == 2000

    try:
        wait_for(lambda: _fds(pid) <= fd0 + 10, 10, "open fds to come back")
    except AssertionError:
        raise AssertionError(f"fds {fd0} -> {_fds(pid)} after 2000 cycles ({elapsed:.1f}s)") from None
    wait_for(lambda: re.search(rb"^tailcast_connections 0(\.0)?$",
                               auth_get(srv.port, "/metrics", FULL)[2], re.M), 10,
             "tailcast_connections to drop to 0")
    rss1 = _rss_kb(pid)
    print(f"churn: 2000 cycles in {elapsed:.1f}s; fds {fd0} -> {_fds(pid)}; VmRSS {rss0} -> {rss1} kB")
    assert rss1 <= rss0 + 30 * 1024, f"VmRSS {rss0} kB -> {rss1} kB after 2000 cycles"
    assert srv.alive and auth_get(srv.port, "/healthz")[0] == 200


def test_unauthorized_comes_before_any_query_check(asrv):
    """Without a token, even a malformed query gets `unauthorized`, so nothing leaks."""
    async def scenario():
        from conftest import ws_error_then_close
        err, code, msgs = await ws_error_then_close(asrv, "q=(&source=nope")
        assert err["code"] == "unauthorized"
        assert code == 1008
        assert not [m for m in msgs if m.get("type") in ("hello", "lines")]
    run(scenario())
