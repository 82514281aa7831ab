"""Fixtures and helpers for the journal-source end-to-end tests (test_journal.py).

- `journald` (session): makes sure a systemd-journald serves /run/systemd/journal; starts a
  standalone one (its own session) when none runs and stops it, by its PID, at the end.
- `journal_cat` writes entries through the real `systemd-cat`, `journal_stored` reads back what
  journald stored with the real `journalctl`.
- `export_stream` / `journal_remote_write` build a private journal directory with the real
  `systemd-journal-remote` from a journal export stream.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import pytest

from conftest import wait_for

JOURNALD = "/lib/systemd/systemd-journald"
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
JOURNAL_STDOUT = "/run/systemd/journal/stdout"
JOURNALD_START_DEADLINE = 15.0

PRIORITY_NAMES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]


# --------------------------------------------------------------------------- journald


def _journald_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0]
        except OSError:
            continue
        if os.path.basename(argv0) == b"systemd-journald":
            pids.append(int(entry))
    return pids


def _stream_socket_accepts() -> bool:
    """journald's stdout socket takes a connection (the socket is not a stale leftover)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1.0)
        s.connect(JOURNAL_STDOUT)
        return True
    except OSError:
        return False
    finally:
        s.close()


def _journald_ready() -> bool:
    return (os.path.exists(JOURNAL_SOCKET) and os.path.exists(JOURNAL_STDOUT)
            and bool(_journald_pids()) and _stream_socket_accepts())


@pytest.fixture(scope="session")
def journald(tmp_path_factory):
    """A running systemd-journald (reused when one runs; else started standalone, then stopped)."""
    for tool in (JOURNALD,):
        if not os.access(tool, os.X_OK):
            pytest.skip(f"{tool} is missing")
    for tool in ("systemd-cat", "journalctl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing")

    if os.path.exists(JOURNAL_SOCKET) and _journald_pids():
        wait_for(_journald_ready, JOURNALD_START_DEADLINE, "the running journald to accept streams")
        yield None
        return

    log = tmp_path_factory.mktemp("journald") / "journald.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([JOURNALD], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + JOURNALD_START_DEADLINE
        while not (os.path.exists(JOURNAL_SOCKET) and os.path.exists(JOURNAL_STDOUT)
                   and _stream_socket_accepts()):
            if proc.poll() is not None:
                pytest.fail(f"{JOURNALD} exited with {proc.returncode}: {log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail(f"{JOURNALD} did not create {JOURNAL_SOCKET} and {JOURNAL_STDOUT} "
                            f"within {JOURNALD_START_DEADLINE}s")
            time.sleep(0.05)
        yield proc.pid
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


# --------------------------------------------------------------------------- writing / reading


def unique_ident(prefix: str = "tcj") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def journal_cat(ident: str, lines: Iterable[str], priority: str | int = "info",
                timeout: float = 60.0) -> None:
    """Write `lines` as entries through ONE `systemd-cat -t ident -p priority` (its stdin).

    systemd-cat's level prefix is on: a line starting with `<N>` gets priority N.
    """
    data = "".join(line + "\n" for line in lines)
    res = subprocess.run(["systemd-cat", "-t", ident, "-p", str(priority)], input=data.encode(),
                         capture_output=True, timeout=timeout)
    assert res.returncode == 0, f"systemd-cat failed ({res.returncode}): {res.stderr!r}"


def journal_stored(ident: str, directory: str | None = None) -> list[str]:
    """MESSAGEs journald stored for SYSLOG_IDENTIFIER=ident, oldest first (journalctl -o cat)."""
    cmd = ["journalctl", "-t", ident, "-o", "cat", "--no-pager", "-q"]
    if directory:
        cmd += ["-D", directory]
    res = subprocess.run(cmd, capture_output=True, timeout=60)
    assert res.returncode in (0, 1), f"journalctl failed: {res.stderr!r}"
    out = res.stdout.decode("utf-8", errors="replace")
    return out.splitlines()


def journal_json(ident: str) -> list[dict]:
    """Every stored entry of SYSLOG_IDENTIFIER=ident with all its fields (journalctl -o json)."""
    res = subprocess.run(["journalctl", "-t", ident, "-o", "json", "--no-pager", "-q"],
                         capture_output=True, timeout=30)
    assert res.returncode in (0, 1), f"journalctl failed: {res.stderr!r}"
    return [json.loads(l) for l in res.stdout.decode().splitlines() if l.strip()]


def wait_stored(ident: str, last_message: str, expected: int, timeout: float = 30.0) -> list[str]:
    """Wait until journald has processed a stream that ended with `last_message`.

    Normally the last message shows up in journalctl (journald handles a stream in order, so
    everything before it is then stored or dropped). If journald rate-limited the tail away,
    wait instead until the stored count stays the same for a second.
    """
    deadline = time.monotonic() + timeout
    last_count, stable_since = -1, time.monotonic()
    while True:
        stored = journal_stored(ident)
        if stored and stored[-1] == last_message:
            return stored
        if len(stored) >= expected:
            return stored
        now = time.monotonic()
        if len(stored) != last_count:
            last_count, stable_since = len(stored), now
        elif stored and now - stable_since > 1.5:
            return stored
        if now > deadline:
            return stored
        time.sleep(0.1)


# --------------------------------------------------------------------------- export / journal-remote


def export_stream(entries: Iterable[dict]) -> bytes:
    """Journal export format: FIELD=value lines, a blank line after each entry."""
    out = bytearray()
    for e in entries:
        for k, v in e.items():
            v = str(v)
            assert "\n" not in v, "multi-line values need the binary form; not used here"
            out += f"{k}={v}\n".encode()
        out += b"\n"
    return bytes(out)


def journal_remote_write(output: Path, entries: list[dict], timeout: float = 30.0) -> None:
    """Write (or append) `entries` to the journal file `output` with systemd-journal-remote."""
    res = subprocess.run([JOURNAL_REMOTE, f"--output={output}", "--split-mode=none", "-"],
                         input=export_stream(entries), capture_output=True, timeout=timeout)
    assert res.returncode == 0, (f"systemd-journal-remote failed ({res.returncode}): "
                                 f"{res.stderr.decode(errors='replace')}")


def iso_from_usec(usec: int) -> datetime:
    return datetime.fromtimestamp(usec // 1_000_000, tz=timezone.utc).replace(microsecond=usec % 1_000_000)


def parse_ts(ts: str) -> datetime:
    assert ts.endswith("Z"), f"ts is not UTC with Z: {ts!r}"
    return datetime.fromisoformat(ts[:-1] + "+00:00")


class CatStream:
    """A long-lived `systemd-cat -t ident -p priority` fed line by line through its stdin.

    The writing process (`cat`, which systemd-cat runs) stays alive while journald handles the
    lines, so journald records its _PID/_COMM for every entry.
    """

    def __init__(self, ident: str, priority: str | int = "info"):
        self.ident = ident
        self.proc = subprocess.Popen(["systemd-cat", "-t", ident, "-p", str(priority)],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)

    def write(self, line: str) -> float:
        """Send one line; returns the monotonic time it was handed to the pipe."""
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return time.monotonic()

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "CatStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def journal_send(fields: dict) -> None:
    """Send one entry over journald's native protocol (/run/systemd/journal/socket) from this process."""
    data = bytearray()
    for k, v in fields.items():
        v = str(v).encode()
        if b"\n" in v:
            import struct
            data += k.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
        else:
            data += k.encode() + b"=" + v + b"\n"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(bytes(data), JOURNAL_SOCKET)
    finally:
        s.close()
