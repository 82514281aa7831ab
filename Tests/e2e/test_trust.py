"""Who may ask, and how much (issue 10; wire contract "Version 1.1 additions - Who may ask").

Every test here drives the real binary over loopback only, with hostile-but-bounded clients:
- fair share: catastrophic patterns, a flood of inbound messages, abrupt resets;
- authorization by route (not by raw path string) and grants on every endpoint;
- the Host check against DNS rebinding, secure defaults off loopback, TLS versions/ciphers;
- log injection, validated saved state, the request head bound, journal filters in replay.

Every wait is a poll with a deadline; every load loop is bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from conftest import (
    self_signed_certificate,
    BIN,
    WSClient,
    append_lines,
    file_sources,
    find_free_port,
    http_get,
    parse_prometheus,
    render_config,
    require_binary,
    run,
    run_bin,
    wait_for,
    ws_error_then_close,
    ws_open,
)
from journal_support import journald  # noqa: F401 - fixture

# --------------------------------------------------------------------------- helpers


def recv_until(sock: socket.socket, buf: bytes, done, deadline: float) -> bytes:
    """Reads into `buf` until `done(buf)`, the peer closes or resets, or `deadline` passes."""
    while not done(buf) and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        buf += chunk
    return buf

def _status_of(head: bytes) -> int | None:
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return int(m.group(1)) if m else None


def raw_request(port: int, target: str, headers: dict | None = None, host: str | None = None,
                method: str = "GET", timeout: float = 5.0, upgrade: bool = False,
                read_body: bool = True) -> tuple[int | None, dict, bytes]:
    """One request on its own connection, exactly as written (no path normalization).

    Returns (status, lower-case headers, body). For an upgrade, the body is whatever followed
    the head within a short moment (WebSocket frames, if the server upgraded)."""
    h = {"Host": host if host is not None else f"127.0.0.1:{port}"}
    if upgrade:
        h.update({"Upgrade": "websocket", "Connection": "Upgrade",
                  "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
                  "Sec-WebSocket-Version": "13"})
    else:
        h["Connection"] = "close"
    h.update(headers or {})
    req = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    buf = b""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req.encode("latin-1"))
        # the head
        buf = recv_until(s, buf, lambda b: b"\r\n\r\n" in b, deadline)
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = _status_of(head)
        hdrs = {}
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.decode("latin-1").partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if read_body:
            body_deadline = min(deadline, time.monotonic() + (0.5 if upgrade or status == 101 else timeout))
            want = int(hdrs["content-length"]) if "content-length" in hdrs else None
            rest = recv_until(s, rest, lambda b: want is not None and len(b) >= want, body_deadline)
    return status, hdrs, rest


def rst_close(sock: socket.socket) -> None:
    """Close with SO_LINGER {1, 0}: the kernel sends RST instead of FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def upgrade_bytes(port: int, target: str, extra: str = "") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{extra}\r\n").encode()


def ws_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A masked client frame (masking key 0: XOR is the identity, which is allowed)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + b"\0\0\0\0" + payload


