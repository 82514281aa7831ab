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
