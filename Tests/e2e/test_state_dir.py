"""Restart without loss: with state_dir, a file source keeps its epoch and numbering across a
restart and reads what was written while the server was down."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from conftest import append_lines, assert_continuous, run, wait_for, ws_open
from journal_support import journald  # noqa: F401 - fixture


def test_restart_with_state_dir_loses_and_repeats_nothing(tailcast, workdir: Path):
    log = workdir / "app.log"
    append_lines(log, ["before start"])
    state = workdir / "state"
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}], server={"state_dir": str(state)})
    received: list[dict] = []
    epoch = {}

    stop = threading.Event()
    written: list[str] = []

    def writer():
        i = 0
        while not stop.is_set() and i < 2000:
            line = f"during {i}"
            append_lines(log, [line])
            written.append(line)
            i += 1
            time.sleep(0.005)

    t = threading.Thread(target=writer)

    async def first_run():
        c = await ws_open(srv, "n=10")
        epoch["app"] = c.of_type("hello")[0]["epochs"]["app"]
        append_lines(log, [f"run1 {i}" for i in range(50)])
        await c.until(lambda c: "run1 49" in c.texts(), 10, "lines of the first run")
        # A writer keeps writing while the server is stopped (SIGTERM) and started again.
        t.start()
        await c.until(lambda c: len(written) > 50, 10, "the writer is running")
        srv.signal(15)
        code = await c.wait_closed(15)
        assert code == 1001
        received.extend(l for m in c.of_type("lines") for l in m["lines"])

    run(first_run())
    assert srv.wait_exit() == 0
    assert (state / "positions.json").exists()
    time.sleep(2)  # the server is down while the writer goes on
    srv.start()

    async def second_run():
        last = received[-1]["seq"]
        c = await ws_open(srv, f"since=app:{last}:{epoch['app']}")
        hello = c.of_type("hello")[0]
        assert hello["epochs"]["app"] == epoch["app"], "the epoch continues across the restart"
        stop.set()
        t.join()
        await c.until(lambda c: written[-1] in c.texts(), 20, "every line written during and after the restart")
        assert not c.of_type("dropped"), "nothing was lost"
        received.extend(l for m in c.of_type("lines") for l in m["lines"])
        await c.close()

    run(second_run())
    texts = [l["text"] for l in received]
    assert_continuous([l["seq"] for l in received])
    assert len(texts) == len(set(texts)), "nothing is repeated"
    for line in written:
        assert line in texts


def test_journal_source_resumes_from_its_saved_cursor(tailcast, workdir: Path, journald):
    from journal_support import journal_cat, unique_ident, wait_stored

    ident = unique_ident("tcstate")
    journal_cat(ident, ["seed"])
    wait_stored(ident, "seed", 1)
    state = workdir / "state"
    srv = tailcast(sources=[{"name": "journal", "kind": "journald", "identifiers": [ident]}],
                   server={"state_dir": str(state)})
    got: list[dict] = []
    epoch = {}

    async def first():
        c = await ws_open(srv, "n=5")
        epoch["j"] = c.of_type("hello")[0]["epochs"]["journal"]
        journal_cat(ident, [f"before {i}" for i in range(20)])
        await c.until(lambda c: "before 19" in c.texts(), 15, "entries before the stop")
        got.extend(l for m in c.of_type("lines") for l in m["lines"])
        await c.close()

    run(first())
    assert srv.stop() == 0
    assert (state / "journal-journal.json").exists()
    journal_cat(ident, [f"while down {i}" for i in range(10)])
    wait_stored(ident, "while down 9", 31)
    srv.start()

    async def second():
        c = await ws_open(srv, f"since=journal:{got[-1]['seq']}:{epoch['j']}")
        assert c.of_type("hello")[0]["epochs"]["journal"] == epoch["j"]
        await c.until(lambda c: "while down 9" in c.texts(), 15, "entries written while down")
        assert not c.of_type("dropped")
        got.extend(l for m in c.of_type("lines") for l in m["lines"])
        await c.close()

    run(second())
    texts = [l["text"] for l in got]
    assert texts == ["seed"] + [f"before {i}" for i in range(20)] + [f"while down {i}" for i in range(10)]
    assert_continuous([l["seq"] for l in got])
