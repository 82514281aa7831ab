#!/usr/bin/env python3
"""Issue 13's benchmark: many hosts through NATS JetStream beside the single-host path, same run.

Per run (fresh processes each time, loopback only):
- single host: one tailcast following a file written at 10 000 lines/s by a separate writer
  process, 100 WebSocket clients keeping 10 % each (`q=tagNNN&F`): p99 write→receive.
- cluster: one `nats-server -js` (its own store directory and ports), 3 agents (hosts a1..a3,
  each a file source `app` written at 10 000 lines/s by its own writer process) and 1 viewer
  with 100 clients on `source=*/app&q=tagNNN&F` (10 % each): p99 write→receive, lines/s
  received, CPU seconds per million written lines at the agents (sum), nats-server and the
  viewer (utime+stime from /proc/PID/stat before and after).
- cluster at 3 × 100 000 lines/s (each writer writing the lines due every ~0.1 ms, as a
  logging process does), the same rate written in 20 ms chunks (bigger blocks, hence bigger bus
  messages), then with the writers as fast as they go: one unfiltered client on
  `source=*/app`; lines/s reaching it and the viewer (`/metrics`), `dropped` by reason.
The clients and writers are `tailcast-bench load` (one process for the clients; it starts one
`tailcast-bench write` per file, all together; lines carry their CLOCK_MONOTONIC write time).
Each row is measured RUNS times (3; BENCH_QUICK=1 gives 1); the table shows medians.

Usage: python3 Benchmarks/cluster.py [--runs N] [--rows single,cluster,max100k,chunks100k,max]
Env: BIN (tailcast), BENCH (tailcast-bench), NATS (nats-server).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table import (BENCH, BIN, CLK_TCK, free_port, fmt, http_ok, log, med, parse_kv,  # noqa: E402
                   run_tool, verdict, wait_until, with_server, load)

NATS = os.environ.get("NATS", shutil.which("nats-server") or "/usr/sbin/nats-server")
HOSTS = ["a1", "a2", "a3"]
ALL_ROWS = ["single", "cluster", "max100k", "chunks100k", "max"]
SOURCES_Q = "source=%2A%2Fapp"  # source=*/app


def cpu_s(pid):
    """utime + stime of one process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu():
    """(busy, total) jiffies of the whole machine from /proc/stat (idle and iowait are not busy)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


class Proc:
    """One process of the cluster, stopped by its PID (SIGTERM, then SIGKILL after 5 s)."""

    def __init__(self, name, argv, work):
        self.name = name
        self.err_path = os.path.join(work, name + ".err")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.err)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.err.close()
        return self.proc.returncode


class Cluster:
    """nats-server -js, agents a1..a3 (each following its own file), one viewer."""

    def __init__(self, work):
        self.work = work
        self.procs = []
        self.files = {}
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        w = self.work
        store = os.path.join(w, "nats-store")
        os.makedirs(store, exist_ok=True)
        self.nats_port, mon = free_port(), free_port()
        self.monitor = mon
        self.nats = Proc("nats-server", [NATS, "-js", "-a", "127.0.0.1", "-p", str(self.nats_port), "-m", str(mon),
                                         "-sd", store], w)
        self.procs.append(self.nats)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{mon}/healthz"), 20, "nats-server to be healthy")
        self.agents = []
        for host in HOSTS:
            path = os.path.join(w, f"{host}-app.log")
            open(path, "w").close()
            self.files[host] = path
            self.agents.append(self._node(host, "agent", f'[[source]]\nname = "app"\nkind = "file"\npath = "{path}"\n'))
        self.viewer = self._node("v1", "viewer", "")
        self.url = f"ws://127.0.0.1:{self.viewer.port}/ws"
        wanted = {f"{h}/app" for h in HOSTS}

        def listed():
            self.check_alive()
            with urllib.request.urlopen(f"http://127.0.0.1:{self.viewer.port}/api/sources", timeout=2) as r:
                items = json.loads(r.read())
            return wanted <= {i["name"] for i in items if i.get("state") == "following"}
        wait_until(listed, 30, "the viewer to list a1/app, a2/app, a3/app (following)")

    def _node(self, host, role, sources):
        port = free_port()
        cfg = os.path.join(self.work, f"{host}.toml")
        with open(cfg, "w") as f:
            f.write(f'[server]\nlisten = "127.0.0.1:{port}"\nmax_connections = 20000\nmax_connections_per_address = 20000\n'
                    f'[cluster]\nnats = ["nats://127.0.0.1:{self.nats_port}"]\nhost = "{host}"\nrole = "{role}"\n'
                    f'agent_timeout_ms = 2000\nmax_age = "1h"\nmax_bytes = 1_073_741_824\n' + sources)
        p = Proc(host, [BIN, "--config", cfg, "--log-level", "error"], self.work)
        p.port = port
        self.procs.append(p)
        wait_until(lambda: self.check_alive() and http_ok(f"http://127.0.0.1:{port}/healthz"), 20, f"{host} to listen")
        return p

    def check_alive(self):
        for p in self.procs:
            if not p.alive():
                with open(p.err_path) as f:
                    tail = f.read()[-800:]
                raise RuntimeError(f"{p.name} exited ({p.proc.returncode}): {tail}")
        return True

    def cpu(self):
        return {"agents": sum(cpu_s(a.pid) for a in self.agents), "nats": cpu_s(self.nats.pid), "viewer": cpu_s(self.viewer.pid)}

    def viewer_lines(self):
        """Lines the viewer took into its remote rings (`tailcast_source_lines_read_total`, a*/app)."""
        total = 0.0
        with urllib.request.urlopen(f"http://127.0.0.1:{self.viewer.port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("tailcast_source_lines_read_total{") and '/app"' in line:
                    total += float(line.split()[-1])
        return total

    def stream(self):
        """(messages, bytes) the stream received so far (nats-server's /jsz: stored plus purged/discarded)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/jsz?accounts=true&streams=true", timeout=2) as r:
            data = json.loads(r.read())
        for account in data.get("account_details", []):
            for st in account.get("stream_detail", []):
                state = st.get("state", {})
                return state.get("last_seq", 0), state.get("bytes", 0), state.get("messages", 0)
        return 0, 0, 0

    def viewer_drops(self):
        """{reason: lines} the viewer reported lost to clients (`tailcast_lines_dropped_total`, a*/app)."""
        out = {}
        with urllib.request.urlopen(f"http://127.0.0.1:{self.viewer.port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("tailcast_lines_dropped_total{") and '/app"' in line:
                    reason = line.split('reason="', 1)[1].split('"', 1)[0] if 'reason="' in line else "?"
                    out[reason] = out.get(reason, 0) + float(line.split()[-1])
        return out

    def stop(self):
        codes = {}
        for p in reversed(self.procs):  # the viewer and agents first, then the bus
            codes[p.name] = p.stop()
        self.procs = []
        return codes


class IngestSampler:
    """Samples the viewer's ingested line count every 0.1 s: when lines started and stopped arriving."""

    def __init__(self, cluster):
        self.cluster, self.stop_flag = cluster, threading.Event()
        self.samples = []
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop_flag.wait(0.1):
            try:
                self.samples.append((time.monotonic(), self.cluster.viewer_lines()))
            except OSError:
                pass

    def __enter__(self):
        self.base = self.cluster.viewer_lines()
        self.samples.append((time.monotonic(), self.base))
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join()
        try:
            self.samples.append((time.monotonic(), self.cluster.viewer_lines()))
        except OSError:
            pass

    def result(self):
        """(lines taken in during the window, lines/s between the first and the last sample that grew)."""
        grew = [(t, n) for (t, n), (_, prev) in zip(self.samples[1:], self.samples) if n > prev]
        total = (self.samples[-1][1] - self.base) if self.samples else 0
        if len(grew) < 2:
            return total, None
        # From the sample before the first growth to the last growth.
        first = next(i for i, (t, n) in enumerate(self.samples) if n > self.base)
        t0, n0 = self.samples[max(0, first - 1)]
        t1, n1 = grew[-1]
        return total, (n1 - n0) / max(1e-3, t1 - t0)


def cluster_load(c, label, lines, rate, clients, filtered, timeout, write_every_ms=0):
    """One `tailcast-bench load` over the 3 agents' files against the viewer; CPU of every process."""
    q = SOURCES_Q + ("&q=TAG&F" if filtered else "")
    argv = [BENCH, "load", "--peer", "tailcast", "--url", c.url, "--query", q,
            "--lines", str(lines), "--rate", str(rate), "--clients", str(clients), "--tags", "10" if filtered else "100",
            "--settle-ms", "500", "--server-pid", str(c.viewer.pid), "--timeout", str(timeout), "--label", label,
            "--write-every-ms", str(write_every_ms)]
    for h in HOSTS:
        argv += ["--file", c.files[h]]
    before, drops_before, stream_before, machine_before = c.cpu(), c.viewer_drops(), c.stream(), machine_cpu()
    with IngestSampler(c) as ingest:
        out = run_tool(argv, timeout + 30)
    after, drops_after, stream_after, machine_after = c.cpu(), c.viewer_drops(), c.stream(), machine_cpu()
    c.check_alive()
    r = parse_kv(out)
    # `evicted`: lines that never reached the viewer's ring (an agent's ring overflowed before
    # they were published); `slow_consumer`: the viewer's ring moved past a client.
    r["drops"] = {k: v - drops_before.get(k, 0) for k, v in drops_after.items() if v - drops_before.get(k, 0) > 0}
    written = r.get("written", lines * len(HOSTS))
    for k in before:
        r[f"{k}_cpu_s"] = after[k] - before[k]
        r[f"{k}_cpu_s_per_M_lines"] = (after[k] - before[k]) / max(1, written) * 1e6
    expected = written * clients / (10 if filtered else 1)
    r["missing"] = expected - r.get("received", 0) - r.get("dropped", 0)
    r["received_lines_per_s"] = r.get("received", 0) / max(1e-3, r.get("seconds", 1))
    # Messages the agents published in the window (stream sequence numbers; heartbeats are not
    # in the stream), and how busy the whole machine was (2 shared cores).
    r["bus_messages"] = stream_after[0] - stream_before[0]
    r["viewer_lines"], vrate = ingest.result()
    r["lines_per_message"] = r["viewer_lines"] / max(1, r["bus_messages"])
    r["machine_busy_pct"] = 100 * (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1])
    r["viewer_lines_per_s"] = vrate if vrate is not None else 0.0
    log(out + " " + " ".join(f"{k}={r[k]:.2f}" for k in
                             ("agents_cpu_s", "nats_cpu_s", "viewer_cpu_s", "agents_cpu_s_per_M_lines", "nats_cpu_s_per_M_lines",
                              "viewer_cpu_s_per_M_lines", "missing", "received_lines_per_s", "viewer_lines", "viewer_lines_per_s", "bus_messages", "lines_per_message",
                              "machine_busy_pct"))
        + " viewer_dropped_by_reason=" + (",".join(f"{k}:{v:.0f}" for k, v in sorted(r["drops"].items())) or "none"))
    return r


def run_cluster_rows(work, rows):
    out = {}
    c = Cluster(work)
    try:
        log(f"cluster up: nats-server pid {c.nats.pid}, agents {[a.pid for a in c.agents]}, viewer pid {c.viewer.pid}")
        if "cluster" in rows:
            out["cluster"] = cluster_load(c, "cluster 3x10000/s 100 clients 10%", 60_000, 10_000, 100, True, 120)
        if "max100k" in rows:
            out["max100k"] = cluster_load(c, "cluster 3x100000/s 1 client", 500_000, 100_000, 1, False, 90)
        if "chunks100k" in rows:
            # The same rate written 2 000 lines at a time every 20 ms: the agents' blocks, hence
            # their bus messages, are ~20× larger (a diagnosis of what bounds max100k).
            out["chunks100k"] = cluster_load(c, "cluster 3x100000/s in 20 ms chunks 1 client", 500_000, 100_000, 1, False, 90,
                                             write_every_ms=20)
        if "max" in rows:
            out["max"] = cluster_load(c, "cluster 3x max 1 client", 300_000, 0, 1, False, 90)
    finally:
        codes = c.stop()
        # nats-server exits with 1 after a clean SIGTERM shutdown; tailcast with 0.
        bad = {k: v for k, v in codes.items() if v not in ((0, 1) if k == "nats-server" else (0,))}
        if bad:
            log(f"exit codes after SIGTERM: {bad}")
    return out


def table(results, runs):
    def m(row, key):
        return med([{"x": r[row]} for r in results if row in r], "x", key)

    def worst(row, key):
        return max((r[row].get(key, 0) for r in results if row in r), default=None)

    def reasons(row):
        out = {}
        for r in results:
            for k, v in r.get(row, {}).get("drops", {}).items():
                out[k] = max(out.get(k, 0), v)
        return ", ".join(f"{k} {v:.0f}" for k, v in sorted(out.items()))

    def cpu(row):
        return (f"agents (sum) {fmt(m(row, 'agents_cpu_s_per_M_lines'), '', 1)}, nats-server {fmt(m(row, 'nats_cpu_s_per_M_lines'), '', 1)}, "
                f"viewer {fmt(m(row, 'viewer_cpu_s_per_M_lines'), '', 1)}")

    rows = []
    single_p99 = m("single", "p99_ms")
    if single_p99 is not None:
        rows.append(("single host: 1 tailcast, a file at 10 000 lines/s, 100 clients keeping 10 % each: p99 (p50); server CPU s per M lines",
                     f"{fmt(single_p99, ' ms', 2)} ({fmt(m('single', 'p50_ms'), ' ms', 2)}); {fmt(m('single', 'cpu_s_per_M_lines'), '', 1)}; "
                     f"worst run: dropped {fmt(worst('single', 'dropped'), '', 0)}, missing {fmt(worst('single', 'missing'), '', 0)}",
                     "the anchor", "—", "—"))
    cp99 = m("cluster", "p99_ms")
    if cp99 is not None:
        rows.append(("cluster: 3 agents × 10 000 lines/s → nats-server → 1 viewer, 100 clients `source=*/app` keeping 10 % each: p99 (p50)",
                     f"{fmt(cp99, ' ms', 2)} ({fmt(m('cluster', 'p50_ms'), ' ms', 2)}); worst run: dropped {fmt(worst('cluster', 'dropped'), '', 0)}, "
                     f"missing {fmt(worst('cluster', 'missing'), '', 0)}",
                     f"single host {fmt(single_p99, ' ms', 2)}" + (f" (cluster = {cp99 / single_p99:.2f}×)" if single_p99 else ""),
                     "≤ 2× single host", verdict(None if single_p99 is None else cp99 <= 2 * single_p99)))
        rows.append(("cluster, same: lines/s received (all clients); CPU s per M written lines; lines per bus message",
                     f"{fmt(m('cluster', 'received_lines_per_s'), '', 0)} lines/s; {cpu('cluster')}; "
                     f"{fmt(m('cluster', 'lines_per_message'), '', 1)} lines/message",
                     f"single host server {fmt(m('single', 'cpu_s_per_M_lines'), '', 1)}", "—", "—"))
    for key, what, target in (("max100k", "cluster: 3 agents × 100 000 lines/s (5 s), 1 unfiltered client `source=*/app`", True),
                              ("chunks100k", "cluster, same rate, each writer writing 2 000 lines every 20 ms (diagnosis)", False),
                              ("max", "cluster: 3 writers as fast as they go (3 × 300 000 lines), 1 unfiltered client", False)):
        v = m(key, "received_lines_per_s")
        if v is None:
            continue
        dropped, missing = worst(key, "dropped"), worst(key, "missing")
        why = reasons(key)
        cell = (f"{fmt(v / 1e3, ' k lines/s', 1)} at the client, {fmt(m(key, 'viewer_lines_per_s') / 1e3, ' k', 1)} into the viewer's rings; "
                f"worst run: dropped {fmt(dropped, '', 0)}{f' ({why})' if why else ''}, missing {fmt(missing, '', 0)}; "
                f"{fmt(m(key, 'lines_per_message'), '', 0)} lines per bus message; CPU s per M written lines: {cpu(key)}")
        ok = v >= 0.95 * 300_000 and dropped == 0 and missing == 0
        runs_ok = sum(1 for r in results if key in r and r[key]["received_lines_per_s"] >= 0.95 * 300_000
                      and r[key].get("dropped", 0) == 0 and r[key]["missing"] == 0)
        if target and runs > 1:
            cell += f"; the target held in {runs_ok} of {sum(1 for r in results if key in r)} runs"
        rows.append((what, cell, f"machine busy {fmt(m(key, 'machine_busy_pct'), ' %', 0)}",
                     "≥ 285 k lines/s (95 % of 3 × 100 000), none dropped" if target else "(no target)",
                     verdict(ok) if target else "—"))
    print()
    print(f"| what (release build; {runs} run{'s' if runs > 1 else ''}, median{'s' if runs > 1 else ''}) | result | anchor in the same run | target | met |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1 if os.environ.get("BENCH_QUICK") else 3)
    ap.add_argument("--rows", default=",".join(ALL_ROWS), help="comma-separated subset of " + ",".join(ALL_ROWS))
    args = ap.parse_args()
    rows = [r for r in args.rows.split(",") if r]
    unknown = set(rows) - set(ALL_ROWS)
    if unknown:
        ap.error(f"--rows: unknown {','.join(sorted(unknown))}; choose from {','.join(ALL_ROWS)}")
    if not 1 <= args.runs <= 10:
        ap.error("--runs must be in 1...10")
    for path in (BIN, BENCH, NATS):
        if not os.access(path, os.X_OK):
            sys.exit(f"missing {path}: build tailcast and tailcast-bench (release); nats-server comes with make deps-test")
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(65536, hard), hard))
    except (ValueError, OSError):
        pass
    results = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tailcast-cluster.") as base:
        for run in range(1, args.runs + 1):
            log(f"## run {run}/{args.runs}")
            work = os.path.join(base, f"run{run}")
            os.makedirs(work)
            res = {}
            try:
                if "single" in rows:
                    res["single"] = with_server("tailcast", work, lambda s: load(
                        s, "single host 10000/s 100 clients 10%", 60_000, 10_000, clients=100, tags=10, filtered=True,
                        settle_ms=500, timeout=120))
                if set(rows) - {"single"}:
                    res.update(run_cluster_rows(work, rows))
            except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError, ValueError) as e:
                log(f"run {run}: failed: {e}")
            results.append(res)
            shutil.rmtree(work, ignore_errors=True)  # the stream's store holds up to 1 GiB
    log(f"(cluster bench took {time.monotonic() - started:.0f} s)")
    table(results, args.runs)


if __name__ == "__main__":
    main()
