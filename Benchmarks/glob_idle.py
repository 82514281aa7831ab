#!/usr/bin/env python3
"""Idle cost and pick-up latency of a glob source over many files (issue 12).

Usage: python3 Benchmarks/glob_idle.py [--bin .build/release/tailcast] [--files 5000] [--idle 60] [--probes 20]

Creates FILES one-line files in a temporary directory, serves them as one glob source
(`DIR/*.log`), waits until every file's line is read, then:
  - idle CPU: utime+stime of the server from /proc/PID/stat over IDLE seconds with nothing
    written (percent of one core);
  - pick-up latency: PROBES times, creates a new matching file holding one line and measures the
    time until that line arrives on a WebSocket (milliseconds: median and max).
Needs the `websockets` package (the e2e venv has it). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

import websockets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def get(port: int, path: str):
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return json.loads(r.read())


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


async def probe_latency(port: int, logs: str, probes: int) -> list[float]:
    out = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None, proxy=None) as ws:
        await ws.recv()  # hello
        for i in range(probes):
            tag = f"probe-{i}-{time.monotonic_ns()}"
            path = os.path.join(logs, f"new-{i}.log")
            t0 = time.monotonic()
            with open(path, "w") as f:
                f.write(tag + "\n")
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if msg.get("type") == "lines" and any(l["text"] == tag for l in msg["lines"]):
                    out.append((time.monotonic() - t0) * 1000)
                    break
            await asyncio.sleep(0.2)  # spacing between probes, not a wait for a result
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/release/tailcast")
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--probes", type=int, default=20)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="tailcast-glob-")
    logs = os.path.join(work, "logs")
    os.mkdir(logs)
    for i in range(args.files):
        with open(os.path.join(logs, f"f{i:05d}.log"), "w") as f:
            f.write(f"file {i} first line\n")
    port = free_port()
    conf = os.path.join(work, "tailcast.toml")
    with open(conf, "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:{port}"\n\n[[source]]\nname = "glob"\nkind = "file"\n'
                f'path = "{logs}/*.log"\n')
    proc = subprocess.Popen([args.bin, "--config", conf, "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "stderr"), "w"))
    try:
        wait_for(lambda: any(s["name"] == "glob" and s["seq"] >= args.files for s in get(port, "/api/sources")),
                 120, f"{args.files} initial lines")
        time.sleep(5)  # let start-up work finish before measuring idle
        hz = os.sysconf("SC_CLK_TCK")
        t0, c0 = time.monotonic(), cpu_ticks(proc.pid)
        time.sleep(args.idle)
        t1, c1 = time.monotonic(), cpu_ticks(proc.pid)
        idle = (c1 - c0) / hz / (t1 - t0) * 100
        lat = asyncio.run(probe_latency(port, logs, args.probes))
        threads = len(os.listdir(f"/proc/{proc.pid}/task"))
        print(f"files={args.files} idle_seconds={t1 - t0:.1f} idle_cpu_percent={idle:.3f} "
              f"cpu_ticks={c1 - c0} (CLK_TCK={hz}) threads={threads}")
        print(f"pickup_ms median={statistics.median(lat):.1f} max={max(lat):.1f} "
              f"all={[round(x, 1) for x in lat]}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
