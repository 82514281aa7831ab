"""TLS: HTTPS and WSS with a certificate made by openssl in the test; SIGHUP loads a renewed
certificate for new connections while open ones keep theirs."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from conftest import self_signed_certificate, append_lines, run, wait_for


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


def _served_certificate(port: int) -> bytes:
    """The DER certificate a new TLS connection to the server is given (not verified)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)


def _der(pem_path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem_path.read_text())


def test_sighup_reloads_the_certificate_for_new_connections(tailcast, workdir: Path):
    (workdir / "old").mkdir()
    (workdir / "new").mkdir()
    old_cert, old_key = self_signed_certificate(workdir / "old")
    new_cert, new_key = self_signed_certificate(workdir / "new")
    live_cert, live_key = workdir / "live-cert.pem", workdir / "live-key.pem"
    shutil.copy(old_cert, live_cert)
    shutil.copy(old_key, live_key)
    log = workdir / "app.log"
    append_lines(log, ["before"])
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}], start=False)
    with open(srv.config_path, "a") as f:
        f.write(f'\n[tls]\ncert = "{live_cert}"\nkey = "{live_key}"\n')
    from conftest import BIN
    with open(srv.stderr_path, "ab") as err:
        srv.proc = subprocess.Popen([BIN, "--config", str(srv.config_path)], stdin=subprocess.DEVNULL,
                                    stdout=err, stderr=err)
    assert wait_for(lambda: _served_certificate(srv.port), 20, "the TLS listener") == _der(old_cert)

    async def scenario():
        old_ctx = ssl.create_default_context(cafile=str(old_cert))
        async with connect(f"wss://127.0.0.1:{srv.port}/ws?n=5", ssl=old_ctx, max_size=None) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello"
            # A renewal as certbot does it: new files in place, then SIGHUP.
            shutil.copy(new_key, live_key)
            shutil.copy(new_cert, live_cert)
            srv.signal(signal.SIGHUP)
            wait_for(lambda: _served_certificate(srv.port) == _der(new_cert), 10, "the new certificate on a new connection")
            # A client that trusts only the new certificate gets in.
            new_ctx = ssl.create_default_context(cafile=str(new_cert))
            async with connect(f"wss://127.0.0.1:{srv.port}/ws?n=1", ssl=new_ctx, max_size=None) as fresh:
                assert json.loads(await asyncio.wait_for(fresh.recv(), 10))["type"] == "hello"
            # The connection opened before the reload keeps its session and keeps receiving.
            append_lines(log, ["after the renewal"])
            deadline = time.monotonic() + 10
            texts: list[str] = []
            while "after the renewal" not in texts:
                msg = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
                texts += [l["text"] for l in msg.get("lines", [])]

    run(scenario())
    # A key that does not belong to the certificate (a renewal half done) is refused.
    shutil.copy(old_cert, live_cert)
    srv.signal(signal.SIGHUP)
    wait_for(lambda: f"{live_key} is not the private key of {live_cert}" in srv.stderr_text(), 10,
             "the mismatch in the log")
    assert _served_certificate(srv.port) == _der(new_cert)
    # A broken certificate is refused and the current one stays in force.
    live_cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    srv.signal(signal.SIGHUP)
    wait_for(lambda: "TLS reload refused" in srv.stderr_text(), 10, "the refusal in the log")
    assert str(live_cert) in srv.stderr_text()
    assert _served_certificate(srv.port) == _der(new_cert)
