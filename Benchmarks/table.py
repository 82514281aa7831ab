#!/usr/bin/env python3
"""Issue 11's table: tailcast beside websocketd (+ `tail -F | grep`) and tailon 1.4.3, same run.

Every scenario starts a fresh server, a separate writer process (`tailcast-bench write`, lines
stamped with CLOCK_MONOTONIC) and a separate client process (`tailcast-bench load` or `idle`).
Each row is measured RUNS times (3; BENCH_QUICK=1 gives 1) and the table shows medians, the
target and whether tailcast met it. Raw result lines go to stdout as they come.

Usage: python3 Benchmarks/table.py [--runs N] [--rows burst,stall,lat1k,lat10k,fanout,idle,journal]
Env: BIN (tailcast), BENCH (tailcast-bench), TAILON_PY (python of the venv holding tailon).
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BIN", os.path.join(ROOT, ".build/release/tailcast"))
BENCH = os.environ.get("BENCH", os.path.join(ROOT, ".build/release/tailcast-bench"))
TAILON_PY = os.environ.get("TAILON_PY", os.path.join(ROOT, ".bench-venv/bin/python"))
MIB = 1024 * 1024
RING_HOLDS_BYTES = 40_000_000  # the "~40 MB for 100 000 lines of 150 B"
ALL_ROWS = ["burst", "stall", "lat1k", "lat10k", "fanout", "idle", "journal"]


def log(text):
    print(text, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def http_ok(url):
    with urllib.request.urlopen(url, timeout=1) as r:
        return r.status == 200


def port_open(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


# --- /proc ---------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_table():
    """{pid: (ppid, cpu_ticks, rss_pages)} for every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        out[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21]))
    return out


def tree(table, root):
    pids, todo = {root}, [root]
    while todo:
        p = todo.pop()
        for pid, (ppid, _, _) in table.items():
            if ppid == p and pid not in pids:
                pids.add(pid)
                todo.append(pid)
    return pids


class TreeSampler:
    """Samples a server's process tree every 0.2 s: peak RSS of the main process and of the
    tree (children such as tail and grep included), and CPU of the whole tree over the window."""

    def __init__(self, pid):
        self.pid, self.stop_flag = pid, threading.Event()
        self.peak_rss, self.peak_tree_rss = 0, 0
        self.first_cpu, self.last_cpu = {}, {}
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def sample(self):
        table = proc_table()
        if self.pid not in table:
            return
        total = 0
        for p in tree(table, self.pid):
            _, cpu, rss = table[p]
            total += rss * self.page
            self.first_cpu.setdefault(p, cpu if p == self.pid else 0)
            self.last_cpu[p] = cpu
        self.peak_rss = max(self.peak_rss, table[self.pid][2] * self.page)
        self.peak_tree_rss = max(self.peak_tree_rss, total)

    def loop(self):
        while not self.stop_flag.wait(0.2):
            self.sample()

    def __enter__(self):
        self.sample()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join()
        self.sample()

    @property
    def tree_cpu_s(self):
        return sum(self.last_cpu[p] - self.first_cpu[p] for p in self.last_cpu) / CLK_TCK


# --- servers -------------------------------------------------------------------------------

