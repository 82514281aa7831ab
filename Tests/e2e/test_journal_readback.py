"""A journal source answers `since` beyond its ring by reading the journal itself: entries that
left the ring come back with the seq they had (no gap, no duplicate) and only entries journald
no longer holds are reported, as an exact `dropped` `evicted` range.

Journals are private directories written by the real systemd-journal-remote.
"""

from __future__ import annotations

import os
import time

import pytest

from conftest import run, ws_open
from journal_support import JOURNAL_REMOTE, journal_remote_write

ENTRIES = 1000
RING = 100


def _entries(start: int, count: int, base_usec: int) -> list[dict]:
    return [{
        "__REALTIME_TIMESTAMP": base_usec + i * 1000,
        "MESSAGE": f"readback entry {i:04d}",
        "_SYSTEMD_UNIT": "demo.service",
        "SYSLOG_IDENTIFIER": "demo",
        "PRIORITY": 6,
    } for i in range(start, start + count)]


def _server(tailcast, jdir):
    srv = tailcast(sources=[{"name": "journal", "kind": "journald", "directory": str(jdir),
                             "initial_lines": 10_000, "ring_lines": RING}])
    srv.wait_seq("journal", ENTRIES, 20.0)
    return srv


@pytest.fixture
def remote():
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        pytest.skip(f"{JOURNAL_REMOTE} is missing (package systemd-journal-remote)")


def _dropped(c) -> list[dict]:
    return [m for m in c.msgs if m["type"] == "dropped"]


def test_since_older_than_the_ring_is_read_back(tailcast, workdir, remote):
    jdir = workdir / "journal"
    jdir.mkdir()
    base = (int(time.time()) - 3600) * 1_000_000
    entries = _entries(0, ENTRIES, base)
    journal_remote_write(jdir / "remote.journal", entries)
    srv = _server(tailcast, jdir)
    live = _entries(ENTRIES, 5, base)

    async def body():
        probe = await ws_open(srv, {"n": 1})
        epoch = probe.hello["epochs"]["journal"]
        await probe.close()
        c = await ws_open(srv, f"since=journal:50:{epoch}")
        await c.until(lambda x: len(x.lines) >= ENTRIES - 50, 20.0, "entries 51…1000")
        # Then it follows live, with no gap.
        journal_remote_write(jdir / "remote.journal", live)
        await c.until(lambda x: len(x.lines) >= ENTRIES - 50 + len(live), 10.0, "the live entries")
        await c.quiet(0.3)
        await c.close()
        return c

    c = run(body())
    assert _dropped(c) == [], _dropped(c)
    assert c.seqs() == list(range(51, ENTRIES + len(live) + 1)), c.seqs()[:5]
    assert c.texts() == [e["MESSAGE"] for e in (entries + live)[50:]]
    # Read-back lines carry the same fields as live ones.
    old, recent = c.lines[0], c.lines[-1]
    assert old["fields"].keys() == recent["fields"].keys(), (old, recent)
    assert old["fields"]["unit"] == "demo.service" and old["fields"]["cursor"]


def test_since_older_than_the_journal_gets_an_exact_evicted_range(tailcast, workdir, remote):
    jdir = workdir / "journal"
    jdir.mkdir()
    base = (int(time.time()) - 3600) * 1_000_000
    first, second = _entries(0, 500, base), _entries(500, 500, base)
    journal_remote_write(jdir / "a.journal", first)
    journal_remote_write(jdir / "b.journal", second)
    srv = _server(tailcast, jdir)
    # "Vacuum": journald deletes its oldest file; entries 1…500 are gone.
    (jdir / "a.journal").unlink()

    async def body():
        probe = await ws_open(srv, {"n": 1})
        epoch = probe.hello["epochs"]["journal"]
        await probe.close()
        c = await ws_open(srv, f"since=journal:10:{epoch}")
        await c.until(lambda x: len(x.lines) >= 500, 20.0, "entries 501…1000")
        await c.quiet(0.3)
        await c.close()
        return c

    c = run(body())
    dropped = _dropped(c)
    assert len(dropped) == 1, dropped
    assert (dropped[0]["reason"], dropped[0]["from_seq"], dropped[0]["to_seq"], dropped[0]["count"]) == \
        ("evicted", 11, 500, 490), dropped
    assert c.msgs.index(dropped[0]) < next(i for i, m in enumerate(c.msgs) if m["type"] == "lines")
    assert c.seqs() == list(range(501, 1001))
    assert c.texts() == [e["MESSAGE"] for e in second]


def test_read_back_of_many_blocks_with_a_journal_filter(tailcast, workdir, remote):
    """5 000 entries, a ring of 100: the read-back spans more blocks than its hand-off holds;
    two clients read back at once, one with a journal filter that the read-back lines pass
    through like live ones."""
    total = 5000
    jdir = workdir / "journal"
    jdir.mkdir()
    base = (int(time.time()) - 3600) * 1_000_000
    entries = _entries(0, total, base)
    for i, e in enumerate(entries):
        e["_SYSTEMD_UNIT"] = "demo.service" if i % 3 == 0 else "other.service"
    journal_remote_write(jdir / "remote.journal", entries)
    srv = tailcast(sources=[{"name": "journal", "kind": "journald", "directory": str(jdir),
                             "initial_lines": 10_000, "ring_lines": RING}])
    srv.wait_seq("journal", total, 20.0)
    demo = [(i + 1, e["MESSAGE"]) for i, e in enumerate(entries) if i % 3 == 0 and i + 1 > 100]

    async def body():
        probe = await ws_open(srv, {"n": 1})
        epoch = probe.hello["epochs"]["journal"]
        await probe.close()
        everything = await ws_open(srv, f"since=journal:0:{epoch}")
        filtered = await ws_open(srv, f"since=journal:100:{epoch}&unit=demo.service")
        await everything.until(lambda x: len(x.lines) >= total, 30.0, "every entry")
        await filtered.until(lambda x: len(x.lines) >= len(demo), 30.0, "the demo.service entries")
        await everything.quiet(0.2)
        for c in (everything, filtered):
            await c.close()
        return everything, filtered

    everything, filtered = run(body())
    assert _dropped(everything) == [] and _dropped(filtered) == []
    assert everything.seqs() == list(range(1, total + 1))
    assert everything.texts() == [e["MESSAGE"] for e in entries]
    assert list(zip(filtered.seqs(), filtered.texts())) == demo


def test_from_older_than_the_ring_is_read_back(tailcast, workdir, remote):
    """`from=TIME` before the ring's oldest entry: the entries at or after TIME come back from
    the journal with the seq they had, then the ring; nothing is reported lost."""
    jdir = workdir / "journal"
    jdir.mkdir()
    base = (int(time.time()) - 3600) * 1_000_000
    entries = _entries(0, ENTRIES, base)
    journal_remote_write(jdir / "remote.journal", entries)
    srv = _server(tailcast, jdir)
    start = base + 300 * 1000  # entry 300's realtime, to the microsecond
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start // 1_000_000)) + f".{start % 1_000_000:06d}Z"

    async def body():
        c = await ws_open(srv, {"from": stamp})
        await c.until(lambda x: len(x.lines) >= ENTRIES - 300, 20.0, "entries 300…999")
        await c.quiet(0.3)
        await c.close()
        return c

    c = run(body())
    assert _dropped(c) == [], _dropped(c)
    assert c.seqs() == list(range(301, ENTRIES + 1)), c.seqs()[:5]
    assert c.texts() == [e["MESSAGE"] for e in entries[300:]]
