"""Slow consumers, the connection limit and /metrics."""

from __future__ import annotations

import asyncio
import subprocess
import time

from conftest import (
    RawWS,
    append_lines,
    assert_continuous,
    file_sources,
    run,
    wait_for,
    ws_open,
)

PAD = "x" * 120

FAMILIES = [
    "tailcast_source_lines_read_total",
    "tailcast_source_bytes_read_total",
    "tailcast_lines_sent_total",
    "tailcast_lines_dropped_total",
    "tailcast_frames_sent_total",
    "tailcast_bytes_sent_total",
    "tailcast_connections",
    "tailcast_ring_lines",
    "tailcast_pattern_limit_hits_total",
]


async def write_paced_by(client, log, total: int, chunk: int = 500, timeout: float = 120.0) -> None:
    """Write `total` numbered lines, never letting `client` fall more than `chunk` lines behind.

    This keeps the *normal* client fast by construction, so any loss it sees is the server's.
    """
    deadline = time.monotonic() + timeout
    written = 0
    while written < total:
        n = min(chunk, total - written)
        append_lines(log, [f"{i:07d} backpressure line {PAD}" for i in range(written + 1, written + n + 1)])
        written += n
        await client.until(lambda c: len(c.lines) >= written - chunk, max(0.1, deadline - time.monotonic()),
                           f"the normal client to reach {written - chunk} lines")


def check_exact_coverage(msgs: list[dict], last_seq: int) -> int:
    """Lines and dropped ranges must tile 1..last_seq exactly. Returns the number of lines dropped."""
    expected, dropped = 1, 0
    for m in msgs:
        if m["type"] == "lines":
            for l in m["lines"]:
                assert l["seq"] == expected, f"seq {l['seq']} where {expected} was due (no dropped before it)"
                assert l["text"] == f"{expected:07d} backpressure line {PAD}"
                expected += 1
        elif m["type"] == "dropped":
            assert m["reason"] == "slow_consumer" and m["source"] == "app", m
            assert m["from_seq"] == expected, f"dropped starts at {m['from_seq']}, next unseen seq is {expected}"
            assert m["to_seq"] >= m["from_seq"], m
            assert m["count"] == m["to_seq"] - m["from_seq"] + 1, m
            dropped += m["count"]
            expected = m["to_seq"] + 1
    assert expected == last_seq + 1, f"stream ended before seq {last_seq} (next due {expected})"
    return dropped


