"""tail -F behaviour: rotation with the real logrotate, truncation, deletion, late files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (
    append_lines,
    assert_continuous,
    file_sources,
    run,
    wait_for,
    ws_open,
)

LOGROTATE = "/usr/sbin/logrotate"


class Logrotate:
    """The real logrotate with a private config and state file; -f forces each run."""

    def __init__(self, workdir: Path, path: Path):
        self.workdir = workdir
        self.path = path
        self.state = workdir / "logrotate.state"
        self.runs = 0

    def rotate(self, mode: str) -> None:
        assert mode in ("create", "copytruncate")
        conf = self.workdir / f"logrotate-{mode}.conf"
        conf.write_text(f'"{self.path}" {{\n    rotate 1000\n    {mode}\n    missingok\n    nocompress\n}}\n')
        res = subprocess.run([LOGROTATE, "-f", "-s", str(self.state), str(conf)],
                             capture_output=True, text=True, timeout=20)
        assert res.returncode == 0, f"logrotate failed: {res.stdout}{res.stderr}"
        self.runs += 1


@pytest.fixture
def rotate_log(workdir):
    if not os.access(LOGROTATE, os.X_OK):
        pytest.fail(f"{LOGROTATE} is required")
    log = workdir / "app.log"
    log.write_text("")
    return log, Logrotate(workdir, log)


def _no_extra_lines(msgs):
    return not [m for m in msgs if m["type"] == "lines"]


def test_logrotate_create_while_watching(tailcast, rotate_log):
    log, lr = rotate_log
    srv = tailcast(sources=file_sources({"app": log}), defaults={"rotate_wait_ms": 1000})

    async def go():
        c = await ws_open(srv)
        first = [f"before rotation {i}" for i in range(200)]
        second = [f"after rotation {i}" for i in range(200)]
        append_lines(log, first)
        lr.rotate("create")  # at once: the old file may still hold unread lines
        assert (log.parent / "app.log.1").exists() and log.stat().st_size == 0
        append_lines(log, second)
        await c.until(lambda c: len(c.lines) >= 400 and "rotated" in c.events("app"), 15,
                      "400 lines and a rotated event")
        extra = await c.quiet(0.3)
        await c.close()
        assert _no_extra_lines(extra)
        assert c.texts() == first + second
        assert_continuous(c.seqs(), first=1)
        assert c.events("app").count("rotated") == 1
        assert "truncated" not in c.events("app")

    run(go())


def test_logrotate_copytruncate_while_watching(tailcast, rotate_log):
    log, lr = rotate_log
    srv = tailcast(sources=file_sources({"app": log}), defaults={"rotate_wait_ms": 1000})

    async def go():
        c = await ws_open(srv)
        first = [f"before copytruncate {i}" for i in range(200)]
        second = [f"after copytruncate {i}" for i in range(200)]
        append_lines(log, first)
        await c.lines_until(200)
        lr.rotate("copytruncate")
        assert log.stat().st_size == 0
        await c.until(lambda c: "truncated" in c.events("app"), 10, "a truncated event")
        append_lines(log, second)
        await c.lines_until(400)
        extra = await c.quiet(0.3)
        await c.close()
        assert _no_extra_lines(extra)
        assert c.texts() == first + second
        assert_continuous(c.seqs(), first=1)

    run(go())


@pytest.mark.parametrize("how", ["empty-then-write", "overwrite-shorter"])
def test_truncate_in_place(tailcast, workdir, how):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv)
        append_lines(log, [f"long original line number {i}" for i in range(10)])
        await c.lines_until(10)
        if how == "empty-then-write":
            open(log, "w").close()
            await c.until(lambda c: "truncated" in c.events("app"), 10, "a truncated event")
            append_lines(log, ["new 1", "new 2"])
            want = ["new 1", "new 2"]
        else:  # echo x > file
            with open(log, "w") as f:
                f.write("x\n")
            want = ["x"]
        await c.until(lambda c: len(c.lines) >= 10 + len(want) and "truncated" in c.events("app"),
                      10, "new lines and a truncated event")
        extra = await c.quiet(0.3)
        await c.close()
        assert _no_extra_lines(extra)
        assert c.texts()[10:] == want
        assert_continuous(c.seqs(), first=1)

    run(go())


def test_delete_then_recreate(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), defaults={"rotate_wait_ms": 200})

    async def go():
        c = await ws_open(srv)
        append_lines(log, ["one", "two", "three"])
        await c.lines_until(3)
        log.unlink()
        await c.until(lambda c: "missing" in c.events("app"), 10, "a missing event")
        status, body = srv.get_json("/readyz")
        assert status == 503 and body["sources"]["app"]["state"] == "waiting", body
        assert srv.sources()["app"]["state"] == "waiting"
        append_lines(log, ["back 1", "back 2"])
        await c.until(lambda c: len(c.lines) >= 5 and "reopened" in c.events("app"), 10,
                      "a reopened event and the new lines")
        await c.close()
        assert c.texts() == ["one", "two", "three", "back 1", "back 2"]
        assert_continuous(c.seqs(), first=1)
        ev = c.events("app")
        assert ev.index("missing") < ev.index("reopened")
        wait_for(lambda: srv.get("/readyz")[0] == 200, 10, "/readyz 200 after the file is back")

    run(go())


@pytest.mark.parametrize("missing", ["file", "directory"])
def test_source_created_later(tailcast, workdir, missing):
    d = workdir / "later" if missing == "directory" else workdir
    log = d / "app.log"
    srv = tailcast(sources=file_sources({"app": log}), defaults={"rotate_wait_ms": 200}, wait_ready=False)

    async def go():
        c = await ws_open(srv)
        status, body = srv.get_json("/readyz")
        assert status == 503 and body["sources"]["app"]["state"] == "waiting", body
        d.mkdir(exist_ok=True)
        append_lines(log, ["first", "second", "third"])
        await c.lines_until(3)
        append_lines(log, ["fourth"])
        await c.lines_until(4)
        await c.close()
        assert c.texts() == ["first", "second", "third", "fourth"]
        assert_continuous(c.seqs(), first=1)
        wait_for(lambda: srv.get("/readyz")[0] == 200, 10, "/readyz 200 once the file exists")
        assert srv.sources()["app"]["state"] == "following"

    run(go())


def test_twenty_rotations_under_load_lose_nothing(tailcast, rotate_log):
    """5 000 lines/s through 20 rename+create rotations: every line exactly once, in order."""
    log, lr = rotate_log
    srv = tailcast(sources=file_sources({"app": log}), defaults={"rotate_wait_ms": 1000})
    rate, rotations, period = 5000, 20, 0.6
    lock = threading.Lock()
    stop = threading.Event()
    written: list[str] = []

    def writer():
        t0 = time.monotonic()
        while not stop.is_set():
            due = int((time.monotonic() - t0) * rate)
            if due > len(written):
                batch = [f"{i:08d} load line with some padding text" for i in range(len(written), due)]
                with lock:  # like an app that reopens its log on the postrotate signal
                    append_lines(log, batch)
                written.extend(batch)
            time.sleep(0.005)

    def rotator():
        for _ in range(rotations):
            time.sleep(period)  # pacing the rotations, not waiting for a result
            with lock:
                lr.rotate("create")

    async def go():
        c = await ws_open(srv)
        th = threading.Thread(target=writer, daemon=True)
        th.start()
        try:
            rot = asyncio.create_task(asyncio.to_thread(rotator))
            while not rot.done():  # keep reading while the rotations run
                await c.quiet(0.2)
            await rot
        finally:
            stop.set()
            th.join(10)
        total = len(written)
        assert total >= rate * rotations * period * 0.8
        try:
            await c.until(lambda c: len(c.lines) >= total, 40, f"{total} lines")
        except AssertionError:
            got = c.texts()
            missing = sorted(set(written) - set(got))
            raise AssertionError(f"{len(got)} of {total} lines arrived; {len(missing)} missing, first "
                                 f"missing {missing[:3]}; events {c.events('app')[:40]}") from None
        await c.until(lambda c: c.events("app").count("rotated") >= rotations, 5, "20 rotated events")
        extra = await c.quiet(0.3)
        await c.close()
        assert _no_extra_lines(extra)
        assert not c.of_type("dropped"), c.of_type("dropped")[:3]
        got = c.texts()
        if got != written:
            dup = len(got) - len(set(got))
            missing = len(set(written) - set(got))
            first_diff = next(i for i, (a, b) in enumerate(zip(got + [None] * len(written), written)) if a != b)
            raise AssertionError(f"{len(got)} lines received for {total} written: {missing} missing, "
                                 f"{dup} duplicated, first difference at index {first_diff}")
        assert_continuous(c.seqs(), first=1)
        assert c.events("app").count("rotated") == rotations

    run(go())


def test_writer_reopens_late_after_rotation(tailcast, rotate_log):
    """An app that keeps writing to the renamed file for a moment (until its postrotate
    signal) and only then reopens: lines written to the old file within rotate_wait
    still arrive, each exactly once."""
    log, lr = rotate_log
    srv = tailcast(sources=file_sources({"app": log}), defaults={"rotate_wait_ms": 1000})

    async def go():
        c = await ws_open(srv)
        old_before = [f"old before {i}" for i in range(100)]
        old_after = [f"old after rename {i}" for i in range(100)]
        new = [f"new file {i}" for i in range(100)]
        f = open(log, "a")
        f.write("".join(l + "\n" for l in old_before))
        f.flush()
        lr.rotate("create")
        for i in range(0, 100, 10):  # 0.2 s of writing into the renamed file
            f.write("".join(l + "\n" for l in old_after[i:i + 10]))
            f.flush()
            await c.quiet(0.02)
        f.close()
        append_lines(log, new)
        await c.until(lambda c: len(c.lines) >= 300, 15, "300 lines")
        extra = await c.quiet(0.3)
        await c.close()
        assert not [m for m in extra if m["type"] == "lines"]
        got = c.texts()
        assert sorted(got) == sorted(old_before + old_after + new), "every line exactly once"
        old = [t for t in got if t.startswith("old")]
        assert old == old_before + old_after, "the old file in order"
        assert [t for t in got if t.startswith("new")] == new
        assert_continuous(c.seqs(), first=1)
        assert "rotated" in c.events("app")

    run(go())


def test_file_replaced_by_rename(tailcast, workdir):
    """Atomic replace (write a temp file, mv it over the log): a `rotated` event, and the
    new file's lines arrive after the old file's."""
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), defaults={"rotate_wait_ms": 200})

    async def go():
        c = await ws_open(srv)
        append_lines(log, [f"first {i}" for i in range(10)])
        tmp = workdir / "app.log.tmp"
        append_lines(tmp, ["replaced 1", "replaced 2"])
        os.replace(tmp, log)
        await c.until(lambda c: len(c.lines) >= 12 and "rotated" in c.events("app"), 10,
                      "12 lines and a rotated event")
        append_lines(log, ["replaced 3"])
        await c.lines_until(13)
        await c.close()
        assert c.texts() == [f"first {i}" for i in range(10)] + ["replaced 1", "replaced 2", "replaced 3"]
        assert_continuous(c.seqs(), first=1)

    run(go())


def test_path_that_is_a_directory_is_an_error_until_fixed(tailcast, workdir):
    log = workdir / "app.log"
    log.mkdir()
    srv = tailcast(sources=file_sources({"app": log}), defaults={"rotate_wait_ms": 200}, wait_ready=False)

    def not_following():
        status, body = srv.get_json("/readyz")
        return (status, body) if body["sources"]["app"].get("error") else None
    status, body = wait_for(not_following, 10, "an error message for a directory")
    assert status == 503 and body["status"] == "degraded"
    state = body["sources"]["app"]["state"]

    async def go():
        c = await ws_open(srv)
        log.rmdir()
        append_lines(log, ["fixed 1", "fixed 2"])
        await c.lines_until(2)
        await c.close()
        assert c.texts() == ["fixed 1", "fixed 2"]
        wait_for(lambda: srv.get("/readyz")[0] == 200, 10, "/readyz 200 once the path is a file")

    run(go())
    # `waiting` means "the path is not there"; a directory is there but cannot be read as a log
    assert state == "error", f"a directory at the path is reported as {state!r}"
