"""Fixtures and helpers for the scale-out end-to-end tests (test_cluster.py): real `nats-server`
processes (one, or a three-node JetStream cluster) and tailcast nodes joined to them by a
`[cluster]` table.

- `bus` (function scope): a `Bus` that starts NATS servers and tailcast agents and viewers, each on
  free loopback ports with its own store directory, and stops every one of them by its PID at
  the end, also when the test failed. The stderr of every process is printed at teardown
  (pytest shows it for a failed test).
- `LineWriter`: a thread appending numbered lines to several files at a steady pace, bounded in
  count and time, remembering what it wrote so that a test can check what a client received.
- `check_exact`: the loss rule across the bus: no duplicate seq, and every seq written either
  arrived (with its text) or is covered by exactly one `dropped` range.
"""

from __future__ import annotations

import json
from collections import Counter
import shutil
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable

import pytest

from conftest import (STOP_DEADLINE, ServerFactory, Tailcast, append_lines, find_free_port, http_get, require_binary,
                      wait_for, ws_open)

NATS_BIN = shutil.which("nats-server") or "/usr/sbin/nats-server"
NATS_START_DEADLINE = 20.0
CLUSTER_FORM_DEADLINE = 30.0

# Short timers so that liveness tests take seconds: a silent agent is `missing` after
# AGENT_TIMEOUT_MS; agents send a heartbeat every min(2 s, agent_timeout / 4).
AGENT_TIMEOUT_MS = 2000
HEARTBEAT_S = min(2.0, AGENT_TIMEOUT_MS / 4000)

_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def require_nats() -> str:
    if not shutil.which(NATS_BIN) and not Path(NATS_BIN).is_file():
        pytest.fail(f"nats-server not found ({NATS_BIN}); `make deps` installs it")
    return NATS_BIN


# --------------------------------------------------------------------------- NATS servers


