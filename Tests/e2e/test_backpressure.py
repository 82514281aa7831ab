"""Slow consumers, the connection limit and /metrics."""

from __future__ import annotations

import asyncio
import time

import pytest

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


@pytest.mark.slow
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
        c = await ws_open(srv, "q=^(a+)+$")
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
