"""A crowd of clients resuming at once from lines older than a viewer's buffer: the read-backs
from the stream queue for a few threads (not a thread each), and every client gets its lines
exactly once, with no loss reported."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from conftest import run, ws_open
from nats_support import bus, viewer_past_its_ring  # noqa: F401 - `bus` is a fixture

CLIENTS = 40


def thread_count(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads: line")


class PeakThreads(threading.Thread):
    """Samples a process's thread count every 5 ms until stopped (bounded: 60 s)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, thread_count(pid), threading.Event()

    def run(self) -> None:
        for _ in range(12_000):
            if self.done.wait(0.005):
                return
            self.peak = max(self.peak, thread_count(self.pid))


def test_many_clients_resuming_before_the_ring_each_get_every_line(bus):
    async def scenario():
        viewer, epoch = await viewer_past_its_ring(bus)
        threads_before = thread_count(viewer.proc.pid)
        sampler = PeakThreads(viewer.proc.pid)
        sampler.start()
        try:
            clients = await asyncio.gather(
                *(ws_open(viewer, f"since=web-1/app:{10 + k}:{epoch}") for k in range(CLIENTS)))
            await asyncio.gather(*(c.until(lambda c: "line 400" in c.texts(), 30, "line 400") for c in clients))
        finally:
            sampler.done.set()
            sampler.join(5)
        peak = sampler.peak
        for c in clients:
            await c.quiet(0.2)
            await c.close()
        return clients, threads_before, peak

    clients, before, peak = run(scenario())
    for k, c in enumerate(clients):
        assert not c.of_type("dropped"), f"client {k}: {c.of_type('dropped')}"
        assert c.seqs() == list(range(11 + k, 401)), f"client {k}: {c.seqs()[:3]}...{c.seqs()[-3:]}"
    # At most 4 read-back threads at once, whatever the crowd.
    assert peak - before <= 8, f"threads {before} -> {peak} while {CLIENTS} clients read back"
