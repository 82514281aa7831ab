"""Glob file sources: one source whose lines come from every file that matches its path."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from conftest import append_lines, assert_continuous, run, wait_for, ws_open


def _glob_source(pattern: str, **extra) -> list[dict]:
    return [{"name": "web", "kind": "file", "path": pattern, **extra}]


def test_glob_follows_every_matching_file_with_one_seq(tailcast, workdir: Path):
    logs = workdir / "nginx"
    logs.mkdir()
    append_lines(logs / "a.log", ["old a"])
    append_lines(logs / "b.log", ["old b"])
    append_lines(logs / "skip.txt", ["not matched"])
    srv = tailcast(sources=_glob_source(str(logs / "*.log")), defaults={"rotate_wait_ms": 300})

    async def scenario():
        c = await ws_open(srv, "n=10")
        await c.until(lambda c: len(c.texts()) >= 2, 10, "initial lines of both files")
        append_lines(logs / "a.log", ["new a"])
        append_lines(logs / "b.log", ["new b"])
        append_lines(logs / "skip.txt", ["still not matched"])
        # A file that starts to match is followed from its start.
        append_lines(logs / "c.log", ["first c", "second c"])
        await c.until(lambda c: {"new a", "new b", "first c", "second c"} <= set(c.texts()), 10, "new lines")
        lines = [l for m in c.of_type("lines") for l in m["lines"]]
        assert all("file" in l for l in lines)
        by_text = {l["text"]: l["file"] for l in lines}
        assert by_text["new a"] == str(logs / "a.log")
        assert by_text["first c"] == str(logs / "c.log")
        assert "still not matched" not in c.texts()
        assert_continuous(c.seqs())
        # A file that goes away ends with an event.
        os.unlink(logs / "b.log")
        await c.until(lambda c: "missing" in c.events(), 10, "missing event for b.log")
        await c.close()

    run(scenario())
    assert srv.sources()["web"]["state"] == "following"


def test_glob_with_double_star_and_rotation_reads_nothing_twice(tailcast, workdir: Path):
    root = workdir / "srv"
    (root / "one").mkdir(parents=True)
    append_lines(root / "one" / "app.log", ["start"])
    srv = tailcast(sources=_glob_source(str(root / "**" / "app.log*")), defaults={"rotate_wait_ms": 300})

    async def scenario():
        c = await ws_open(srv)
        append_lines(root / "one" / "app.log", ["before rotation"])
        await c.until(lambda c: "before rotation" in c.texts(), 10, "line before rotation")
        # Rename+create: app.log.1 matches the glob too, but it is the file already followed.
        os.rename(root / "one" / "app.log", root / "one" / "app.log.1")
        append_lines(root / "one" / "app.log", ["after rotation"])
        (root / "two" / "deep").mkdir(parents=True)
        append_lines(root / "two" / "deep" / "app.log", ["deep file"])
        await c.until(lambda c: {"after rotation", "deep file"} <= set(c.texts()), 10, "lines after rotation")
        time.sleep(0.5)  # let a rescan see app.log.1 (it must not be read again)
        await c.quiet(0.5)
        texts = c.texts()
        assert texts.count("before rotation") == 1
        assert texts.count("start") == 0
        assert_continuous(c.seqs())
        await c.close()

    run(scenario())


def test_glob_that_matches_nothing_yet_is_waiting(tailcast, workdir: Path):
    logs = workdir / "later"
    logs.mkdir()
    srv = tailcast(sources=_glob_source(str(logs / "*.log")), wait_ready=False)
    wait_for(lambda: srv.sources()["web"]["state"] == "waiting", 10, "waiting state")
    status, _ = srv.get_json("/readyz")
    assert status == 503

    async def scenario():
        c = await ws_open(srv)
        append_lines(logs / "x.log", ["hello"])
        await c.until(lambda c: "hello" in c.texts(), 10, "line of the first matching file")
        await c.close()

    run(scenario())
    wait_for(lambda: srv.get_json("/readyz")[0] == 200, 10, "ready once a file matches")