def test_stalled_client_gets_exact_dropped_range(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    total = 200_000
    srv = tailcast(sources=file_sources({"app": log}), defaults={"ring_lines": 2000},
                   server={"heartbeat_ms": 60000, "write_timeout_ms": 120000})

    async def go():
        normal = await ws_open(srv)
        stalled = RawWS(srv.port, "/ws", rcvbuf=4096)
        hello = stalled.recv(10)
        assert hello and hello["type"] == "hello"
        # the stalled client now reads nothing while the source races ahead
        await write_paced_by(normal, log, total)
        await normal.until(lambda c: len(c.lines) >= total, 30, f"{total} lines on the normal client")
        assert not normal.of_type("dropped"), normal.of_type("dropped")[:3]
        assert_continuous(normal.seqs(), first=1)
        assert normal.texts()[-1] == f"{total:07d} backpressure line {PAD}"

        m = srv.metrics()
        assert m.value("tailcast_ring_lines", source="app") <= 2000

        # the stalled client reads again
        msgs = []
        deadline = time.monotonic() + 60
        last = 0
        while last < total:
            left = deadline - time.monotonic()
            assert left > 0, f"stalled client stopped at seq {last}"
            msg = await asyncio.to_thread(stalled.recv, left)
            assert msg is not None, f"stalled client was closed ({stalled.close_code}) at seq {last}"
            msgs.append(msg)
            if msg["type"] == "lines":
                last = msg["lines"][-1]["seq"]
            elif msg["type"] == "dropped":
                last = msg["to_seq"]
        stalled.close()
        await normal.close()
        drops = [x for x in msgs if x["type"] == "dropped"]
        assert drops, "the stalled client must be told what it lost"
        lost = check_exact_coverage(msgs, total)
        assert lost > 0
        metric = srv.metrics().get("tailcast_lines_dropped_total", source="app", reason="slow_consumer")
        assert metric == lost, f"tailcast_lines_dropped_total{{slow_consumer}} = {metric}, client lost {lost}"

    run(go())


def test_slow_consumer_disconnect_mode(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    total = 60_000
    srv = tailcast(sources=file_sources({"app": log}), defaults={"ring_lines": 2000},
                   server={"heartbeat_ms": 60000, "write_timeout_ms": 120000, "slow_consumer": "disconnect"})

    async def go():
        normal = await ws_open(srv)
        stalled = RawWS(srv.port, "/ws", rcvbuf=4096)
        assert stalled.recv(10)["type"] == "hello"
        await write_paced_by(normal, log, total)
        await normal.until(lambda c: len(c.lines) >= total, 30, f"{total} lines")
        assert not normal.of_type("dropped")
        assert_continuous(normal.seqs(), first=1)
        msgs = []
        deadline = time.monotonic() + 30
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "the slow consumer was not closed"
            msg = await asyncio.to_thread(stalled.recv, left)
            if msg is None:
                break
            msgs.append(msg)
        stalled.close()
        assert stalled.close_code == 1013
        seqs = [l["seq"] for m in msgs if m["type"] == "lines" for l in m["lines"]]
        if seqs:
            assert_continuous(seqs, first=1)
        assert (seqs[-1] if seqs else 0) < total, "it was closed, so it cannot have had everything"
        assert normal.close_code is None
        await normal.close()

    run(go())


def test_connection_limit(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), server={"max_connections": 2})

    async def go():
        c1 = await ws_open(srv)
        c2 = await ws_open(srv)
        c3 = await ws_open(srv, expect_hello=False)
        err = await c3.next_of_type("error")
        assert err["code"] == "too_many_connections"
        assert await c3.wait_closed() == 1013
        assert not c3.of_type("hello")
        assert srv.get("/healthz")[0] == 200  # plain HTTP is not limited
        append_lines(log, ["for both"])
        for c in (c1, c2):
            await c.lines_until(1)
            assert c.texts() == ["for both"]
        await c1.close()

        # once one has gone, a new one is let in
        async def try_connect():
            c = await ws_open(srv, expect_hello=False)
            first = await c.recv(5)
            if first and first["type"] == "hello":
                return c
            await c.wait_closed()
            return None

        deadline = time.monotonic() + 10
        while (c4 := await try_connect()) is None:
            assert time.monotonic() < deadline, "a slot did not free up after a close"
            await asyncio.sleep(0.05)
        await c4.close()
        await c2.close()

    run(go())


def test_metrics(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, [f"pre {i}" for i in range(5)])
    srv = tailcast(sources=file_sources({"app": log}))
    status, headers, body = srv.get("/metrics")
    assert status == 200
    assert headers.get("content-type", "").startswith("text/plain")
    m0 = srv.metrics()
    for fam in FAMILIES:
        assert m0.has_family(fam), f"/metrics lacks {fam}"
    assert m0.value("tailcast_source_lines_read_total", source="app") == 5
    assert m0.value("tailcast_source_bytes_read_total", source="app") == log.stat().st_size
    assert m0.value("tailcast_ring_lines", source="app") == 5
    assert m0.value("tailcast_connections") == 0

    async def go():
        sent0 = m0.get("tailcast_lines_sent_total", source="app") or 0
        frames0 = m0.value("tailcast_frames_sent_total")
        bytes0 = m0.value("tailcast_bytes_sent_total")
        c = await ws_open(srv)
        wait_for(lambda: srv.metrics().value("tailcast_connections") == 1, 5, "tailcast_connections 1")
        new = [f"new line {i}" for i in range(10)]
        append_lines(log, new)
        await c.lines_until(10)

        def settled():
            m = srv.metrics()
            return m if (m.value("tailcast_source_lines_read_total", source="app") == 15
                         and m.get("tailcast_lines_sent_total", source="app") == sent0 + 10) else None
        m1 = wait_for(settled, 5, "lines read 15 and lines sent +10")
        assert m1.value("tailcast_source_bytes_read_total", source="app") == log.stat().st_size
        assert m1.value("tailcast_ring_lines", source="app") == 15
        assert m1.value("tailcast_frames_sent_total") >= frames0 + 2  # hello + at least one lines frame
        assert m1.value("tailcast_bytes_sent_total") >= bytes0 + sum(len(t) for t in new)
        await c.close()
        wait_for(lambda: srv.metrics().value("tailcast_connections") == 0, 5, "tailcast_connections 0")

    run(go())


def test_pattern_limit_does_not_stall_the_server(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv, {"q": "^(a+)+$"})
        other = await ws_open(srv)
        t0 = time.monotonic()
        append_lines(log, ["a" * 40 + "!", "aaa"])
        await c.lines_until(1, 10)
        await other.lines_until(2, 10)
        assert time.monotonic() - t0 < 10
        assert c.texts() == ["aaa"] and c.seqs() == [2]
        hits = srv.metrics().value("tailcast_pattern_limit_hits_total")
        assert hits >= 1
        await c.close()
        await other.close()

    run(go())


def test_write_timeout_closes_stuck_peer(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    total = 40_000  # ~10 MB of frames: more than the socket buffers can hold
    srv = tailcast(sources=file_sources({"app": log}),
                   server={"heartbeat_ms": 60000, "write_timeout_ms": 500})

    async def go():
        normal = await ws_open(srv)
        stuck = RawWS(srv.port, "/ws", rcvbuf=4096)
        assert stuck.recv(10)["type"] == "hello"
        wait_for(lambda: srv.metrics().value("tailcast_connections") == 2, 5, "2 connections")
        await write_paced_by(normal, log, total)
        await normal.until(lambda c: len(c.lines) >= total, 30, f"{total} lines")
        assert not normal.of_type("dropped")
        # the stuck peer is closed by the server; the other one is not
        wait_for(lambda: srv.metrics().value("tailcast_connections") == 1, 10,
                 "the stuck connection to be closed (write_timeout_ms = 500)")
        got = 0
        deadline = time.monotonic() + 20
        while (msg := await asyncio.to_thread(stuck.recv, max(0.1, deadline - time.monotonic()))) is not None:
            if msg["type"] == "lines":
                got = msg["lines"][-1]["seq"]
        stuck.close()
        assert got < total
        assert normal.close_code is None
        await normal.close()

    run(go())


def test_sigterm_with_a_stuck_peer_still_exits(tailcast, workdir):
    """A peer whose receive window is full must not keep the server from shutting down."""
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}),
                   server={"heartbeat_ms": 60000, "write_timeout_ms": 120000})

    async def go():
        normal = await ws_open(srv)
        stuck = RawWS(srv.port, "/ws", rcvbuf=4096)
        assert stuck.recv(10)["type"] == "hello"
        await write_paced_by(normal, log, 40_000)
        await normal.until(lambda c: len(c.lines) >= 40_000, 30, "40000 lines")
        srv.signal(15)
        assert await normal.wait_closed(10) == 1001
        try:
            rc = await asyncio.to_thread(srv.wait_exit, 10)
        except subprocess.TimeoutExpired:
            raise AssertionError("still running 10 s after SIGTERM: a peer that reads nothing "
                                 "holds up the shutdown") from None
        assert rc == 0, f"exit code {rc}"
        stuck.close()

    run(go())


