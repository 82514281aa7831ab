"""SIGHUP reloads the config: added sources start, removed ones end with an event, and open
connections to unchanged sources are untouched; a bad config is refused with its line.
SIGHUP also reloads the tokens file: a revoked token's connections get `unauthorized` and
1008, the others carry on; a broken tokens file keeps the old tokens."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
import signal
from pathlib import Path

from conftest import append_lines, parse_prometheus, render_config, run, wait_for, ws_open


def _write(srv, sources):
    Path(srv.config_path).write_text(render_config(f"127.0.0.1:{srv.port}", None, None, sources))


def test_sighup_adds_and_removes_sources(tailcast, workdir: Path):
    logs = {n: workdir / f"{n}.log" for n in "abc"}
    for n, p in logs.items():
        append_lines(p, [f"{n} first"])
    src = lambda n: {"name": n, "kind": "file", "path": str(logs[n])}
    srv = tailcast(sources=[src("a"), src("b")])

    async def scenario():
        ca = await ws_open(srv, "source=a")
        cb = await ws_open(srv, "source=b")
        epoch_b = cb.of_type("hello")[0]["epochs"]["b"]
        _write(srv, [src("b"), src("c")])
        srv.signal(signal.SIGHUP)
        wait_for(lambda: sorted(srv.sources()) == ["b", "c"], 10, "sources after the reload")
        await ca.until(lambda c: "missing" in c.events("a"), 10, "removed source ends with an event")
        append_lines(logs["b"], ["b after reload"])
        await cb.until(lambda c: "b after reload" in c.texts(), 10, "unchanged source keeps delivering")
        assert not cb.of_type("dropped") and cb.close_code is None
        cc = await ws_open(srv, "source=c&n=5")
        await cc.until(lambda c: "c first" in c.texts(), 10, "added source delivers")
        # A bad config is refused and changes nothing.
        Path(srv.config_path).write_text("[[source]]\nname = \"x\"\nkind = \"bogus\"\n")
        srv.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in srv.stderr_text(), 10, "refusal logged")
        assert sorted(srv.sources()) == ["b", "c"]
        c2 = await ws_open(srv, "source=b")
        assert c2.of_type("hello")[0]["epochs"]["b"] == epoch_b
        for c in (ca, cb, cc, c2):
            await c.close()

    run(scenario())


# --------------------------------------------------------------------------- tokens on SIGHUP

GONE = "gone-" + "a" * 27          # revoked by the reload
KEPT = "kept-" + "b" * 27          # listed before and after
NEW = "new-" + "c" * 28            # added by the reload


def _tokens_server(tailcast, workdir: Path, tokens_text: str):
    log = workdir / "app.log"
    append_lines(log, ["app first"])
    tokens = workdir / "tokens"
    tokens.write_text(tokens_text)
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}], start=False)
    with open(srv.config_path, "a") as f:
        f.write(f'\n[auth]\ntokens_file = "{tokens}"\n')
    srv.start(wait_ready=False)
    wait_for(lambda: _status(srv, "/readyz", KEPT) == 200, 20, "/readyz to answer 200")
    return srv, log, tokens


def _status(srv, path: str, token: str | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_sighup_revokes_a_token_and_leaves_the_others_alone(tailcast, workdir: Path):
    srv, log, tokens = _tokens_server(tailcast, workdir, f"{GONE}\n{KEPT}\n")

    async def scenario():
        revoked = await ws_open(srv, {"token": GONE, "source": "app"})
        kept = await ws_open(srv, {"token": KEPT, "source": "app"})
        tokens.write_text(f"# {GONE} was leaked\n{KEPT}\n{NEW} app\n")
        srv.signal(signal.SIGHUP)
        code = await revoked.wait_closed(10)
        err = revoked.of_type("error")
        assert code == 1008 and err and err[0]["code"] == "unauthorized", revoked.summary()
        assert err[0]["param"] == "token" and "revoked" in err[0]["message"], err
        # The other connection carries on, untouched.
        append_lines(log, ["after the revocation"])
        await kept.until(lambda c: "after the revocation" in c.texts(), 10, "the kept token's lines")
        assert kept.close_code is None and not kept.of_type("error"), kept.summary()
        # The revoked token is refused everywhere; the new one works without a restart.
        assert _status(srv, "/api/sources", GONE) == 401
        assert _status(srv, "/api/sources", NEW) == 200
        fresh = await ws_open(srv, {"token": NEW, "n": "5"})
        await fresh.until(lambda c: "after the revocation" in c.texts(), 10, "the new token's replay")
        gone_again = await ws_open(srv, {"token": GONE}, expect_hello=False)
        assert await gone_again.wait_closed(10) == 1008
        assert gone_again.of_type("error")[0]["code"] == "unauthorized"
        for c in (kept, fresh):
            await c.close()

    run(scenario())
    assert "tokens reloaded" in srv.stderr_text()


def test_sighup_with_a_broken_tokens_file_keeps_the_old_tokens(tailcast, workdir: Path):
    srv, log, tokens = _tokens_server(tailcast, workdir, f"{GONE}\n{KEPT}\n")

    async def scenario():
        c = await ws_open(srv, {"token": GONE, "source": "app"})
        # Line 3 is too short to be a token: the whole file is refused.
        tokens.write_text(f"{KEPT}\n{NEW}\nshort\n")
        srv.signal(signal.SIGHUP)
        wait_for(lambda: f"{tokens}:3:" in srv.stderr_text(), 10, "the refusal with FILE:LINE in the log")
        assert "previous tokens stay in force" in srv.stderr_text()
        assert _status(srv, "/api/sources", GONE) == 200
        assert _status(srv, "/api/sources", NEW) == 401
        append_lines(log, ["still here"])
        await c.until(lambda c: "still here" in c.texts(), 10, "lines after the refused reload")
        assert c.close_code is None
        await c.close()

    run(scenario())


def test_sighup_revokes_an_api_lines_follow_stream(tailcast, workdir: Path):
    """A `curl -N …/api/lines?follow` with a revoked token ends with `unauthorized`; a stream
    with a kept token carries on."""
    srv, log, tokens = _tokens_server(tailcast, workdir, f"{GONE}\n{KEPT}\n")
    url = f"http://127.0.0.1:{srv.port}/api/lines?source=app&follow"
    revoked = subprocess.Popen(["curl", "-sSN", "-H", f"Authorization: Bearer {GONE}", url],
                               stdout=subprocess.PIPE, text=True)
    kept = subprocess.Popen(["curl", "-sSN", "-H", f"Authorization: Bearer {KEPT}", url],
                            stdout=subprocess.PIPE, text=True)
    try:
        # Both streams are open (each holds a connection) before the reload.
        def open_streams() -> float:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            try:
                conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {KEPT}"})
                return parse_prometheus(conn.getresponse().read().decode()).value("tailcast_connections")
            finally:
                conn.close()
        wait_for(lambda: open_streams() >= 2, 10, "both streams to be open")
        tokens.write_text(f"{KEPT}\n")
        srv.signal(signal.SIGHUP)
        out, _ = revoked.communicate(timeout=10)   # the server ends the revoked stream
        errors = [json.loads(l) for l in out.splitlines() if l.strip() and '"error"' in l]
        assert errors and errors[-1]["code"] == "unauthorized" and errors[-1]["param"] == "token", out
        append_lines(log, ["after the revocation"])
        line = ""
        deadline = time.monotonic() + 10
        while "after the revocation" not in line and time.monotonic() < deadline:
            line = kept.stdout.readline()
        assert "after the revocation" in line
        assert kept.poll() is None
    finally:
        for p in (revoked, kept):
            p.kill()
            p.wait()
