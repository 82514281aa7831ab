"""permessage-deflate: bytes on the wire and server CPU per line, with it and without it,
side by side in one run against one server (release build).

    python3 Benchmarks/deflate.py .build/release/tailcast [LINES]

The log is typical access-log text (varied addresses, paths, statuses, user agents). The client
replays every line with `n` and counts them; the server's socket counters (ss) give the bytes
it sent and /proc gives its CPU time.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

import websockets

BIN = sys.argv[1]
LINES = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
PORT = 18000 + os.getpid() % 1000


def access_log(n: int) -> list[str]:
    rnd = random.Random(7)
    paths = ["/", "/api/v1/orders", "/api/v1/users/{}", "/static/app.{}.js", "/healthz", "/login", "/search?q={}"]
    agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
              "curl/7.88.1", "Prometheus/2.42.0", "Go-http-client/1.1"]
    out = []
    for i in range(n):
        ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}"
        path = rnd.choice(paths).format(rnd.randrange(100000))
        status = rnd.choice([200, 200, 200, 200, 304, 404, 500])
        out.append(f'{ip} - - [03/Dec/2026:10:{(i // 60) % 60:02d}:{i % 60:02d} +0000] "GET {path} HTTP/1.1" '
                   f'{status} {rnd.randrange(100, 90000)} "-" "{rnd.choice(agents)}" rt={rnd.random():.3f}')
    return out


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_bytes_sent() -> int:
    out = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{PORT} )"],
                         capture_output=True, text=True).stdout
    return sum(int(m) for m in re.findall(r"bytes_sent:(\d+)", out))


async def replay(compression) -> tuple[int, int, float, str]:
    async with websockets.connect(f"ws://127.0.0.1:{PORT}/ws?n={LINES}", compression=compression,
                                  max_size=None, ping_interval=None) as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions") or "none"
        got = 0
        t0 = time.monotonic()
        while got < LINES:
            m = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if m["type"] == "lines":
                got += len(m["lines"])
        return got, server_bytes_sent(), time.monotonic() - t0, ext


def main() -> None:
    d = tempfile.mkdtemp()
    log = os.path.join(d, "access.log")
    lines = access_log(LINES)
    with open(log, "w") as f:
        f.write("\n".join(lines) + "\n")
    raw = sum(len(l) + 1 for l in lines)
    with open(os.path.join(d, "c.toml"), "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:{PORT}"\n[defaults]\nring_lines = {LINES * 2}\n'
                f'ring_bytes = 1073741824\ninitial_lines = {LINES}\n'
                f'[[source]]\nname = "web"\nkind = "file"\npath = "{log}"\n')
    p = subprocess.Popen([BIN, "--config", os.path.join(d, "c.toml")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                import urllib.request
                if json.load(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/sources"))[0]["seq"] >= LINES:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        print(f"{LINES} access-log lines, {raw / LINES:.0f} bytes each on average ({raw / 1e6:.1f} MB of log)")
        print(f"{'client':<22} {'bytes on wire':>14} {'per line':>9} {'vs log':>7} {'server CPU µs/line':>19}")
        for name, comp in [("no compression", None), ("permessage-deflate", "deflate"),
                           ("no compression", None), ("permessage-deflate", "deflate")]:
            c0 = cpu_seconds(p.pid)
            got, sent, secs, ext = asyncio.run(replay(comp))
            c1 = cpu_seconds(p.pid)
            print(f"{name:<22} {sent:>14,} {sent / got:>9.1f} {sent / raw:>7.2f} {(c1 - c0) / got * 1e6:>19.2f}")
    finally:
        p.terminate()
        p.wait()


main()
