"""`make run` on a fresh machine: once the server listens, a person at a terminal is told the
URL to open, a curl to try and the config in use; a service or pipeline is not."""

from __future__ import annotations

import os
import pty
import re
import secrets
import select
import shlex
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from conftest import BIN, START_DEADLINE, STOP_DEADLINE, http_get, require_binary, wait_for


def _config(workdir: Path, extra: str = "") -> Path:
    log = workdir / "app.log"
    log.write_text("hello from the welcome test\n")
    cfg = workdir / "welcome.toml"
    cfg.write_text(f'[server]\nlisten = "127.0.0.1:0"\n\n[[source]]\nname = "app"\nkind = "file"\npath = "{log}"\n{extra}')
    return cfg


def _read_until(fd: int, done, deadline: float) -> str:
    out = b""
    while not done(out.decode(errors="replace")):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for the welcome text; got {out!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace").replace("\r\n", "\n")


def test_a_terminal_is_told_the_url_a_curl_and_the_config(workdir):
    require_binary()
    cfg = _config(workdir)
    master, slave = pty.openpty()
    err = open(workdir / "stderr", "wb")
    proc = subprocess.Popen([BIN, "--config", str(cfg)], stdin=subprocess.DEVNULL, stdout=slave, stderr=err, cwd=workdir)
    os.close(slave)
    try:
        text = _read_until(master, lambda t: "config:" in t and t.endswith("\n"), time.monotonic() + START_DEADLINE)
        lines = text.splitlines()
        assert len(lines) == 3, text
        url = re.search(r"open (http://127\.0\.0\.1:(\d+)/) in a browser", lines[0])
        assert url, text
        port = int(url.group(2))
        assert port != 0
        # The URL serves the UI, and the curl line, run as printed, answers with the sources.
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url.group(1), timeout=5) as resp:
            assert resp.status == 200 and b"<html" in resp.read().lower()
        curl = shlex.split(lines[1].strip())
        assert curl[0] == "curl"
        res = subprocess.run(curl, capture_output=True, text=True, timeout=10)
        assert res.returncode == 0, res.stderr
        assert '"name":"app"' in res.stdout
        assert lines[2] == f"config: {cfg} (1 source: app)"
        assert res.stderr == ""
        # Printed once: nothing more arrives while the server runs.
        assert http_get(port, "/healthz")[0] == 200
        ready, _, _ = select.select([master], [], [], 0.3)
        assert not ready or os.read(master, 4096) == b""
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STOP_DEADLINE) == 0
        os.close(master)
        err.close()


def test_not_a_terminal_gets_nothing_on_stdout(workdir, free_port):
    """Under systemd (stdout is the journal) or in a pipeline, stdout stays empty; the
    `listening` log line on stderr says where the server is."""
    require_binary()
    cfg = _config(workdir)
    proc = subprocess.Popen([BIN, "--config", str(cfg), "--listen", f"127.0.0.1:{free_port}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir)
    try:
        wait_for(lambda: http_get(free_port, "/readyz")[0] == 200, START_DEADLINE, "/readyz to answer 200")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=STOP_DEADLINE)
    assert proc.returncode == 0
    assert out == b""
    assert f"127.0.0.1:{free_port}".encode() in err and b"listening" in err


def test_with_auth_the_curl_carries_a_token_placeholder(workdir):
    """With [auth], the curl line has an Authorization header; with a real token from the
    tokens file in place of TOKEN it works as printed."""
    require_binary()
    token = secrets.token_hex(32)
    tokens = workdir / "tokens"
    tokens.write_text(f"{token}\n")
    cfg = _config(workdir, f'\n[auth]\ntokens_file = "{tokens}"\n')
    master, slave = pty.openpty()
    err = open(workdir / "stderr", "wb")
    proc = subprocess.Popen([BIN, "--config", str(cfg)], stdin=subprocess.DEVNULL, stdout=slave, stderr=err, cwd=workdir)
    os.close(slave)
    try:
        text = _read_until(master, lambda t: "config:" in t and t.endswith("\n"), time.monotonic() + START_DEADLINE)
        lines = text.splitlines()
        assert len(lines) == 4, text
        assert "-H 'Authorization: Bearer TOKEN'" in lines[1]
        assert lines[2] == f"  (TOKEN: a token from {tokens})"
        curl = shlex.split(lines[1].strip().replace("TOKEN", token))
        res = subprocess.run(curl, capture_output=True, text=True, timeout=10)
        assert res.returncode == 0, res.stderr
        assert '"name":"app"' in res.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STOP_DEADLINE) == 0
        os.close(master)
        err.close()