def read_ws_messages(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Unmasked server frames in buf -> ([(opcode, payload)], rest)."""
    out = []
    while len(buf) >= 2:
        n, pos = buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, pos = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < pos + n:
            break
        out.append((buf[0] & 0x0F, buf[pos:pos + n]))
        buf = buf[pos + n:]
    return out, buf


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def wait_cpu_idle(pid: int, within: float, window: float = 1.0, max_share: float = 0.10) -> float:
    """Wait until the process used < max_share of a core over some `window` seconds ending
    within `within` seconds from now; returns that share. Fails at the deadline with the last."""
    samples: list[tuple[float, float]] = []
    deadline = time.monotonic() + within + window
    share = None
    while True:
        now = time.monotonic()
        samples.append((now, proc_cpu_seconds(pid)))
        while len(samples) > 1 and now - samples[1][0] >= window:
            samples.pop(0)
        t0, c0 = samples[0]
        if now - t0 >= window:
            share = (samples[-1][1] - c0) / (now - t0)
            if share < max_share:
                return share
        if now >= deadline:
            raise AssertionError(f"the process still used {share if share is not None else '?'} of a core "
                                 f"over the last {window}s, {within}s after its clients left")
        time.sleep(0.1)


# ---- tokens and servers with [auth]

FULL = secrets.token_hex(32)       # every source
ONLY_A = secrets.token_hex(24)     # source "a" only


def start_with_auth(factory, sources: list[dict], server: dict | None = None,
                    tokens_text: str | None = None, wait_ready: bool = True):
    srv = factory(sources=sources, server=server, start=False)
    tokens = srv.workdir / f"tokens-{srv.port}"
    tokens.write_text(tokens_text if tokens_text is not None else f"{FULL}\n{ONLY_A} a\n")
    with open(srv.config_path, "a") as f:
        f.write(f'\n[auth]\ntokens_file = "{tokens}"\n')
    srv.start(wait_ready=wait_ready)
    return srv


def two_logs(workdir: Path, tag: str = "") -> dict[str, Path]:
    paths = {}
    for name in ("a", "b"):
        p = workdir / f"{name}{tag}.log"
        p.write_text("".join(f"{name}-secret-line-{i}\n" for i in range(1, 4)))
        paths[name] = p
    return paths


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# =========================================================================== 4. auth by route

PROTECTED_VARIANTS = ["//api/sources", "///api/sources", "/api/sources/", "//metrics", "/metrics/",
                      "/./metrics", "/api/./sources", "/api//sources", "/api/sources?x=1", "/%2Fapi/sources",
                      "//api//sources/", "/api/../api/sources", "/ui/../api/sources", "/./api/sources"]
PROTECTED_VARIANTS_BASE = ["/logs//api/sources", "/logs/api/sources/", "//logs/api/sources", "/logs/./api/sources",
                           "/logs//metrics", "/logs/metrics/", "/logs/./metrics", "/logs/api//sources",
                           "/logs/../logs/api/sources", "/logs///api/sources"]


def _assert_not_leaked(status, body: bytes, path: str, what: str = "") -> None:
    assert status in (401, 403, 404, 400, 421), f"{what}{path} without a token answered {status}: {body[:200]!r}"
    assert b"secret-line" not in body and b".log" not in body and b"tailcast_" not in body, \
        f"{what}{path} leaks data: {body[:300]!r}"


@pytest.mark.parametrize("base", ["", "/logs"])
def test_auth_is_decided_on_the_route_not_the_raw_path(tailcast, workdir, base):
    paths = two_logs(workdir)
    srv = start_with_auth(tailcast, file_sources(paths), server={"base_path": base} if base else None)
    # the canonical routes are protected, and reachable with a token (sanity of the set-up)
    for p in (f"{base}/api/sources", f"{base}/metrics"):
        st, _, body = raw_request(srv.port, p)
        _assert_not_leaked(st, body, p)
        st, _, body = raw_request(srv.port, p, headers=bearer(FULL))
        assert st == 200, f"{p} with a valid token answered {st}: {body[:200]!r}"
    problems = []
    for p in (PROTECTED_VARIANTS_BASE if base else PROTECTED_VARIANTS):
        st, _, body = raw_request(srv.port, p)
        if st == 200 or st is None or b"secret-line" in body or b".log" in body or b"tailcast_" in body:
            problems.append(f"{p} -> {st} {body[:120]!r}")
        elif st not in (401, 403, 404, 400):
            problems.append(f"{p} -> unexpected status {st}")
    assert not problems, "answered without a token: " + "; ".join(problems)
    assert srv.alive and http_get(srv.port, "/healthz")[0] == 200


def test_grants_apply_to_api_metrics_and_hello(tailcast, workdir):
    paths = two_logs(workdir)
    srv = start_with_auth(tailcast, file_sources(paths))
    st, _, body = raw_request(srv.port, "/api/sources", headers=bearer(FULL))
    assert st == 200 and {s["name"] for s in json.loads(body)} == {"a", "b"}, (st, body[:300])

    st, _, body = raw_request(srv.port, "/api/sources", headers=bearer(ONLY_A))
    assert st == 200, f"/api/sources with the a-only token answered {st}"
    names = [s["name"] for s in json.loads(body)]
    assert names == ["a"], f"the a-only token sees {names} in /api/sources"
    assert str(paths["b"]).encode() not in body

    st, _, body = raw_request(srv.port, "/metrics", headers=bearer(ONLY_A))
    if st == 200:
        m = parse_prometheus(body.decode())
        leaked = [(n, l) for n, l, _ in m.samples if l.get("source") == "b"]
        assert not leaked, f"/metrics with the a-only token has series of source b: {leaked[:5]}"
        assert any(l.get("source") == "a" for _, l, _ in m.samples), "no series of source a either"
    else:
        assert st in (401, 403), f"/metrics with the a-only token answered {st}"
        assert b'source="b"' not in body

    async def go():
        c = await ws_open(srv, {"n": 10}, additional_headers=bearer(ONLY_A))
        assert c.hello["sources"] == ["a"], c.hello
        assert set(c.hello.get("epochs", {})) == {"a"}, c.hello
        await c.lines_until(3)
        await c.quiet(0.3)
        assert {l["source"] for l in c.lines} == {"a"}, c.summary()
        await c.close()
    run(go())


# =========================================================================== 5. Host / DNS rebinding


def _one_source(workdir: Path, name: str = "app", text: str = "rebind-secret-line") -> list[dict]:
    log = workdir / f"{name}-{uuid.uuid4().hex[:6]}.log"
    log.write_text(f"{text}\n")
    return file_sources({name: log})


def _assert_421(port: int, host: str, targets=("/api/sources", "/", "/metrics", "/healthz", "/readyz")) -> None:
    problems = []
    for t in targets:
        st, _, body = raw_request(port, t, host=host)
        if st != 421:
            problems.append(f"GET {t} Host {host}: {st}")
        if b"secret-line" in body or b"tailcast_" in body or b'"name"' in body or b"<html" in body.lower():
            problems.append(f"GET {t} Host {host}: data in the body {body[:120]!r}")
    st, hdrs, body = raw_request(port, "/ws?n=10", host=host, upgrade=True)
    if st != 421:
        problems.append(f"upgrade /ws Host {host}: {st}")
    if "sec-websocket-accept" in hdrs or b"secret-line" in body:
        problems.append(f"upgrade /ws Host {host}: upgraded or sent data {hdrs} {body[:120]!r}")
    assert not problems, "; ".join(problems)


def _assert_served(port: int, host: str) -> None:
    st, _, body = raw_request(port, "/api/sources", host=host)
    assert st == 200 and b'"app"' in body, f"GET /api/sources Host {host}: {st} {body[:200]!r}"
    st, _, _ = raw_request(port, "/healthz", host=host)
    assert st == 200, f"GET /healthz Host {host}: {st}"
    st, hdrs, body = raw_request(port, "/ws?n=1", host=host, upgrade=True)
    assert st == 101, f"upgrade /ws Host {host}: {st}"
    msgs, _ = read_ws_messages(body)
    assert msgs and json.loads(msgs[0][1]).get("type") == "hello", f"Host {host}: no hello: {body[:200]!r}"


def test_foreign_host_gets_421_on_loopback(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir))
    port = srv.port
    _assert_421(port, f"rebind.attacker.example:{port}")
    _assert_421(port, "rebind.attacker.example", targets=("/api/sources", "/metrics"))
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"127.1.2.3:{port}", f"[::1]:{port}", "localhost"):
        _assert_served(port, host)
    assert srv.alive


def test_rebinding_style_names_and_duplicate_hosts_get_421(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir))
    port = srv.port
    for host in (f"127.0.0.1.nip.io:{port}", f"localhost.attacker.example:{port}", f"127.0.0.1.attacker.example",
                 f"attacker.example:{port}", f"10.0.0.1:{port}"):
        _assert_421(port, host, targets=("/api/sources", "/"))
    # two Host headers, one of them loopback: a proxy and the server could read them differently
    req = (f"GET /api/sources HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: rebind.attacker.example:{port}\r\n"
           f"Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(req)
        buf = b""
        with contextlib.suppress(socket.timeout, ConnectionResetError):
            while chunk := s.recv(65536):
                buf += chunk
    st = _status_of(buf)
    assert st in (400, 421), f"two Host headers: {st} {buf[:200]!r}"
    assert b"secret-line" not in buf and b'"name"' not in buf


def _keep_alive_pair(port: int, second: bytes) -> tuple[bytes, bytes]:
    """A good first request on a keep-alive connection, then `second` on the same connection:
    returns (first answer, second answer)."""
    first = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(first)
        buf = b""
        deadline = time.monotonic() + 5
        buf = recv_until(s, buf, lambda b: b"\r\n\r\n" in b and len(b.partition(b"\r\n\r\n")[2]) >= 15, deadline)
        one = buf
        assert _status_of(one) == 200, one[:200]
        s.sendall(second)
        buf = b""
        deadline = time.monotonic() + 5
        while (left := deadline - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf and (_status_of(buf) == 101 or len(buf) > 64):
                # enough to judge (an upgraded connection would stream frames)
                time.sleep(0.2)
                with contextlib.suppress(BlockingIOError, socket.timeout, ConnectionResetError):
                    s.settimeout(0.2)
                    buf += s.recv(65536)
                break
        return one, buf


def test_host_is_checked_on_every_request_of_a_keep_alive_connection(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir))
    port = srv.port
    evil = f"rebind.attacker.example:{port}"
    _, two = _keep_alive_pair(port, f"GET /api/sources HTTP/1.1\r\nHost: {evil}\r\nConnection: close\r\n\r\n".encode())
    assert _status_of(two) == 421, f"second request with Host {evil}: {two[:200]!r}"
    assert b"secret-line" not in two and b'"name"' not in two
    up = upgrade_bytes(port, "/ws?n=10").replace(f"Host: 127.0.0.1:{port}".encode(), f"Host: {evil}".encode())
    _, two = _keep_alive_pair(port, up)
    assert _status_of(two) != 101 and b"sec-websocket-accept" not in two.lower(), \
        f"a second request upgraded with Host {evil}: {two[:200]!r}"
    assert b"secret-line" not in two
    assert _status_of(two) == 421, f"second request (upgrade) with Host {evil}: {two[:120]!r}"


def test_browser_like_upgrade_from_a_rebound_name_is_refused(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir))
    port = srv.port
    host = f"rebind.attacker.example:{port}"
    st, hdrs, body = raw_request(port, "/ws?n=10", host=host, upgrade=True,
                                 headers={"Origin": f"http://{host}",
                                          "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"})
    assert st != 101 and "sec-websocket-accept" not in hdrs, f"upgraded for Host/Origin {host}: {st} {hdrs}"
    assert b"secret-line" not in body, body[:200]
    assert st == 421, f"expected 421, got {st}"


def test_allowed_hosts_lists_extra_names(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir), server={"allowed_hosts": ["logs.example.com"]})
    port = srv.port
    _assert_served(port, f"logs.example.com:{port}")
    _assert_served(port, "logs.example.com")
    _assert_served(port, f"127.0.0.1:{port}")
    _assert_421(port, f"evil.example:{port}")
    _assert_421(port, "evil.example", targets=("/api/sources",))
    _assert_421(port, f"logs.example.com.evil.example:{port}", targets=("/api/sources",))


# =========================================================================== 6. secure by default off loopback


def _start_outcome(cfg: Path, port: int, timeout: float = 15.0, args: list[str] | None = None,
                   tag: str = "") -> tuple[int | None, str]:
    """Start the binary with cfg (or `args`); (exit status, stderr) if it exits, (None, stderr)
    if it serves. A process that serves is stopped at once (it listens on every address)."""
    require_binary()
    err_path, out_path = cfg.with_suffix(f"{tag}.stderr"), cfg.with_suffix(f"{tag}.stdout")
    with open(err_path, "wb") as err, open(out_path, "wb") as out:
        proc = subprocess.Popen([BIN, *(args if args is not None else ["--config", str(cfg)])],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cfg.parent)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return proc.returncode, err_path.read_text(errors="replace")
            with contextlib.suppress(OSError):
                if http_get(port, "/healthz", timeout=0.5)[0] == 200:
                    return None, err_path.read_text(errors="replace")
            time.sleep(0.05)
        return None, err_path.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_all_interfaces_without_auth_refuses_to_start(workdir):
    port = find_free_port()
    log = workdir / "app.log"
    log.write_text("x\n")
    cfg = workdir / "open.toml"
    cfg.write_text(render_config(f"0.0.0.0:{port}", None, None, file_sources({"app": log})))
    status, out = _start_outcome(cfg, port)
    assert status is not None, f"tailcast served on 0.0.0.0 without [auth] or allow_anonymous; output: {out[-500:]}"
    assert status == 1, f"exit status {status}; output: {out}"
    assert "allow_anonymous" in out and "[auth]" in out, f"stderr does not name both ways out: {out!r}"

    res = run_bin(["check-config", str(cfg)], timeout=20)
    both = res.stdout + res.stderr
    assert res.returncode == 1, f"check-config: exit {res.returncode}: {both!r}"
    assert "allow_anonymous" in both and "[auth]" in both, both

    # other addresses that are not loopback (checked without binding them)
    for listen in (f"[::]:{port}", f"192.0.2.1:{port}"):
        other = workdir / f"other-{uuid.uuid4().hex[:6]}.toml"
        other.write_text(render_config(listen, None, None, file_sources({"app": log})))
        res = run_bin(["check-config", str(other)], timeout=20)
        assert res.returncode == 1 and "allow_anonymous" in res.stdout + res.stderr, \
            f"check-config with listen = {listen!r} and no [auth]: exit {res.returncode} {res.stdout + res.stderr!r}"
    for listen in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.2:{port}"):
        fine = workdir / f"fine-{uuid.uuid4().hex[:6]}.toml"
        fine.write_text(render_config(listen, None, None, file_sources({"app": log})))
        res = run_bin(["check-config", str(fine)], timeout=20)
        assert res.returncode == 0, f"check-config refused loopback listen = {listen!r}: {res.stdout + res.stderr!r}"

    # the same through the command line: --listen over a loopback config, and no config at all
    loop = workdir / "loop.toml"
    loop.write_text(render_config(f"127.0.0.1:{find_free_port()}", None, None, file_sources({"app": log})))
    for tag, args in ((".cli-listen", ["--config", str(loop), "--listen", f"0.0.0.0:{port}"]),
                      (".cli-file", ["--file", f"app={log}", "--listen", f"0.0.0.0:{port}"])):
        status, out = _start_outcome(cfg, port, args=args, tag=tag)
        assert status == 1, f"{' '.join(args)}: {'served' if status is None else f'exit {status}'}; stderr: {out!r}"
        assert "allow_anonymous" in out and "[auth]" in out, f"{' '.join(args)}: {out!r}"

    ok = workdir / "anon.toml"
    ok.write_text(render_config(f"0.0.0.0:{port}", {"allow_anonymous": True}, None, file_sources({"app": log})))
    res = run_bin(["check-config", str(ok)], timeout=20)
    assert res.returncode == 0, f"check-config refused allow_anonymous = true: {res.stdout + res.stderr!r}"
    status, out = _start_outcome(ok, port)
    assert status is None, f"with allow_anonymous = true it exited {status}: {out!r}"


def test_help_example_for_all_interfaces_mentions_tokens():
    res = run_bin(["--help"], timeout=20)
    text = res.stdout + res.stderr
    lines = text.splitlines()
    idx = [i for i, l in enumerate(lines) if "--listen 0.0.0.0" in l]
    assert idx, f"no --listen 0.0.0.0 example in --help: {text!r}"
    near = "\n".join("\n".join(lines[max(0, i - 3):i + 4]) for i in idx)
    assert re.search(r"token", near, re.I), f"no word 'token' near the --listen 0.0.0.0 example:\n{near}"


# =========================================================================== 7. TLS


def _s_client(port: int, args: list[str]) -> tuple[bool, str]:
    res = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "127.0.0.1",
                          *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    out = res.stdout + res.stderr
    ok = (res.returncode == 0 and "Cipher is (NONE)" not in out and "New, (NONE)" not in out
          and re.search(r"Cipher is \S+", out) is not None)
    return ok, out


def test_tls_refuses_old_versions_and_non_forward_secret_ciphers(tailcast, workdir):
    cert, key = self_signed_certificate(workdir)
    srv = tailcast(sources=_one_source(workdir), start=False)
    with open(srv.config_path, "a") as f:
        f.write(f'\n[tls]\ncert = "{cert}"\nkey = "{key}"\n')
    with open(srv.stderr_path, "ab") as err:
        srv.proc = subprocess.Popen([BIN, "--config", str(srv.config_path)], stdin=subprocess.DEVNULL,
                                    stdout=err, stderr=err)

    def up():
        assert srv.proc.poll() is None, f"exited {srv.proc.returncode}: {srv.stderr_text()}"
        res = subprocess.run(["curl", "-fsS", "--noproxy", "*", "-m", "2", "--cacert", str(cert),
                              f"https://127.0.0.1:{srv.port}/healthz"], capture_output=True, text=True, timeout=10)
        return res.returncode == 0
    wait_for(up, 20, "the TLS server to answer /healthz")

    must_fail = [
        ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        ["-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0"],
        ["-tls1_2", "-cipher", "AES128-GCM-SHA256:@SECLEVEL=0"],
        ["-tls1_2", "-cipher", "AES256-GCM-SHA384:@SECLEVEL=0"],
    ]
    must_work = [
        ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
        ["-tls1_3"],
    ]
    problems = []
    for args in must_fail:
        ok, out = _s_client(srv.port, args)
        if ok:
            m = re.search(r"Cipher is \S+|Protocol\s*:\s*\S+", out)
            problems.append(f"handshake succeeded with {' '.join(args)} ({m.group(0) if m else '?'})")
    for args in must_work:
        ok, out = _s_client(srv.port, args)
        if not ok:
            problems.append(f"handshake failed with {' '.join(args)}: {out[-300:]!r}")
    assert not problems, "; ".join(problems)
    assert srv.proc.poll() is None


# =========================================================================== 8. log injection


def test_client_controlled_text_cannot_forge_log_lines(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir))
    marker = uuid.uuid4().hex[:10]
    long_q = "L" + "y" * 9_999                        # 10 000 characters (rejected: over 4 096 bytes)
    long_other = [("q", "z" * 4000), ("not", "w" * 4000), ("not", "v" * 2000)]   # 10 000, accepted

    async def go():
        for q in (f"q=x%0Aforged%20line%20{marker}&n=1",
                  f"q=x%0D%0Aforged%20crlf%20{marker}&n=1",
                  f"q=esc{marker}%1B%5B31mred%1B%5B0m&F&n=1",
                  "n=1&" + urllib.parse.urlencode(long_other)):
            c = await WSClient.open(srv.ws_url(q))
            await c.close()
        for bad in ({"q": long_q}, {"q": f"bad{marker}\x1b[31m"}):      # rejected, then logged
            err, code, _ = await ws_error_then_close(srv, bad)
            assert code == 1008, err
    run(go())

    def logged():
        t = srv.stderr_text()
        return t.count("connection closed") >= 6
    wait_for(logged, 10, "six 'connection closed' log lines")
    raw = srv.stderr_path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    problems = []
    for line in re.split(r"\r\n|\r|\n", text):
        if line.lstrip().startswith("forged"):
            problems.append(f"a log line begins with client text: {line[:120]!r}")
        if len(line.encode()) > 4096 + 256:
            problems.append(f"a log line of {len(line.encode())} bytes: {line[:120]!r}...")
    if b"\x1b" in raw:
        problems.append("a raw ESC byte (0x1b) on stderr: " + repr(raw[max(0, raw.index(b'\x1b') - 60):raw.index(b'\x1b') + 20]))
    assert not problems, "; ".join(problems)
    # the client's text is still there, escaped
    assert re.search(r"x(\\n|\\x0a|\\u000a|\\u\{a\}|%0a)forged", text, re.I), \
        "the newline of the query is not in the log in an escaped form"
    assert marker in text


def test_client_headers_cannot_forge_log_lines(tailcast, workdir):
    """The same for what a client puts in headers that the server logs (a refused Origin, a Host)."""
    srv = tailcast(sources=_one_source(workdir))
    port = srv.port
    marker = uuid.uuid4().hex[:10]
    origins = [f"http://esc{marker}\x1b[31m.example", f"http://long{marker}." + "o" * 9000 + ".example"]
    for origin in origins:
        # (a control character in a header may be refused by the HTTP parser without an answer)
        st, hdrs, _ = raw_request(port, "/ws?n=1", upgrade=True, headers={"Origin": origin}, timeout=1.5)
        assert st != 101, f"upgraded for a foreign Origin: {st}"
    for host in (f"esc{marker}\x1b[31m.example:{port}", f"long{marker}." + "h" * 9000):
        st, _, _ = raw_request(port, "/api/sources", host=host, timeout=1.5)
        assert st != 200, f"Host {host[:40]!r}: {st}"
    assert http_get(port, "/healthz")[0] == 200
    wait_for(lambda: f"long{marker}" in srv.stderr_text(), 10, "the refused long origin in the log")
    raw = srv.stderr_path.read_bytes()
    assert b"\x1b" not in raw, "a raw ESC byte on stderr: " + repr(raw[max(0, raw.index(b"\x1b") - 80):raw.index(b"\x1b") + 20])
    long_lines = [len(l) for l in raw.split(b"\n") if len(l) > 4096 + 256]
    assert not long_lines, f"log lines of {long_lines} bytes"


# =========================================================================== 10. request head bound


def test_head_over_the_bound_in_one_write_gets_431(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir))
    port = srv.port
    results = {}
    for what, size, upgrade in (("GET 45 000", 45_000, False), ("GET 58 000", 58_000, False),
                                ("GET 41 000", 41_000, False), ("upgrade 45 000", 45_000, True),
                                ("split GET 45 000", 45_000, False)):
        if upgrade:
            req = upgrade_bytes(port, "/ws?n=1", extra=f"X-Pad: {'p' * size}\r\n")
        else:
            req = (f"GET /api/sources HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Pad: {'p' * size}\r\n\r\n").encode()
        assert 40_000 <= len(req) <= 60_000
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            if what.startswith("split"):
                s.sendall(req[:20_000])                      # two writes: the end comes with the second
                time.sleep(0.1)
                with contextlib.suppress(OSError):
                    s.sendall(req[20_000:])
            else:
                s.sendall(req)                               # ONE write: head and its end together
            buf = b""
            deadline = time.monotonic() + 5
            buf = recv_until(s, buf, lambda b: b"\r\n" in b, deadline)
        results[what] = (_status_of(buf), buf[:60])
    bad = {k: v for k, v in results.items() if v[0] != 431}
    assert not bad, f"expected 431 for every oversized head: {bad}"
    assert http_get(port, "/healthz")[0] == 200 and srv.alive


def test_head_bound_holds_on_a_keep_alive_connection(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir))
    port = srv.port
    big = f"GET /api/sources HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Pad: {'p' * 45_000}\r\n\r\n".encode()
    _, two = _keep_alive_pair(port, big)
    assert _status_of(two) == 431, f"a 45 KB head as the second request of a connection: {two[:100]!r}"
    big_up = upgrade_bytes(port, "/ws?n=1", extra=f"X-Pad: {'p' * 45_000}\r\n")
    _, two = _keep_alive_pair(port, big_up)
    assert _status_of(two) == 431, f"a 45 KB upgrade head as the second request of a connection: {two[:100]!r}"
    assert http_get(port, "/healthz")[0] == 200 and srv.alive


# =========================================================================== 9. saved state validated

U64_MAX = 18446744073709551615


def _state_server(tailcast, workdir: Path, positions_text: str | None, build=None):
    """A server with state_dir whose positions.json is written before start (build(log) -> dict)."""
    log = workdir / "app.log"
    append_lines(log, [f"state line {i}" for i in range(1, 6)])
    state = workdir / "state"
    state.mkdir(exist_ok=True)
    positions = state / "positions.json"
    if build is not None:
        positions_text = json.dumps(build(log))
    positions.write_text(positions_text)
    srv = tailcast(sources=file_sources({"app": log}), server={"state_dir": str(state)}, wait_ready=False)
    return srv, log, positions


def _saved(log: Path, **over) -> dict:
    st = os.stat(log)
    entry = {"epoch": "e1", "nextSeq": 6, "device": st.st_dev, "inode": st.st_ino, "offset": st.st_size}
    entry.update(over)
    return {"app": entry}


def _wait_following(srv, name: str = "app", timeout: float = 15.0) -> dict:
    def state():
        assert srv.alive, f"tailcast exited: {srv.stderr_text()[-800:]}"
        s = srv.sources()[name]
        return s if s["state"] == "following" else None
    try:
        return wait_for(state, timeout, f"source {name} to reach following")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; /api/sources: {srv.get('/api/sources')[2][:300]!r}; "
                             f"stderr: {srv.stderr_text()[-800:]}") from None


async def _hello_epoch(srv) -> tuple[str, dict]:
    c = await ws_open(srv, {"n": 100})
    epoch = c.hello["epochs"]["app"]
    await c.quiet(0.5)
    await c.close()
    return epoch, c


def _assert_live(srv, log: Path) -> None:
    """A line appended now arrives, with a sensible seq."""
    async def go():
        c = await ws_open(srv, {"source": "app"})
        marker = f"after-start-{uuid.uuid4().hex[:8]}"
        append_lines(log, [marker])
        await c.until(lambda x: marker in x.texts(), 10, "a line written after start")
        seq = [l["seq"] for l in c.lines if l["text"] == marker][0]
        assert 1 <= seq < 1 << 53, f"seq {seq} after a rejected saved position"
        await c.close()
    run(go())


def test_saved_next_seq_at_u64_max_is_rejected_with_a_reason(tailcast, workdir):
    srv, log, positions = _state_server(tailcast, workdir, None, lambda log: _saved(log, nextSeq=U64_MAX))
    assert http_get(srv.port, "/healthz")[0] == 200
    _wait_following(srv)
    epoch, c = run(_hello_epoch(srv))
    assert epoch != "e1", "the saved epoch was continued from an invalid nextSeq"
    _assert_live(srv, log)
    err = srv.stderr_text()
    lines = [l for l in err.splitlines() if "positions.json" in l]
    assert lines, f"stderr does not name positions.json: {err[-1000:]}"
    assert any(re.search(r"nextSeq|next_seq|seq", l, re.I) for l in lines), \
        f"stderr names positions.json but not why (nextSeq): {lines}"
    assert srv.alive


def test_saved_negative_offset_starts_a_new_epoch(tailcast, workdir):
    srv, log, positions = _state_server(tailcast, workdir, None, lambda log: _saved(log, offset=-5))
    assert http_get(srv.port, "/healthz")[0] == 200
    _wait_following(srv)
    wait_for(lambda: http_get(srv.port, "/readyz")[0] == 200, 10, "/readyz 200")
    epoch, c = run(_hello_epoch(srv))
    assert epoch != "e1", "the saved epoch was continued from a negative offset"
    _assert_live(srv, log)
    _wait_following(srv)


def test_unparsable_positions_file_is_reported(tailcast, workdir):
    srv, log, positions = _state_server(tailcast, workdir, "{not json")
    assert http_get(srv.port, "/healthz")[0] == 200
    _wait_following(srv)
    _assert_live(srv, log)
    wait_for(lambda: str(positions) in srv.stderr_text(), 5, f"{positions} named on stderr")


def test_since_beyond_u64_range_is_a_bad_query(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, [f"held {i}" for i in range(1, 21)])
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        for since in (f"app:{U64_MAX}", f"app:{U64_MAX + 1}", "app:99999999999999999999999"):
            c = await ws_open(srv, {"since": since}, expect_hello=False)
            await c.until(lambda x: x.close_code is not None or x.of_type("error") or x.lines,
                          10, f"an answer to since={since}")
            await c.quiet(0.5)
            assert not c.lines, f"since={since} replayed {len(c.lines)} lines: {c.summary()}"
            errs = c.of_type("error")
            assert errs and errs[0].get("code") == "bad_query" and errs[0].get("param") == "since", \
                f"since={since}: {c.summary()}"
            assert await c.wait_closed(10) == 1008
    run(go())


# =========================================================================== 3. per-address release


def _open_raw_ws(port: int, target: str, extra: str = "", timeout: float = 10.0) -> tuple[socket.socket, int | None, dict | None]:
    """Upgrade by hand and read the first message: (socket, status, first JSON message or None)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(upgrade_bytes(port, target, extra))
    buf = b""
    deadline = time.monotonic() + timeout
    status, first = None, None
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        buf += chunk
        if b"\r\n\r\n" not in buf:
            continue
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = _status_of(head)
        if status != 101:
            break
        msgs, _ = read_ws_messages(rest)
        texts = [p for op, p in msgs if op == 0x1]
        if texts:
            first = json.loads(texts[0])
            break
        if any(op == 0x8 for op, _ in msgs):
            break
    return s, status, first


def _connections_gauge(port: int, token: str | None = None) -> float | None:
    st, _, body = raw_request(port, "/metrics", headers=bearer(token) if token else None)
    if st != 200:
        return None
    return parse_prometheus(body.decode()).get("tailcast_connections")


def _reset_churn(port: int, hello_target: str, total: int = 50, expect_first: str = "hello",
                 token: str | None = None) -> None:
    """`total` abrupt resets from 127.0.0.1, one at a time: even ones during the handshake (a
    partial upgrade request, or a whole one reset at once), odd ones after the first message
    (`expect_first`: hello, or an error code)."""
    for i in range(total):
        if i % 2 == 0:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            req = upgrade_bytes(port, hello_target)
            if i % 4 == 0:
                s.sendall(req[: len(req) // 2])         # the head is not finished
            else:
                s.sendall(req)                          # the whole head, then gone at once
            rst_close(s)
            wait_for(lambda: _connections_gauge(port, token) == 0, 10,
                     f"tailcast_connections back to 0 after reset #{i}")
            continue
        s, status, first = _open_raw_ws(port, hello_target)
        try:
            assert status == 101 and first is not None, \
                f"reset #{i}: no first message (status {status}) on a fresh connection"
            if first.get("code") == "too_many_connections":
                raise AssertionError(
                    f"after {i} abrupt resets (never more than one open at a time), a fresh connection "
                    f"got too_many_connections: {first}")
            if expect_first == "hello":
                assert first.get("type") == "hello", f"reset #{i}: first message {first}"
            else:
                assert first.get("type") == "error" and first.get("code") == expect_first, \
                    f"reset #{i}: first message {first}"
        finally:
            rst_close(s)
        # one open at a time: wait until the server has seen this one go (gauge back to 0)
        wait_for(lambda: _connections_gauge(port, token) == 0, 10,
                 f"tailcast_connections back to 0 after reset #{i}")


async def _limit_is_whole_again(srv, limit: int, query: dict, headers: dict | None = None) -> None:
    kw = {"additional_headers": headers} if headers else {}
    clients = []
    for k in range(limit):
        c = await WSClient.open(srv.ws_url(query), expect_hello=False, **kw)
        first = await c.recv(10)
        assert first is not None and first.get("type") == "hello", \
            f"client {k + 1} of {limit} after the resets did not get hello: {first}"
        clients.append(c)
    extra = await WSClient.open(srv.ws_url(query), expect_hello=False, **kw)
    first = await extra.recv(10)
    assert first is not None and first.get("code") == "too_many_connections", \
        f"client {limit + 1} was not refused (the limit is not enforced any more): {first}"
    assert await extra.wait_closed(10) == 1013
    for c in clients:
        await c.close()


def test_abrupt_resets_release_the_per_address_count(tailcast, workdir):
    srv = tailcast(sources=_one_source(workdir), server={"max_connections_per_address": 5})
    _reset_churn(srv.port, "/ws?n=1")
    assert srv.alive
    run(_limit_is_whole_again(srv, 5, {"n": 1}))


def test_resets_after_unauthorized_release_the_per_address_count(tailcast, workdir):
    srv = start_with_auth(tailcast, _one_source(workdir, "a"), server={"max_connections_per_address": 5})
    _reset_churn(srv.port, "/ws?n=1", expect_first="unauthorized", token=FULL)
    _reset_churn(srv.port, f"/ws?n=1&source=nope&token={ONLY_A}", total=10, expect_first="bad_query", token=FULL)
    assert srv.alive
    run(_limit_is_whole_again(srv, 5, {"n": 1}, headers=bearer(FULL)))


# =========================================================================== 2. inbound bound


class RssSampler:
    """Samples VmRSS of a process every `interval` seconds in a thread; keeps the maximum."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid, self.interval = pid, interval
        self.max_kb = rss_kb(pid)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.max_kb = max(self.max_kb, rss_kb(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)


def _flood(port: int, message: bytes, count: int, budget: float, stall: float = 3.0,
           hold: float = 0.0, on_end=None, opcode: int = 0x1) -> dict:
    """Send `count` masked frames (text, or `opcode`) of `message` as fast as the socket takes them, never
    reading a byte after the handshake; stop at `count`, after `budget` seconds, or when the
    socket has taken nothing for `stall` seconds (TCP pushed back). Keeps the connection open
    `hold` seconds more (calling on_end() first), then resets it.

    Returns {"sent": frames fully handed to the kernel, "secs": ..., "stalled": bool,
    "closed": bool (the server closed the connection)}."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)     # before connect: a small window
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(upgrade_bytes(port, "/ws?n=1"))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)                      # byte by byte: leave every frame unread
        assert chunk, f"closed during the handshake: {head!r}"
        head += chunk
    assert _status_of(head) == 101, head
    frame = ws_frame(opcode, message)
    s.setblocking(False)
    sent_frames, pending, stalled, closed = 0, b"", False, False
    t0 = last_progress = time.monotonic()
    deadline = t0 + budget
    try:
        while sent_frames < count and (now := time.monotonic()) < deadline:
            if now - last_progress >= stall:
                stalled = True
                break
            if not pending:
                pending = frame
            _, w, _ = select.select([], [s], [], 0.1)
            if not w:
                continue
            try:
                n = s.send(pending)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if n:
                last_progress = time.monotonic()
            pending = pending[n:]
            if not pending:
                sent_frames += 1
        secs = time.monotonic() - t0
        if on_end:
            on_end()
        if hold:
            time.sleep(hold)    # bounded: lets the server take what the kernel still holds
        return {"sent": sent_frames, "secs": secs, "stalled": stalled, "closed": closed}
    finally:
        rst_close(s)


def test_inbound_flood_is_bounded_by_tcp(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, [f"line {i:05d} " + "r" * 180 for i in range(2000)])
    srv = tailcast(sources=file_sources({"app": log}), defaults={"initial_lines": 2000})
    pid = srv.proc.pid
    # each message asks for a 2000-line replay: the server has a lot to answer to a reader that never reads
    msg = json.dumps({"type": "query", "n": 2000}).encode()
    msg += b" " * (20_000 - len(msg))

    async def other_client_is_served(stop: threading.Event, report: list):
        c = await ws_open(srv, {"source": "app"})
        i = 0
        while not stop.is_set() and i < 200:
            marker = f"other-{i}-{uuid.uuid4().hex[:6]}"
            t0 = time.monotonic()
            append_lines(log, [marker])
            await c.until(lambda x: marker in x.texts(), 5, f"{marker} to reach the other client")
            try:
                st = await asyncio.to_thread(lambda: http_get(srv.port, "/healthz", timeout=3)[0])
            except OSError as exc:
                raise AssertionError(f"/healthz did not answer within 3 s during the flood: {exc!r}") from None
            assert st == 200, f"/healthz answered {st} during the flood"
            report.append(time.monotonic() - t0)
            i += 1
            await asyncio.sleep(0.1)
        await c.close()

    # warm-up: lazily allocated state is not what is measured
    _flood(srv.port, msg, 20, 5, stall=1.0)
    wait_for(lambda: _connections_gauge(srv.port) == 0, 15, "the warm-up connection to go")
    base = rss_kb(pid)
    stop = threading.Event()
    report: list[float] = []
    result = {}

    def flood():
        try:
            result.update(_flood(srv.port, msg, 3000, 15, stall=3.0, hold=2.0, on_end=stop.set))
        finally:
            stop.set()

    with RssSampler(pid) as rss:
        t = threading.Thread(target=flood)
        t.start()
        try:
            run(other_client_is_served(stop, report))
        finally:
            stop.set()
            t.join(40)
    sent, secs = result.get("sent", 0), result.get("secs", 0.0)
    rise_mib = (rss.max_kb - base) / 1024
    print(f"inbound flood: {sent} frames of 20 KB in {secs:.1f}s (stalled: {result.get('stalled')}, "
          f"closed: {result.get('closed')}); "
          f"VmRSS {base} kB -> max {rss.max_kb} kB (+{rise_mib:.1f} MiB); other client round trips: "
          f"{len(report)}, max {max(report or [0]):.2f}s")
    assert report, "the other client was not served during the flood"
    assert rise_mib <= 64, (f"VmRSS rose by {rise_mib:.1f} MiB while a client sent {sent} messages of 20 KB "
                            f"without reading")
    # The contract: inbound messages are read one at a time, so TCP pushes back on a client
    # that sends faster than the server answers (this one never takes an answer).
    assert (result.get("stalled") or result.get("closed")) and sent < 3000, (
        f"the server kept reading a client that never reads its answers: {sent} messages ({sent * 20} KB) "
        f"in {secs:.1f}s without the socket ever refusing data for 3 s (nothing pushed back)")
    assert srv.alive and http_get(srv.port, "/healthz")[0] == 200


# =========================================================================== 1. query budget / fairness

CATASTROPHIC = "(a+)+$"



def test_ping_flood_is_bounded_by_tcp(tailcast, workdir):
    """Every ping costs the server a pong. A client that sends pings as fast as it can and never
    reads is pushed back by TCP (the server reads only while its answers leave), its pongs stay
    bounded in memory, and everyone else is served."""
    log = workdir / "app.log"
    append_lines(log, ["seed"])
    srv = tailcast(sources=file_sources({"app": log}))
    srv.wait_seq("app", 1)
    pid = srv.proc.pid
    ping = b"p" * 125  # the largest control frame
    _flood(srv.port, ping, 100, 5, stall=1.0, opcode=0x9)  # warm-up
    wait_for(lambda: _connections_gauge(srv.port) == 0, 15, "the warm-up connection to go")
    base = rss_kb(pid)
    with RssSampler(pid) as rss:
        result = _flood(srv.port, ping, 1_000_000, 20, stall=2.0, opcode=0x9)
    rise_mib = (rss.max_kb - base) / 1024
    print(f"[test_trust] ping flood: {result}, VmRSS +{rise_mib:.1f} MiB")
    assert result["stalled"] or result["closed"], f"the server took {result['sent']} pings without their pongs being read"
    assert rise_mib <= 32, f"VmRSS rose by {rise_mib:.1f} MiB during a ping flood"
    c = run(ws_open(srv, {"source": "app", "n": 1}))
    assert c.hello["sources"] == ["app"]
    run(c.close())

def _healthz_within(port: int, bound: float) -> float:
    t0 = time.monotonic()
    try:
        st = http_get(port, "/healthz", timeout=bound)[0]
    except OSError as exc:
        raise AssertionError(f"/healthz did not answer within {bound}s: {exc!r}") from None
    dt = time.monotonic() - t0
    assert st == 200, f"/healthz answered {st}"
    assert dt < bound, f"/healthz took {dt:.2f}s"
    return dt


async def _hello_within(srv, bound: float, query: dict) -> float:
    t0 = time.monotonic()
    try:
        c = await asyncio.wait_for(WSClient.open(srv.ws_url(query), timeout=bound), bound)
    except (asyncio.TimeoutError, TimeoutError):
        raise AssertionError(f"a plain client did not get hello within {bound}s") from None
    dt = time.monotonic() - t0
    await c.close()
    return dt


def test_catastrophic_patterns_do_not_starve_the_server(tailcast, workdir):
    log = workdir / "big.log"
    with open(log, "w") as f:
        f.write(("a" * 40 + "!\n") * 100_000)
    srv = tailcast(sources=file_sources({"app": log}), defaults={"initial_lines": 100_000})
    srv.wait_seq("app", 100_000, timeout=30)
    pid = srv.proc.pid
    wait_cpu_idle(pid, within=10)                     # the initial load is done

    heavy = []
    health, hellos = [], []
    try:
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(upgrade_bytes(srv.port, "/ws?n=10&q=(a%2B)%2B%24"))
            heavy.append(s)
        t_end = time.monotonic() + 6.0                # bounded: ~6 s of probes
        k = 0
        while time.monotonic() < t_end:
            health.append(_healthz_within(srv.port, 1.0))
            if k % 4 == 0:
                hellos.append(run(_hello_within(srv, 2.0, {"n": 1})))
            k += 1
            time.sleep(0.2)
        used = proc_cpu_seconds(pid)
    finally:
        for s in heavy:
            rst_close(s)
    print(f"fairness: {len(health)} /healthz (max {max(health):.3f}s), {len(hellos)} hellos "
          f"(max {max(hellos):.3f}s), cpu {used:.1f}s")
    share = wait_cpu_idle(pid, within=5.0)
    print(f"fairness: idle again ({share:.3f} of a core)")
    srv.signal(signal.SIGTERM)
    try:
        srv.wait_exit(10)
    except subprocess.TimeoutExpired:
        raise AssertionError("tailcast did not exit within 10 s of SIGTERM after the heavy queries") from None


NOT_PATTERNS = [
    "(a+)+$", "(a|aa)+$", "(aa|a)+$", "(a|a)+$", "(a+a+)+$", "(?:a+)+$", "((a+)+)+$", "(a{1,})+$",
    "([a-z]+)+$", "(\\w+)+$", "(a+)+\\d", "(a|aa)+\\d", "(.*a){12}$", "(a+)+(b|c)$", "^X.*(a+)+$",
]


def test_expensive_not_patterns_do_not_delay_other_clients(tailcast, workdir):
    assert len(NOT_PATTERNS) == 15
    log = workdir / "app.log"
    append_lines(log, ["seed"])
    srv = tailcast(sources=file_sources({"app": log}))
    srv.wait_seq("app", 1)
    base = srv.sources()["app"]["seq"]
    rate, seconds = 5000, 3.0
    total = int(rate * seconds)
    tail = "a" * 30 + "!"                                 # a long run of a's, then no match for $
    written = threading.Event()

    def writer():
        batch = 50
        t0 = time.monotonic()
        i = 0
        try:
            with open(log, "a") as f:
                while i < total and time.monotonic() - t0 < seconds * 3:     # bounded in count and time
                    due = t0 + i / rate
                    if (d := due - time.monotonic()) > 0:
                        time.sleep(d)
                    now = time.monotonic()
                    f.write("".join(f"{'X' if j % 2 == 0 else 'Y'} {j} {now:.6f} {tail}\n"
                                    for j in range(i, min(total, i + batch))))
                    f.flush()
                    i += batch
        finally:
            written.set()

    async def body():
        plain = await ws_open(srv, {"source": "app"})
        filt = await ws_open(srv, [("q", "X"), ("source", "app")] + [("not", p) for p in NOT_PATTERNS])
        latencies: list[float] = []
        plain_seqs: set[int] = set()

        async def read_plain():
            deadline = time.monotonic() + seconds * 3 + 15
            while len(plain_seqs) < total and time.monotonic() < deadline:
                try:
                    msg = await plain.recv(max(0.05, deadline - time.monotonic()))
                except (asyncio.TimeoutError, TimeoutError):
                    break
                if msg is None:
                    break
                now = time.monotonic()
                if msg["type"] == "lines":
                    for l in msg["lines"]:
                        parts = l["text"].split(" ")
                        if len(parts) == 4 and parts[0] in ("X", "Y"):
                            latencies.append(now - float(parts[2]))
                            plain_seqs.add(l["seq"])

        expected = {base + 1 + j for j in range(0, total, 2)}

        def covered(c: WSClient) -> set[int]:
            got = {l["seq"] for l in c.lines if not l.get("context")}
            for d in c.of_type("dropped"):
                if d.get("source") == "app" and d.get("from_seq") is not None and d.get("to_seq") is not None:
                    got.update(range(d["from_seq"], d["to_seq"] + 1))
            return got

        async def read_filtered():
            # every matching line is received or reported dropped, within a bound after the writer
            while not written.is_set():
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await filt.recv(0.2)
                if filt.close_code is not None:
                    break
            with contextlib.suppress(AssertionError):
                await filt.until(lambda c: expected <= covered(c), 20, "coverage")

        t = threading.Thread(target=writer)
        t.start()
        try:
            await asyncio.gather(read_plain(), read_filtered())
        finally:
            t.join(seconds * 3 + 5)
        await plain.close()
        await filt.close()
        return latencies, plain_seqs, expected, covered(filt), filt

    latencies, plain_seqs, expected, got, filt = run(body())
    missing_plain = total - len(plain_seqs)
    lat = sorted(latencies)
    print(f"not-patterns: plain client {len(plain_seqs)}/{total} lines, latency max {lat[-1] if lat else -1:.3f}s "
          f"p99 {lat[int(len(lat) * 0.99)] if lat else -1:.3f}s; filtered covered "
          f"{len(expected & got)}/{len(expected)}, received {len(filt.lines)}, "
          f"dropped envelopes {len(filt.of_type('dropped'))}")
    assert missing_plain == 0, f"the plain client got {len(plain_seqs)} of {total} lines"
    assert max(latencies) < 2.0, f"a line took {max(latencies):.2f}s from write to the plain client"
    wrong = [l for l in filt.lines if not l.get("context") and not l["text"].startswith(("X", "seed"))]
    assert not wrong, f"the filtered client got lines that do not match q=X: {wrong[:3]}"
    missing = sorted(expected - got)
    assert not missing, (f"{len(missing)} matching lines neither received nor reported dropped within 20 s "
                         f"(first {missing[:5]}); {filt.summary()}")
    assert srv.alive and http_get(srv.port, "/healthz")[0] == 200


# =========================================================================== 11. journal filters in replay and context


def _interleaved_journal(tailcast):
    """A journal source with 200 entries of identifier A and 200 of B, alternating; A 100 is marked."""
    from journal_support import journal_send, unique_ident

    a, b = unique_ident("tctra"), unique_ident("tctrb")
    srv = tailcast(sources=[{"name": "journal", "kind": "journald", "identifiers": [a, b]}])
    mark = f"MARK{uuid.uuid4().hex[:8]}"
    for i in range(200):                                  # A0 B0 A1 B1 ... (journald keeps this order)
        journal_send({"MESSAGE": f"A {i}" + (f" {mark}" if i == 100 else ""), "SYSLOG_IDENTIFIER": a,
                      "PRIORITY": "6"})
        journal_send({"MESSAGE": f"B {i}", "SYSLOG_IDENTIFIER": b, "PRIORITY": "6"})
    srv.wait_seq("journal", 400, timeout=30)
    return srv, a, b, mark


def test_journal_replay_counts_only_entries_of_the_filter(tailcast, journald):
    srv, a, b, mark = _interleaved_journal(tailcast)

    async def go():
        c = await ws_open(srv, {"n": 50, "identifier": a})
        await c.until(lambda x: any(t == "A 199" for t in x.texts()), 10, "the last entry of A")
        await c.quiet(0.5)
        await c.close()
        want = [f"A {i}" for i in range(150, 200)]
        assert c.texts() == want, (f"n=50&identifier=A replayed {len(c.lines)} lines ({len(set(c.seqs()))} "
                                   f"distinct seqs): first {c.texts()[:2]}, last {c.texts()[-2:]}; "
                                   f"expected A 150 .. A 199 once each")
        assert all(l["fields"]["identifier"] == a for l in c.lines)
        # the same through a query message
        c = await ws_open(srv, {"source": "journal"})
        n0 = len(c.msgs)
        await c.send({"type": "query", "n": 50, "identifier": b})
        await c.next_of_type("hello", 10, start=n0)
        await c.until(lambda x: "B 199" in x.texts(), 10, "the last entry of B")
        await c.quiet(0.5)
        await c.close()
        assert c.texts() == [f"B {i}" for i in range(150, 200)], \
            f"query n=50&identifier=B: {len(c.lines)} lines, first {c.texts()[:3]}, last {c.texts()[-2:]}"
    run(go())


def test_journal_context_lines_respect_the_filter(tailcast, journald):
    srv, a, b, mark = _interleaved_journal(tailcast)

    async def go():
        c = await ws_open(srv, {"n": 10, "identifier": a, "q": mark, "C": 2})
        await c.until(lambda x: any(mark in t for t in x.texts()), 10, "the marked entry")
        await c.quiet(0.5)
        await c.close()
        got = [(l["text"], bool(l.get("context"))) for l in c.lines]
        idents = {l["fields"]["identifier"] for l in c.lines}
        assert idents == {a}, f"context lines of other identifiers: {got[:12]}"
        assert got == [("A 98", True), ("A 99", True), (f"A 100 {mark}", False), ("A 101", True), ("A 102", True)], \
            f"{len(got)} lines: {got[:12]}"
    run(go())


def test_source_globs_are_bounded_before_matching(tailcast, workdir):
    """A `source=` glob is matched against every known source (thousands on a viewer): one of
    unbounded length or shape is refused as bad_query naming `source`, on /ws and /api/lines,
    before any matching; a well-formed glob still selects."""
    log = workdir / "app.log"
    append_lines(log, ["seed"])
    srv = tailcast(sources=file_sources({"app": log}))
    srv.wait_seq("app", 1)
    for hostile in ["*a" * 5000 + "b", "a/b/*", "*/" + "x" * 65, "web-*/nginx;rm"]:
        err, code, _ = run(ws_error_then_close(srv, {"source": hostile}))
        assert err["code"] == "bad_query" and err["param"] == "source", err
        assert "source glob is at most two parts" in err["message"], err["message"]
        assert len(err["message"]) < 300, "the refused value is quoted cut short"
        assert code == 1008
        status, _, body = http_get(srv.port, "/api/lines?source=" + urllib.parse.quote(hostile))
        assert status == 400 and json.loads(body)["param"] == "source", body
    c = run(ws_open(srv, "source=a*&n=1"))
    assert c.hello["sources"] == ["app"]
    run(c.close())
