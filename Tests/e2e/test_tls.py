"""TLS: HTTPS and WSS with a certificate made by openssl in the test."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from conftest import self_signed_certificate, append_lines, run


def test_https_and_wss(tailcast, workdir: Path):
    cert, key = self_signed_certificate(workdir)
    log = workdir / "app.log"
    append_lines(log, ["secret line"])
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}], start=False)
    with open(srv.config_path, "a") as f:
        f.write(f'\n[tls]\ncert = "{cert}"\nkey = "{key}"\n')
    # The factory's start-up check speaks plain HTTP: start the process here and probe over TLS.
    from conftest import BIN
    proc = subprocess.Popen([BIN, "--config", str(srv.config_path)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv.proc = proc
    out = None
    for _ in range(100):
        p = subprocess.run(["curl", "-fsS", "--cacert", str(cert), f"https://127.0.0.1:{srv.port}/healthz"],
                           capture_output=True, text=True)
        if p.returncode == 0:
            out = p.stdout
            break
        asyncio.run(asyncio.sleep(0.1))
    assert out is not None and json.loads(out) == {"status": "ok"}
    plain = subprocess.run(["curl", "-sS", "-m", "3", f"http://127.0.0.1:{srv.port}/healthz"], capture_output=True, text=True)
    assert plain.returncode != 0 or "ok" not in plain.stdout, "plain HTTP must not be served on the TLS port"

    async def scenario():
        ctx = ssl.create_default_context(cafile=str(cert))
        async with connect(f"wss://127.0.0.1:{srv.port}/ws?n=1", ssl=ctx, max_size=None) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello"
            lines = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert lines["lines"][0]["text"] == "secret line"

    run(scenario())


def test_unreadable_certificate_is_one_clear_line(tailcast, workdir: Path):
    log = workdir / "app.log"
    append_lines(log, ["x"])
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}], start=False)
    with open(srv.config_path, "a") as f:
        f.write('\n[tls]\ncert = "/nonexistent/cert.pem"\nkey = "/nonexistent/key.pem"\n')
    from conftest import run_bin
    p = run_bin(["--config", str(srv.config_path)])
    assert p.returncode == 1
    assert "tls" in p.stderr and "/nonexistent/cert.pem" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