def test_ring_bounds_and_per_source_override(tailcast, workdir):
    a, b = workdir / "a.log", workdir / "b.log"
    a.write_text("")
    b.write_text("")
    srv = tailcast(sources=[{"name": "a", "kind": "file", "path": str(a), "ring_lines": 50},
                            {"name": "b", "kind": "file", "path": str(b)}],
                   defaults={"ring_bytes": 65536})
    line = "r" * 95  # ~100 bytes a line
    append_lines(a, [f"{i:04d}{line}" for i in range(1, 2001)])
    append_lines(b, [f"{i:04d}{line}" for i in range(1, 2001)])
    srv.wait_seq("a", 2000)
    srv.wait_seq("b", 2000)
    m = srv.metrics()
    held_a = m.value("tailcast_ring_lines", source="a")
    held_b = m.value("tailcast_ring_lines", source="b")
    assert 0 < held_a <= 50
    assert 0 < held_b <= 655, f"ring_bytes = 65536 holds at most 655 lines of 100 bytes, holds {held_b}"

    async def go():
        c = await ws_open(srv, "n=2000")
        await c.until(lambda c: c.seqs("a")[-1:] == [2000] and c.seqs("b")[-1:] == [2000], 10, "both replays")
        extra = await c.quiet(0.3)
        await c.close()
        assert not [x for x in extra if x["type"] == "lines"]
        assert not c.of_type("dropped"), "n never reports a loss"
        assert len(c.seqs("a")) == held_a and len(c.seqs("b")) == held_b
        assert_continuous(c.seqs("a"))
        assert_continuous(c.seqs("b"))

    run(go())


def test_fan_out_reads_the_source_once(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    clients_n, total = 20, 5000

    async def go():
        clients = [await ws_open(srv) for _ in range(clients_n)]
        wait_for(lambda: srv.metrics().value("tailcast_connections") == clients_n, 5, "20 connections")
        sent0 = srv.metrics().get("tailcast_lines_sent_total", source="app") or 0
        append_lines(log, [f"{i:07d} backpressure line {PAD}" for i in range(1, total + 1)])
        await asyncio.gather(*(c.lines_until(total, 30) for c in clients))
        for c in clients:
            assert_continuous(c.seqs(), first=1)
            assert len(c.lines) == total and not c.of_type("dropped")
        m = wait_for(lambda: (lambda m: m if m.get("tailcast_lines_sent_total", source="app") == sent0 + clients_n * total
                                          else None)(srv.metrics()), 5, "lines_sent_total to settle")
        assert m.value("tailcast_source_lines_read_total", source="app") == total
        for c in clients:
            await c.close()

    run(go())