class NatsServer:
    """One `nats-server -js` on loopback: client port, monitoring port, its own store dir, and
    (in a cluster) a route port plus routes to the other members."""

    def __init__(self, workdir: Path, name: str, *, port: int | None = None,
                 cluster_name: str | None = None, cluster_port: int | None = None,
                 routes: Iterable[int] = ()):
        self.name = name
        self.port = port or find_free_port()
        self.mport = find_free_port()
        self.cluster_name = cluster_name
        self.cluster_port = cluster_port
        self.routes = list(routes)
        self.store = workdir / f"nats-{name}-store"
        self.store.mkdir(exist_ok=True)
        self.log_path = workdir / f"nats-{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        args = [require_nats(), "-js", "-sd", str(self.store), "-a", "127.0.0.1",
                "-p", str(self.port), "-m", str(self.mport), "-n", self.name]
        if self.cluster_name is not None:
            args += ["--cluster_name", self.cluster_name,
                     "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                     "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        return args

    def start(self, wait: bool = True) -> "NatsServer":
        """Start (again: same ports, same store). With `wait`, until its monitoring port answers
        `/healthz` 200 (a single server: JetStream is ready) or, in a cluster, answers at all."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if wait:
            def up():
                if self.proc.poll() is not None:
                    raise AssertionError(f"nats-server {self.name} exited with {self.proc.returncode}:\n"
                                         + self.log_tail())
                status = self.monitor_status("/healthz")
                return status == 200 or (self.cluster_name is not None and status is not None)
            wait_for(up, NATS_START_DEADLINE, f"nats-server {self.name} to answer /healthz")
        return self

    def monitor_status(self, path: str) -> int | None:
        try:
            return http_get(self.mport, path, timeout=1.0)[0]
        except (OSError, urllib.error.URLError):
            return None

    def monitor(self, path: str) -> Any:
        """GET a monitoring endpoint (`/jsz`, `/connz`, ...) as JSON."""
        status, _, body = http_get(self.mport, path, timeout=2.0)
        assert status == 200, f"nats-server {self.name} {path} answered {status}"
        return json.loads(body)

    def connection_names(self) -> list[str]:
        """Names of the client connections this server holds (tailcast names its own
        `tailcast/ROLE/HOST`)."""
        return [c.get("name", "") for c in self.monitor("/connz?limit=1024").get("connections", [])]

    def stream_state(self, stream: str = "TAILCAST") -> dict | None:
        """The JetStream state of `stream` (`messages`, `first_seq`, `last_seq`, ...) from
        `/jsz`, or None while the stream does not exist."""
        for account in self.monitor("/jsz?streams=true").get("account_details") or []:
            for detail in account.get("stream_detail") or []:
                if detail.get("name") == stream:
                    return detail.get("state") or {}
        return None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_DEADLINE) -> None:
        """SIGTERM and wait for the exit (SIGKILL after `timeout`)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


# --------------------------------------------------------------------------- tailcast nodes


def cluster_table(urls: list[str], host: str, role: str, **over) -> dict:
    """A `[cluster]` table with short timers and a small retention, for tests."""
    table = {
        "nats": urls,
        "host": host,
        "role": role,
        "stream": "TAILCAST",
        "max_age": "10m",
        "max_bytes": 64 * 1024 * 1024,
        "replicas": 1,
        "agent_timeout_ms": AGENT_TIMEOUT_MS,
    }
    table.update(over)
    return table


class Bus:
    """Starts NATS servers and tailcast nodes for one test and stops them all at the end."""

    def __init__(self, workdir: Path, tailcast: ServerFactory):
        self.workdir = workdir
        self.tailcast = tailcast
        self.nats: list[NatsServer] = []

    # -- NATS
    def nats_server(self, port: int | None = None, start: bool = True) -> NatsServer:
        """One standalone JetStream server (not started with start=False: a port nobody serves)."""
        srv = NatsServer(self.workdir, f"n{len(self.nats) + 1}", port=port)
        self.nats.append(srv)
        return srv.start() if start else srv

    def nats_cluster(self, size: int = 3) -> list[NatsServer]:
        """A JetStream cluster of `size` servers routed to each other, returned once every member
        reports the same meta leader and the full cluster size in `/jsz`."""
        cports = [find_free_port() for _ in range(size)]
        members = []
        for i, cport in enumerate(cports):
            srv = NatsServer(self.workdir, f"c{i + 1}", cluster_name="tailcast-test",
                             cluster_port=cport, routes=[p for p in cports if p != cport])
            self.nats.append(srv)
            members.append(srv)
        for srv in members:
            srv.start()

        def formed():
            leaders = set()
            for srv in members:
                meta = srv.monitor("/jsz").get("meta_cluster") or {}
                if not meta.get("leader") or meta.get("cluster_size") != size:
                    return False
                leaders.add(meta["leader"])
            return len(leaders) == 1 and all(s.monitor_status("/healthz") == 200 for s in members)
        wait_for(formed, CLUSTER_FORM_DEADLINE, "the JetStream cluster to elect a meta leader", interval=0.2)
        return members

    # -- tailcast nodes
    def agent(self, urls: list[str], host: str, names: Iterable[str] = ("app",), *,
              state_dir: bool = False, wait_ready: bool = True, **cluster) -> Tailcast:
        """An agent-only node publishing one file source per name (files created empty under
        <workdir>/<host>/, so the first line written is seq 1); `node.logs[name]` is the path."""
        return self._node(urls, host, "agent", names, state_dir, wait_ready, cluster)

    def viewer(self, urls: list[str], host: str, *, wait_ready: bool = True, **cluster) -> Tailcast:
        """A viewer-only node: no `[[source]]`. `extra_toml=` appends tables (e.g. `[auth]`)."""
        return self._node(urls, host, "viewer", (), False, wait_ready, cluster)

    def both(self, urls: list[str], host: str, names: Iterable[str] = ("app",), *,
             state_dir: bool = False, wait_ready: bool = True, **cluster) -> Tailcast:
        return self._node(urls, host, "both", names, state_dir, wait_ready, cluster)

    def _node(self, urls, host, role, names, state_dir, wait_ready, cluster) -> Tailcast:
        extra_toml = cluster.pop("extra_toml", "")
        d = self.workdir / host
        d.mkdir(exist_ok=True)
        logs = {}
        for name in names:
            p = d / f"{name}.log"
            p.touch()
            logs[name] = p
        server = {"state_dir": str(d / "state")} if state_dir else None
        defaults = cluster.pop("defaults", None)
        extra = cluster.pop("server", None)
        if extra:
            server = {**(server or {}), **extra}
        sources = [{"name": n, "kind": "file", "path": str(p)} for n, p in logs.items()]
        node = self.tailcast(sources=sources, server=server, defaults=defaults, start=False,
                             cluster=cluster_table(urls, host, role, **cluster))
        if extra_toml:
            node.config_path.write_text(node.config_path.read_text() + "\n" + extra_toml)
        node.logs = logs
        node.host = host
        node.role = role
        node.start(wait_ready=wait_ready)
        return node

    # -- teardown
    def stop_all(self) -> None:
        self.tailcast.stop_all()
        for srv in self.nats:
            srv.stop()

    def stream_report(self) -> str:
        """What each live NATS server says of the streams and consumers (for a failed test:
        did the agents publish, how far did the viewers' consumers get)."""
        out = []
        for srv in self.nats:
            if not srv.alive:
                continue
            try:
                jsz = srv.monitor("/jsz?streams=true&consumers=true")
            except Exception as exc:  # noqa: BLE001 - a report, not a check
                out.append(f"--- /jsz of {srv.name}: {exc!r}")
                continue
            for account in jsz.get("account_details") or []:
                for st in account.get("stream_detail") or []:
                    state = st.get("state") or {}
                    leader = (st.get("cluster") or {}).get("leader")
                    out.append(f"--- /jsz of {srv.name}: stream {st.get('name')} leader {leader} "
                               f"messages {state.get('messages')} seqs {state.get('first_seq')}.."
                               f"{state.get('last_seq')}")
                    for con in st.get("consumer_detail") or []:
                        cfg = con.get("config") or {}
                        out.append(f"    consumer {con.get('name')} filter {cfg.get('filter_subject')} "
                                   f"delivered {(con.get('delivered') or {}).get('stream_seq')} "
                                   f"pending {con.get('num_pending')} ack_pending {con.get('num_ack_pending')}")
        return "\n".join(out)

    def report(self) -> str:
        out = []
        for node in self.tailcast.servers:
            tail = "\n".join(node.stderr_text().splitlines()[-25:])
            out.append(f"--- tailcast {getattr(node, 'role', '?')} {getattr(node, 'host', '?')} "
                       f"port {node.port} (exit {node.returncode}):\n{tail}")
        for srv in self.nats:
            out.append(f"--- nats-server {srv.name} port {srv.port}:\n{srv.log_tail(15)}")
        return "\n".join(out)


@pytest.fixture
def bus(workdir: Path, tailcast: ServerFactory):
    require_binary()
    require_nats()
    b = Bus(workdir, tailcast)
    try:
        yield b
    finally:
        streams = b.stream_report()
        b.stop_all()
        print(b.report())
        print(streams)


# --------------------------------------------------------------------------- waiting on viewers


def wait_sources(node: Tailcast, names: Iterable[str], state: str = "following",
                 timeout: float = 15.0) -> dict[str, dict]:
    """Wait until `node`'s /api/sources lists every name in `names` in `state`."""
    names = list(names)

    def ok():
        have = node.sources()
        return have if all(have.get(n, {}).get("state") == state for n in names) else None
    try:
        return wait_for(ok, timeout, f"/api/sources on port {node.port} to list {names} as {state}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it lists {node.get_json('/api/sources')}") from None


def since_of(lines: list[dict], epochs: dict[str, str]) -> str:
    """`since` for a reconnecting client: SRC:SEQ:EPOCH of the last line it saw of each source."""
    last: dict[str, int] = {}
    for line in lines:
        last[line["source"]] = line["seq"]
    return ",".join(f"{src}:{seq}:{epochs[src]}" for src, seq in sorted(last.items()))


# --------------------------------------------------------------------------- writing


class LineWriter(threading.Thread):
    """Appends line i (1-based) to every file each `interval` seconds until stopped, at most
    `limit` lines per file. `written[name]` lists the texts in file order, so the line with
    seq k (in a file created empty) is `written[name][k - 1]`."""

    def __init__(self, files: dict[str, Path], interval: float = 0.01, limit: int = 2000,
                 tag: str = "w", match_every: int = 0):
        super().__init__(daemon=True)
        self.files = files
        self.interval = interval
        self.limit = limit
        self.tag = tag
        self.match_every = match_every
        self.written: dict[str, list[str]] = {name: [] for name in files}
        self._stop_evt = threading.Event()
        self.lock = threading.Lock()

    def text(self, name: str, i: int) -> str:
        mark = "MATCH" if self.match_every and i % self.match_every == 0 else "other"
        return f"{self.tag} {name} {i} {mark}"

    def run(self) -> None:
        for i in range(1, self.limit + 1):
            if self._stop_evt.is_set():
                return
            for name, path in self.files.items():
                t = self.text(name, i)
                with open(path, "a", encoding="utf-8") as f:
                    f.write(t + "\n")
                with self.lock:
                    self.written[name].append(t)
            self._stop_evt.wait(self.interval)

    def count(self, name: str | None = None) -> int:
        with self.lock:
            if name is not None:
                return len(self.written[name])
            return min(len(v) for v in self.written.values())

    def wait_done(self, timeout: float = 30.0) -> dict[str, list[str]]:
        """Let the writer write all `limit` lines, then return what it wrote."""
        self.join(timeout)
        assert not self.is_alive(), f"the writer did not write {self.limit} lines within {timeout}s"
        return self.written

    def finish(self) -> dict[str, list[str]]:
        """Stop the writer now and return what it wrote."""
        self._stop_evt.set()
        self.join(10)
        assert not self.is_alive(), "the writer thread did not stop"
        return self.written


# --------------------------------------------------------------------------- exact loss


def coverage(msgs: list[dict], source: str) -> tuple[list[int], list[tuple[int, int]]]:
    """(seqs of `source`'s lines, in arrival order; its dropped ranges (from, to) inclusive)."""
    seqs, ranges = [], []
    for m in msgs:
        if m.get("type") == "lines":
            seqs += [l["seq"] for l in m["lines"] if l["source"] == source]
        elif m.get("type") == "dropped" and m.get("source") == source:
            ranges.append((m["from_seq"], m["to_seq"]))
    return seqs, ranges


class Covered:
    """Incrementally, per source: the first seq not yet received nor inside a `dropped` range,
    so that waiting on a client that receives thousands of envelopes stays cheap."""

    def __init__(self, names: Iterable[str], first: int = 1):
        self.have: dict[str, set[int]] = {n: set() for n in names}
        self.next: dict[str, int] = {n: first for n in self.have}
        self.seen = 0

    def update(self, msgs: list[dict]) -> "Covered":
        for m in msgs[self.seen:]:
            t = m.get("type")
            if t == "lines":
                for l in m["lines"]:
                    if l["source"] in self.have:
                        self.have[l["source"]].add(l["seq"])
            elif t == "dropped" and m.get("source") in self.have:
                a, b = m.get("from_seq"), m.get("to_seq")
                if a is not None and b is not None:
                    self.have[m["source"]].update(range(a, b + 1))
        self.seen = len(msgs)
        for n, have in self.have.items():
            while self.next[n] in have:
                self.next[n] += 1
        return self

    def upto(self, name: str, seq: int) -> bool:
        """Every seq from `first` to `seq` of `name` arrived or was reported dropped."""
        return self.next[name] > seq


def check_exact(msgs: list[dict], source: str, written: list[str]) -> int:
    """Every seq 1..len(written) of `source` arrived exactly once with its text, or is inside
    exactly one `dropped` range that covers only lines that did not arrive. Returns the number
    of lines reported dropped."""
    n = len(written)
    seqs, ranges = coverage(msgs, source)
    dupes = sorted(s for s, k in Counter(seqs).items() if k > 1)
    assert not dupes, f"{source}: seqs received twice: {dupes[:20]}"
    texts = {l["seq"]: l["text"] for m in msgs if m.get("type") == "lines"
             for l in m["lines"] if l["source"] == source}
    wrong = [(k, t) for k, t in texts.items() if not (1 <= k <= n) or t != written[k - 1]]
    assert not wrong, f"{source}: lines with a seq that does not match what was written: {wrong[:5]}"
    dropped: set[int] = set()
    for a, b in ranges:
        assert a is not None and b is not None and a <= b, f"{source}: dropped without an exact range: {(a, b)}"
        counts = [m.get("count") for m in msgs if m.get("type") == "dropped" and m.get("source") == source
                  and (m.get("from_seq"), m.get("to_seq")) == (a, b)]
        assert counts and counts[0] == b - a + 1, f"{source}: dropped {a}..{b} says count {counts}"
        span = set(range(a, b + 1))
        assert not span & set(seqs), f"{source}: dropped {a}..{b} covers lines that did arrive"
        assert not span & dropped, f"{source}: dropped ranges overlap at {sorted(span & dropped)[:5]}"
        dropped |= span
    missing = [k for k in range(1, n + 1) if k not in texts and k not in dropped]
    assert not missing, (f"{source}: {len(missing)} of {n} lines neither arrived nor were reported "
                         f"dropped, e.g. {missing[:10]}; dropped ranges {ranges}")
    extra = sorted(k for k in dropped if k > n)
    assert not extra, f"{source}: dropped reports lines never written: {extra[:5]}"
    return len(dropped)


async def viewer_past_its_ring(bus) -> tuple[Tailcast, str]:
    """One agent (`web-1`) and a viewer whose ring holds 100 lines per source; 400 lines
    ("line 1".."line 400") are written and seen live by a first client, so the viewer's ring
    now holds only the last of them. Returns the viewer and the source's epoch."""
    nats = bus.nats_server()
    agent = bus.agent([nats.url], "web-1")
    viewer = bus.viewer([nats.url], "viewer-1", defaults={"ring_lines": 100})
    wait_sources(viewer, ["web-1/app"])
    c = await ws_open(viewer, "source=web-1/app")
    epoch = c.hello["epochs"]["web-1/app"]
    append_lines(agent.logs["app"], [f"line {k}" for k in range(1, 401)])
    await c.until(lambda c: "line 400" in c.texts(), 15, "the 400 lines live")
    await c.close()
    return viewer, epoch