class Server:
    """One server under test in its own session, so stop() ends it and every child it started."""

    def __init__(self, kind, path, work):
        self.kind, self.path, self.work = kind, path, work
        port = free_port()
        self.port = port
        err = open(os.path.join(work, f"{kind}-{port}.err"), "w")
        if kind == "tailcast":
            cfg = os.path.join(work, f"tailcast-{port}.toml")
            with open(cfg, "w") as f:
                f.write(f'[server]\nlisten = "127.0.0.1:{port}"\nmax_connections = 20000\n'
                        f'max_connections_per_address = 20000\n'
                        f'[[source]]\nname = "bench"\nkind = "file"\npath = "{path}"\n')
            argv = [BIN, "--config", cfg, "--log-level", "error"]
            self.url = f"ws://127.0.0.1:{port}/ws"
            ready = lambda: http_ok(f"http://127.0.0.1:{port}/healthz")  # noqa: E731
        elif kind == "websocketd":
            argv = ["websocketd", "--address=127.0.0.1", f"--port={port}", "--loglevel=error",
                    "--passenv=BENCH_FILE", os.path.join(ROOT, "Benchmarks/websocketd-tail.sh")]
            self.url = f"ws://127.0.0.1:{port}/"
            ready = lambda: port_open(port)  # noqa: E731
        else:
            argv = [TAILON_PY, os.path.join(ROOT, "Benchmarks/tailon_run.py"), "-b", f"127.0.0.1:{port}", "-f", path]
            self.url = f"ws://127.0.0.1:{port}/ws/websocket"
            ready = lambda: http_ok(f"http://127.0.0.1:{port}/files")  # noqa: E731
        env = dict(os.environ, BENCH_FILE=path)
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
        self.pid = self.proc.pid
        wait_until(ready, 20, kind + " to listen")

    def ring_bytes(self):
        if self.kind != "tailcast":
            return None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("tailcast_ring_bytes{") or line.startswith("tailcast_ring_bytes "):
                        return float(line.split()[-1])
        except OSError:
            return None
        return None

    def stop(self):
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                # Children of the group (tail, grep) may outlive the leader for a moment.
                time.sleep(0.1)
                os.killpg(self.pid, signal.SIGKILL)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        self.proc.wait()


def parse_kv(text):
    out = {}
    for key, value in re.findall(r"(\w+)=([-\d.]+)", text):
        out.setdefault(key, float(value))
    return out


def run_tool(argv, timeout):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    return r.stdout.strip()


PEER_QUERY = {"tailcast": "q=TAG&F", "websocketd": "tag=TAG", "tailon": "TAG"}


def load(server, label, lines, rate, clients=1, tags=100, filtered=False, settle_ms=300, timeout=150):
    """One `tailcast-bench load` run against `server`; returns its numbers plus the tree's."""
    argv = [BENCH, "load", "--peer", server.kind, "--url", server.url, "--file", server.path,
            "--lines", str(lines), "--rate", str(rate), "--clients", str(clients), "--tags", str(tags),
            "--settle-ms", str(settle_ms), "--server-pid", str(server.pid), "--timeout", str(timeout),
            "--label", f"{server.kind} {label}"]
    if filtered:
        argv += ["--query", PEER_QUERY[server.kind]]
    with TreeSampler(server.pid) as t:
        out = run_tool(argv, timeout + 30)
    r = parse_kv(out)
    r["tree_peak_rss_mib"] = t.peak_tree_rss / MIB
    r["tree_cpu_s"] = t.tree_cpu_s
    r["tree_cpu_s_per_M_lines"] = t.tree_cpu_s / max(1, r.get("written", lines)) * 1e6
    r["missing"] = r.get("written", lines) * clients / (tags if filtered else 1) - r.get("received", 0) - r.get("dropped", 0)
    log(out + f" tree_peak_rss_mib={r['tree_peak_rss_mib']:.1f} tree_cpu_s={t.tree_cpu_s:.2f}")
    return r


def fresh_file(work):
    fd, path = tempfile.mkstemp(suffix=".log", dir=work)
    os.close(fd)
    return path


def with_server(kind, work, body):
    path = fresh_file(work)
    server = Server(kind, path, work)
    try:
        return body(server)
    finally:
        server.stop()
        os.unlink(path)  # a 3 M-line burst is 450 MB


# --- scenarios -----------------------------------------------------------------------------

def scenario_burst(work, peers):
    """3 M lines written as fast as possible to one client, default ring: peak RSS and lines/s."""
    out = {}
    for kind in ["tailcast"] + peers:
        out[kind] = with_server(kind, work, lambda s: load(s, "burst 3M", 3_000_000, 0, timeout=240))
    return out


