"""Memory is a bound, not an estimate: the ring counts what its blocks really hold, and the
process grows by no more than the ring's bound plus a documented constant."""

from __future__ import annotations

from pathlib import Path

from conftest import append_lines, file_sources, wait_for

# docs/configuration.md, "What memory tailcast uses": beyond the rings' bounds, a process
# holds at most this much more for reading, building blocks and sending (one reader's buffer,
# the block being built, a frame per connection and the allocator's slack).
CONSTANT = 24 << 20
RING_BYTES = 8 << 20
LINE = "x" * 130


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_ring_bytes_and_rss_stay_within_the_bound_after_a_burst(tailcast, workdir: Path):
    log = workdir / "burst.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"burst": log}),
                   defaults={"ring_bytes": RING_BYTES, "ring_lines": 10_000_000})
    # Idle: the server has served a scrape and an API call, so their one-time costs are paid.
    srv.metrics()
    srv.sources()
    idle = rss_bytes(srv.proc.pid)

    total, chunk = 200_000, 20_000   # ~31 MB of text: about ten times what the ring may hold
    for start in range(0, total, chunk):
        append_lines(log, [f"{i:07d} {LINE}" for i in range(start + 1, start + chunk + 1)])
    srv.wait_seq("burst", total, timeout=60)

    m = srv.metrics()
    held = m.value("tailcast_ring_bytes", source="burst")
    lines = m.value("tailcast_ring_lines", source="burst")
    assert held <= RING_BYTES, f"the ring says it holds {held} bytes, over its bound {RING_BYTES}"
    # The bound is used, not undercut: a ring of whole blocks holds most of what it may.
    assert held >= RING_BYTES // 2, f"the ring holds only {held} of {RING_BYTES} bytes"
    assert lines > 10_000, f"only {lines} lines held"
    grown = rss_bytes(srv.proc.pid) - idle
    assert grown <= RING_BYTES + CONSTANT, (
        f"RSS grew by {grown >> 20} MiB after the burst; the bound is the ring's "
        f"{RING_BYTES >> 20} MiB plus {CONSTANT >> 20} MiB")


# docs/configuration.md, "Per connection": an open WebSocket with nothing to send is a channel
# handler with its query (about 12 KiB in a release build), not a task with its stack; zlib's
# state is made only when a frame is worth compressing. Generous for a debug build and the
# allocator's slack; the WebSocket layer of tasks took about 48 KiB.
IDLE_CONNECTION_BYTES = 24 << 10


def test_idle_websockets_cost_little_memory(tailcast, workdir: Path):
    import asyncio

    import websockets

    log = workdir / "app.log"
    append_lines(log, ["seed"])
    srv = tailcast(sources=file_sources({"app": log}), server={"max_connections": 2000,
                                                                "max_connections_per_address": 2000})
    srv.wait_seq("app", 1)
    url = f"ws://127.0.0.1:{srv.port}/ws?q=needle"

    async def open_many(n: int):
        conns = []
        for _ in range(n):
            # As a browser does: permessage-deflate offered (and agreed).
            ws = await websockets.connect(url, compression="deflate", ping_interval=None, max_queue=4)
            assert '"type":"hello"' in (await ws.recv()).replace(" ", "")
            conns.append(ws)
        return conns

    async def go():
        # The first connections pay one-time costs (the loops' buffers, the allocator's arenas).
        warm = await open_many(50)
        for ws in warm:
            await ws.close()
        await asyncio.sleep(0.5)
        before = rss_bytes(srv.proc.pid)
        n = 600
        conns = await open_many(n)
        await asyncio.sleep(0.5)
        per = (rss_bytes(srv.proc.pid) - before) / n
        for ws in conns:
            await ws.close()
        assert per <= IDLE_CONNECTION_BYTES, f"{per / 1024:.1f} KiB per idle WebSocket"
        return per

    per = asyncio.run(go())
    print(f"[test_memory] idle WebSocket: {per / 1024:.1f} KiB each")