def scenario_stall(work, peers):
    """One client that another process stops (SIGSTOP) while 150 000 lines arrive at 10 000/s."""
    out = {}
    for kind in ["tailcast"] + peers:
        def body(server):
            client = subprocess.Popen([BENCH, "load", "--peer", server.kind, "--url", server.url, "--file", server.path,
                                       "--no-write", "--clients", "1", "--timeout", "90", "--label", "stalled"],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                line = client.stdout.readline()
                if not line.startswith("connected=1"):
                    raise RuntimeError(f"stalled client for {kind} did not connect: {line!r}")
                client.send_signal(signal.SIGSTOP)
                time.sleep(0.5)
                before = proc_status_kib(server.pid, "VmRSS") * 1024
                with TreeSampler(server.pid) as t:
                    tree_before = t.peak_tree_rss
                    t.peak_rss = 0
                    written = run_tool([BENCH, "write", "--file", server.path, "--lines", "150000", "--rate", "10000",
                                        "--timeout", "30"], 60)
                    time.sleep(0.5)
                ring = server.ring_bytes()
            finally:
                client.kill()
                client.wait()
            r = {"rss_before_mib": before / MIB, "growth_mb": (t.peak_rss - before) / 1e6,
                 "tree_growth_mb": (t.peak_tree_rss - tree_before) / 1e6, "written": parse_kv(written)["written"]}
            if ring is not None:
                r["ring_bytes_mb"] = ring / 1e6
            log(f"{kind} stall 15 s: " + " ".join(f"{k}={v:.1f}" for k, v in r.items()))
            return r
        out[kind] = with_server(kind, work, body)
    return out


def scenario_lat(work, peers, rate, lines):
    out = {}
    for kind in ["tailcast"] + peers:
        out[kind] = with_server(kind, work, lambda s: load(s, f"{rate}/s", lines, rate, timeout=lines // rate + 60))
    return out


def scenario_fanout(work, peers):
    """100 clients, each keeping 10 % of the lines (10 tags), 10 000 lines/s; then 1 000 (tailcast)."""
    out = {}
    for kind in ["tailcast"] + peers:
        settle = 300 if kind == "tailcast" else 6000  # peers start tail (+ grep) per client
        out[kind] = with_server(kind, work, lambda s: load(s, "100 clients 10%", 60_000, 10_000, clients=100, tags=10,
                                                           filtered=True, settle_ms=settle, timeout=120))
    out["tailcast-1000"] = with_server("tailcast", work, lambda s: load(s, "1000 clients 10%", 50_000, 10_000, clients=1000,
                                                                        tags=10, filtered=True, settle_ms=1000, timeout=120))
    return out


def scenario_idle(work, peers):
    def body(server):
        text = run_tool([BENCH, "idle", "--url", server.url, "--connections", "2000", "--server-pid", str(server.pid)], 200)
        log(text)
        return parse_kv(text)
    return {"tailcast": with_server("tailcast", work, body)}


def scenario_journal(work, peers):
    # A journal directory of its own (made once, kept between runs), so that other work with
    # journal.sh's default directory cannot rewrite it under this run.
    env = dict(os.environ, JOURNAL_DIR=os.environ.get("JOURNAL_DIR", "/tmp/tailcast-table-journal"))
    r = subprocess.run(["bash", os.path.join(ROOT, "Benchmarks/journal.sh")], capture_output=True, text=True, timeout=900, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"journal.sh failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    text = r.stdout.strip()
    log(text)
    out = {}
    for line in text.splitlines():
        # | reader | entries | seconds | entries/s |  (the reader cell may hold an escaped `\|`)
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and all(re.fullmatch(r"[\d.]+", c) for c in cells[-3:]):
            who = "journalctl" if cells[0].startswith("journalctl") else "tailcast"
            out[who] = {"entries": float(cells[-3]), "seconds": float(cells[-2])}
    if "tailcast" not in out:  # journal.sh skips when systemd-journal-remote is missing
        out = {}
    return out


# --- the table -----------------------------------------------------------------------------

def med(results, kind, key):
    values = [r[kind][key] for r in results if kind in r and key in r[kind]]
    return statistics.median(values) if values else None


def fmt(v, unit="", digits=1):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}".replace(",", " ") + unit


def verdict(ok):
    if ok is None:
        return "n/a"
    return "met" if ok else "**missed**"


def table(res, runs):
    rows = []
    b = res.get("burst")
    if b:
        tc = med(b, "tailcast", "peak_rss_mib")
        rows.append(("peak RSS (VmHWM) during a 3 M-line burst to 1 client, default ring", fmt(tc, " MiB"),
                     f"websocketd {fmt(med(b, 'websocketd', 'peak_rss_mib'), ' MiB')} (tree {fmt(med(b, 'websocketd', 'tree_peak_rss_mib'), ' MiB')}), "
                     f"tailon {fmt(med(b, 'tailon', 'peak_rss_mib'), ' MiB')} (tree {fmt(med(b, 'tailon', 'tree_peak_rss_mib'), ' MiB')})",
                     "≤ 128 MiB", verdict(None if tc is None else tc <= 128)))
    s = res.get("stall")
    if s:
        tc = med(s, "tailcast", "growth_mb")
        ring = med(s, "tailcast", "ring_bytes_mb")
        rows.append(("RSS growth while one client stalls (SIGSTOP) for 15 s at 10 000 lines/s",
                     fmt(tc, " MB", 1) + (f" (ring's own count {fmt(ring, ' MB')})" if ring is not None else ""),
                     f"websocketd {fmt(med(s, 'websocketd', 'growth_mb'), ' MB')} (tree {fmt(med(s, 'websocketd', 'tree_growth_mb'), ' MB')}), "
                     f"tailon {fmt(med(s, 'tailon', 'growth_mb'), ' MB')} (tree {fmt(med(s, 'tailon', 'tree_growth_mb'), ' MB')})",
                     "≤ 40 MB (what 100 000 lines of 150 B hold)", verdict(None if tc is None else tc * 1e6 <= RING_HOLDS_BYTES)))
    l1 = res.get("lat1k")
    if l1:
        tc, wd = med(l1, "tailcast", "p99_ms"), med(l1, "websocketd", "p99_ms")
        tcc, wdc = med(l1, "tailcast", "tree_cpu_s_per_M_lines"), med(l1, "websocketd", "tree_cpu_s_per_M_lines")
        wdp = med(l1, "websocketd", "cpu_s_per_M_lines")
        ok = None if None in (tc, wd, tcc, wdc) else (tc <= wd and tcc <= wdc)
        rows.append(("p99 write→receive at 1 000 lines/s, 1 client; server CPU s per M lines",
                     f"{fmt(tc, ' ms', 3)}; {fmt(tcc, ' CPU s', 0)}",
                     f"websocketd {fmt(wd, ' ms', 3)}; {fmt(wdc, ' CPU s', 0)} with tail+grep ({fmt(wdp, '', 0)} websocketd alone)",
                     "≤ websocketd's (both)", verdict(ok)))
    l10 = res.get("lat10k")
    if l10:
        tc = med(l10, "tailcast", "p99_ms")
        peers = {k: med(l10, k, "p99_ms") for k in ("tailon", "websocketd")}
        best = min((v for v in peers.values() if v is not None), default=None)
        rows.append(("p99 at 10 000 lines/s, 1 client", fmt(tc, " ms", 3),
                     ", ".join(f"{k} {fmt(v, ' ms', 3)}" for k, v in peers.items()),
                     "≤ the best peer's", verdict(None if None in (tc, best) else tc <= best)))
    if b:
        tc = med(b, "tailcast", "lines_per_s_per_client")
        dropped = max((r["tailcast"].get("dropped", 0) for r in b if "tailcast" in r), default=None)
        lost = max((r["tailcast"]["missing"] for r in b if "tailcast" in r), default=None)  # neither received nor reported dropped
        peers = {k: med(b, k, "lines_per_s_per_client") for k in ("tailon", "websocketd")}
        best = max((v for v in peers.values() if v is not None), default=None)
        ok = None if None in (tc, best) else (tc >= 1.7 * best and dropped == 0 and lost == 0)
        rows.append(("one client, max speed (3 M lines), default ring",
                     f"{fmt(tc / 1e6 if tc else None, ' M lines/s', 2)}; worst run: reported dropped {fmt(dropped, '', 0)}, missing {fmt(lost, '', 0)}"
                     + (f" ({tc / best:.2f}× the best peer)" if tc and best else ""),
                     ", ".join(f"{k} {fmt(v / 1e6 if v else None, ' M', 3)} (missing {fmt(med(b, k, 'missing'), '', 0)})"
                               for k, v in peers.items()),
                     "≥ 1.7× the best peer, none dropped", verdict(ok)))
    f = res.get("fanout")
    if f:
        tc, tc_rss = med(f, "tailcast", "p99_ms"), med(f, "tailcast", "peak_rss_mib")
        k1 = med(f, "tailcast-1000", "p99_ms")
        rows.append(("100 clients, 10 % filter each, 10 000 lines/s: p99, peak RSS", f"{fmt(tc, ' ms', 2)}, {fmt(tc_rss, ' MiB')}",
                     f"tailon {fmt(med(f, 'tailon', 'p99_ms'), ' ms', 1)}, {fmt(med(f, 'tailon', 'peak_rss_mib'), ' MiB')} "
                     f"(tree {fmt(med(f, 'tailon', 'tree_peak_rss_mib'), ' MiB')})",
                     "p99 ≤ 5 ms", verdict(None if tc is None else tc <= 5)))
        rows.append(("1 000 clients, same: p99, peak RSS", f"{fmt(k1, ' ms', 2)}, {fmt(med(f, 'tailcast-1000', 'peak_rss_mib'), ' MiB')}",
                     "—", "p99 ≤ 50 ms", verdict(None if k1 is None else k1 <= 50)))
    i = res.get("idle")
    if i:
        tc = med(i, "tailcast", "kib_per_connection")
        rows.append(("idle connection cost, 2 000 open ((RSS with − RSS before) / 2 000)", fmt(tc, " KiB"), "—", "≤ 16 KiB each",
                     verdict(None if tc is None else tc <= 16)))
    j = res.get("journal")
    if j is not None:
        tc, jc = med(j, "tailcast", "seconds"), med(j, "journalctl", "seconds")
        rows.append(("journal: 1 M entries loaded (s)", fmt(tc, " s", 2) + (f" ({tc / jc:.1f}× journalctl)" if tc and jc else ""),
                     f"`journalctl -o cat` {fmt(jc, ' s', 2)}", "at least as fast", verdict(None if None in (tc, jc) else tc <= jc)))
    print()
    print(f"| what (release build; {runs} run{'s' if runs > 1 else ''}, median{'s' if runs > 1 else ''}) | tailcast | anchor in the same run | target | met |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1 if os.environ.get("BENCH_QUICK") else 3)
    ap.add_argument("--rows", default=",".join(ALL_ROWS), help="comma-separated subset of " + ",".join(ALL_ROWS))
    ap.add_argument("--no-tailon", action="store_true", help="leave tailon out (e.g. when its venv is missing)")
    args = ap.parse_args()
    rows = [r for r in args.rows.split(",") if r]
    unknown = set(rows) - set(ALL_ROWS)
    if unknown:
        ap.error(f"--rows: unknown {','.join(sorted(unknown))}; choose from {','.join(ALL_ROWS)}")
    if not 1 <= args.runs <= 10:
        ap.error("--runs must be in 1...10")
    for path in (BIN, BENCH):
        if not os.access(path, os.X_OK):
            sys.exit(f"missing {path}: build it with swift build -c release --product tailcast / tailcast-bench")
    peers = ["websocketd"] + ([] if args.no_tailon else ["tailon"])
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(65536, hard), hard))
    except (ValueError, OSError):
        pass
    scenarios = {
        "burst": lambda w: scenario_burst(w, peers),
        "stall": lambda w: scenario_stall(w, peers),
        "lat1k": lambda w: scenario_lat(w, ["websocketd"], 1000, 10_000),
        "lat10k": lambda w: scenario_lat(w, peers, 10_000, 60_000),
        "fanout": lambda w: scenario_fanout(w, [p for p in peers if p == "tailon"]),
        "idle": lambda w: scenario_idle(w, peers),
        "journal": lambda w: scenario_journal(w, peers),
    }
    results = {r: [] for r in rows}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tailcast-table.") as work:
        for run in range(1, args.runs + 1):
            log(f"## run {run}/{args.runs}")
            for r in rows:
                log(f"### {r}")
                try:
                    results[r].append(scenarios[r](work))
                except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError, ValueError) as e:
                    log(f"{r}: failed: {e}")
    log(f"(bench took {time.monotonic() - started:.0f} s)")
    table(results, args.runs)


if __name__ == "__main__":
    main()
