"""GET /api/lines with the real `curl` and a real SSE client library, and `from=TIME` on
/api/lines, /ws and in `query` messages.

Every wait is a poll with a deadline. Servers run on free ports with their own files.
"""

from __future__ import annotations

import json
import queue
import secrets
import signal
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sseclient

from conftest import (
    append_lines,
    assert_continuous,
    file_sources,
    run,
    wait_for,
    ws_open,
)

CURL = "curl"


# --------------------------------------------------------------------------- helpers


def curl(args: list[str], timeout: float = 10.0) -> subprocess.CompletedProcess:
    return subprocess.run([CURL, "-sS", *args], capture_output=True, timeout=timeout)


def url(srv, query: str = "") -> str:
    return f"http://127.0.0.1:{srv.port}/api/lines" + (f"?{query}" if query else "")


def ndjson(body: bytes) -> list[dict]:
    return [json.loads(l) for l in body.decode().split("\n") if l.strip()]


class CurlStream:
    """`curl -N` running in the background; its stdout lines arrive in a queue."""

    def __init__(self, args: list[str]):
        self.proc = subprocess.Popen([CURL, "-sSN", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._q: queue.Queue = queue.Queue()
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self) -> None:
        for raw in self.proc.stdout:
            self._q.put(raw.decode())
        self._q.put(None)

    def until(self, pred, timeout: float = 15.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not pred(self.lines):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; got {len(self.lines)} lines, "
                                     f"last {self.lines[-3:]!r}")
            try:
                item = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if item is None:
                if pred(self.lines):
                    return
                raise AssertionError(f"curl ended ({self.proc.wait()}) while waiting for {what}; "
                                     f"stderr {self.proc.stderr.read()!r}; last {self.lines[-3:]!r}")
            self.lines.append(item)

    def records(self) -> list[dict]:
        return [json.loads(l) for l in self.lines if l.strip()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
        self.proc.wait(timeout=5)


def lines_of(records: list[dict]) -> list[dict]:
    return [r for r in records if "seq" in r and "type" not in r]


def one_file_server(tailcast, workdir: Path, lines: int = 0, server: dict | None = None, **extra):
    log = workdir / "app.log"
    log.write_text("".join(f"old {i}\n" for i in range(1, lines + 1)))
    srv = tailcast(sources=file_sources({"app": log}, **extra), server=server or {})
    if lines:
        srv.wait_seq("app", lines)
    return srv, log


# --------------------------------------------------------------------------- one-shot, follow, formats


def test_n_replays_the_last_lines_then_ends_with_the_contract_headers(tailcast, workdir):
    srv, _ = one_file_server(tailcast, workdir, lines=10)
    r = curl(["-f", "-D", "-", url(srv, "n=3")])
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (l.decode().partition(":") for l in head.split(b"\r\n")[1:])}
    assert headers["content-type"] == "application/x-ndjson"
    assert headers["cache-control"] == "no-store"
    assert headers["x-accel-buffering"] == "no"
    recs = ndjson(body)
    assert [r["seq"] for r in recs] == [8, 9, 10]
    assert [r["text"] for r in recs] == ["old 8", "old 9", "old 10"]
    assert all(set(r) >= {"source", "seq", "ts", "text"} and "type" not in r for r in recs)
    # A match carries its spans exactly as inside a `lines` envelope.
    m = ndjson(curl(["-f", url(srv, "n=1&q=old%209")]).stdout)
    assert m == [{**m[0], "matches": [[0, 5]]}] and m[0]["seq"] == 9
    # Without n, since or from there is nothing to replay: an empty answer at once.
    empty = curl(["-f", url(srv)])
    assert empty.returncode == 0 and empty.stdout == b""


def test_follow_streams_while_a_writer_runs(tailcast, workdir):
    srv, log = one_file_server(tailcast, workdir, lines=2)
    stream = CurlStream([url(srv, "follow&n=2")])
    try:
        stream.until(lambda ls: len(ls) >= 2, what="the replay")
        stop = threading.Event()

        def writer():
            for k in range(0, 600, 20):
                append_lines(log, [f"new {i}" for i in range(k, k + 20)])
                time.sleep(0.01)
            stop.set()

        t = threading.Thread(target=writer)
        t.start()
        stream.until(lambda ls: sum(1 for l in ls if l.strip()) >= 602, what="602 lines")
        t.join()
        recs = stream.records()
        assert_continuous([r["seq"] for r in recs], first=1)
        assert [r["text"] for r in recs[2:]] == [f"new {i}" for i in range(600)]
    finally:
        stream.stop()


def test_text_format_is_grep_like(tailcast, workdir):
    a, b = workdir / "a.log", workdir / "b.log"
    a.write_text("alpha one\nalpha two\n")
    b.write_text("beta one\n")
    srv = tailcast(sources=file_sources({"a": a, "b": b}))
    srv.wait_seq("a", 2)
    srv.wait_seq("b", 1)
    both = curl(["-f", "-D", "-", url(srv, "n=5&format=text")])
    head, _, body = both.stdout.partition(b"\r\n\r\n")
    assert b"content-type: text/plain; charset=utf-8" in head.lower()
    assert body.decode().splitlines() == ["a:alpha one", "a:alpha two", "b:beta one"]
    one = curl(["-f", url(srv, "n=5&format=text&source=a")])
    assert one.stdout.decode() == "alpha one\nalpha two\n"
    # A loss is a line beginning with "# ".
    lost = curl(["-f", url(srv, "format=text&source=a&since=a:0:oldepoch")])
    first = lost.stdout.decode().splitlines()[0]
    assert first.startswith("# dropped a:") and "restarted" in first


def test_heartbeats_keep_an_idle_follow_alive(tailcast, workdir):
    srv, _ = one_file_server(tailcast, workdir, server={"heartbeat_ms": 200})
    nd = CurlStream([url(srv, "follow")])
    sse = CurlStream([url(srv, "follow&format=sse")])
    try:
        nd.until(lambda ls: ls.count("\n") >= 3, timeout=5, what="three empty heartbeat lines")
        sse.until(lambda ls: sum(1 for l in ls if l.startswith(": heartbeat")) >= 3, timeout=5,
                  what="three SSE heartbeat comments")
        assert all(l == "\n" for l in nd.lines)
    finally:
        nd.stop()
        sse.stop()


def test_content_types_and_accept_event_stream(tailcast, workdir):
    srv, _ = one_file_server(tailcast, workdir, lines=1)
    for query, headers, want in [
        ("n=1", [], "application/x-ndjson"),
        ("n=1&format=text", [], "text/plain; charset=utf-8"),
        ("n=1&format=sse", [], "text/event-stream"),
        ("n=1", ["-H", "Accept: text/event-stream"], "text/event-stream"),
    ]:
        r = curl(["-f", "-D", "-", *headers, url(srv, query)])
        head = r.stdout.partition(b"\r\n\r\n")[0].decode().lower()
        assert f"content-type: {want}" in head, (query, head)
        assert "cache-control: no-store" in head and "x-accel-buffering: no" in head


# --------------------------------------------------------------------------- errors


def error_of(srv, query: str, headers: list[str] = ()) -> tuple[int, dict]:
    r = curl(["-w", "\n%{http_code}", *headers, url(srv, query)])
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), json.loads(body)


def test_bad_parameters_answer_400_with_the_error_envelope(tailcast, workdir):
    srv, _ = one_file_server(tailcast, workdir)
    for query, param in [("n=x", "n"), ("q=(", "q"), ("source=nope", "source"), ("format=xml", "format"),
                         ("follow=yes", "follow"), ("from=yesterday", "from"), ("from=-15x", "from"),
                         ("from=2026-12-03T10:00:00", "from"), ("bogus=1", "bogus")]:
        code, err = error_of(srv, query)
        assert code == 400, query
        assert err["type"] == "error" and err["code"] == "bad_query" and err["param"] == param, (query, err)
        assert err["message"]
    # curl -f exits 22 on it, as a script wants.
    assert curl(["-f", url(srv, "n=x")]).returncode == 22


def test_401_without_a_token_and_403_for_a_source_it_may_not_read(tailcast, workdir):
    full, only_a = secrets.token_hex(24), secrets.token_hex(24)
    tokens = workdir / "tokens"
    tokens.write_text(f"{full}\n{only_a} a\n")
    a, b = workdir / "a.log", workdir / "b.log"
    a.write_text("a1\n")
    b.write_text("b1\n")
    srv = tailcast(sources=file_sources({"a": a, "b": b}), start=False)
    srv.config_path.write_text(srv.config_path.read_text() + f'\n[auth]\ntokens_file = "{tokens}"\n')
    srv.start()
    code, err = error_of(srv, "n=1")
    assert code == 401 and err["type"] == "error" and err["code"] == "unauthorized"
    code, err = error_of(srv, "n=1", ["-H", "Authorization: Bearer wrong"])
    assert code == 401 and err["code"] == "unauthorized"
    code, err = error_of(srv, "n=1&source=b", ["-H", f"Authorization: Bearer {only_a}"])
    assert code == 403 and err["code"] == "forbidden" and err["param"] == "source"
    # The grant narrows the default selection; token= in the URL works too (EventSource).
    ok = curl(["-f", url(srv, f"n=5&token={only_a}")])
    assert [r["source"] for r in ndjson(ok.stdout)] == ["a"]
    ok = curl(["-f", "-H", f"Authorization: Bearer {full}", url(srv, "n=5")])
    assert sorted(r["source"] for r in ndjson(ok.stdout)) == ["a", "b"]


# --------------------------------------------------------------------------- SSE


def sse_events(srv, query: str, last_event_id: str | None = None):
    req = urllib.request.Request(url(srv, query), headers={"Accept": "text/event-stream"})
    if last_event_id:
        req.add_header("Last-Event-ID", last_event_id)
    resp = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10)
    assert resp.headers["Content-Type"] == "text/event-stream"
    return resp, (e for e in sseclient.SSEClient(resp).events() if e.data)


def test_sse_reconnect_resumes_from_last_event_id_without_gap_or_duplicate(tailcast, workdir):
    srv, log = one_file_server(tailcast, workdir, lines=5)
    epoch = srv.sources()["app"]["epoch"]
    resp, events = sse_events(srv, "follow&n=5")
    seqs: list[int] = []
    last_id = None

    def read_until(events, seqs, last: int):
        nonlocal last_id
        for e in events:
            assert e.event == "lines", e.event
            seqs += [l["seq"] for l in json.loads(e.data)["lines"]]
            last_id = e.id
            if seqs[-1] >= last:
                return

    read_until(events, seqs, 5)
    assert last_id == f"app:5:{epoch}"
    append_lines(log, [f"more {i}" for i in range(6, 51)])
    read_until(events, seqs, 50)
    # Disconnect, write while away, come back as EventSource does: same URL, Last-Event-ID.
    resp.close()
    append_lines(log, [f"away {i}" for i in range(51, 101)])
    srv.wait_seq("app", 100)
    resp2, events2 = sse_events(srv, "follow&n=5", last_event_id=last_id)
    try:
        more: list[int] = []
        read_until(events2, more, 100)
        assert last_id == f"app:100:{epoch}"
        assert_continuous(seqs + more, first=1)
        assert len(seqs + more) == 100
    finally:
        resp2.close()


def test_sse_ids_name_every_selected_source(tailcast, workdir):
    a, b = workdir / "a.log", workdir / "b.log"
    a.write_text("a1\na2\n")
    b.write_text("b1\n")
    srv = tailcast(sources=file_sources({"a": a, "b": b}))
    srv.wait_seq("a", 2)
    epoch = srv.sources()["a"]["epoch"]
    resp, events = sse_events(srv, "n=5")
    got = list(events)
    resp.close()
    assert got[-1].id == f"a:2:{epoch},b:1:{epoch}"
    assert [l["seq"] for e in got for l in json.loads(e.data)["lines"] if l["source"] == "a"] == [1, 2]


# --------------------------------------------------------------------------- backpressure


def test_a_stalled_curl_gets_one_exact_dropped_and_costs_others_nothing(tailcast, workdir):
    srv, log = one_file_server(tailcast, workdir, ring_lines=2000)
    stalled = CurlStream([url(srv, "follow")])
    other = CurlStream([url(srv, "follow")])
    total, chunk = 40_000, 1000
    pad = "x" * 400
    try:
        wait_for(lambda: srv.metrics().value("tailcast_connections") >= 2, 5, "two follow streams")
        stalled.proc.send_signal(signal.SIGSTOP)
        # ~16 MB while one reader is stopped: far more than its socket buffers and the ring
        # (2 000 lines) hold. The other reader gets every line as it is written.
        for k in range(0, total, chunk):
            append_lines(log, [f"{i} {pad}" for i in range(k + 1, k + chunk + 1)])
            other.until(lambda ls: len(ls) >= k + chunk, timeout=15, what=f"{k + chunk} lines on the other client")
        assert_continuous([r["seq"] for r in other.records()], first=1)
        assert not [r for r in other.records() if r.get("type") == "dropped"]
        stalled.proc.send_signal(signal.SIGCONT)

        def done(ls):
            return ls and ls[-1].strip() and json.loads(ls[-1]).get("seq") == total

        stalled.until(done, timeout=30, what="the stalled client to catch up")
        recs = stalled.records()
        dropped = [r for r in recs if r.get("type") == "dropped"]
        assert len(dropped) == 1, dropped
        d = dropped[0]
        assert d["reason"] == "slow_consumer" and d["source"] == "app"
        assert d["count"] == d["to_seq"] - d["from_seq"] + 1
        i = recs.index(d)
        before = [r["seq"] for r in recs[:i]]
        after = [r["seq"] for r in recs[i + 1:]]
        assert_continuous(before, first=1)
        assert before[-1] + 1 == d["from_seq"] and d["to_seq"] + 1 == after[0]
        assert_continuous(after)
        assert after[-1] == total
    finally:
        stalled.stop()
        other.stop()
    wait_for(lambda: srv.metrics().value("tailcast_connections") == 0, 5, "both streams released")


# --------------------------------------------------------------------------- from=TIME


def rfc3339(t: float, hours: int = 0) -> str:
    return datetime.fromtimestamp(t, tz=timezone(timedelta(hours=hours))).isoformat()


def two_batches(tailcast, workdir):
    """Batch 1 (seq 1-3) read before T, batch 2 (seq 4-6) after: T is between their read times."""
    srv, log = one_file_server(tailcast, workdir)
    append_lines(log, ["first 1", "first 2", "first 3"])
    srv.wait_seq("app", 3)
    t = time.time()
    time.sleep(0.02)
    append_lines(log, ["second 4", "second 5", "second 6"])
    srv.wait_seq("app", 6)
    return srv, log, t


def test_from_selects_lines_by_read_time_exactly(tailcast, workdir):
    srv, _, t = two_batches(tailcast, workdir)
    for hours in (0, 2, -5):
        got = ndjson(curl(["-f", "-G", url(srv), "--data-urlencode", f"from={rfc3339(t, hours)}"]).stdout)
        assert [r["seq"] for r in got] == [4, 5, 6], hours
    z = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert [r["seq"] for r in ndjson(curl(["-f", "-G", url(srv), "--data-urlencode", f"from={z}"]).stdout)] == [4, 5, 6]
    assert [r["seq"] for r in ndjson(curl(["-f", url(srv, "from=-1h")]).stdout)] == [1, 2, 3, 4, 5, 6]
    got = ndjson(curl(["-f", "-G", url(srv), "--data-urlencode", f"from={rfc3339(t)}", "-d", "n=2"]).stdout)
    assert [r["seq"] for r in got] == [5, 6]
    assert curl(["-f", url(srv, "from=2099-01-01T00:00:00Z")]).stdout == b""


def test_from_on_the_websocket_and_in_a_query_message(tailcast, workdir):
    srv, log, t = two_batches(tailcast, workdir)

    async def go():
        c = await ws_open(srv, {"from": rfc3339(t, 1)})
        assert c.hello["query"]["from"] == datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        await c.lines_until(3)
        assert c.seqs() == [4, 5, 6]
        n = len(c.msgs)
        await c.send({"type": "query", "from": "-1h", "n": 4})
        await c.next_of_type("hello", start=n)
        await c.until(lambda c: len(c.lines) >= 7, what="the new query's replay")
        assert c.seqs()[3:] == [3, 4, 5, 6]
        n = len(c.msgs)
        await c.send({"type": "query", "from": "soon"})
        err = await c.next_of_type("error", start=n)
        assert err["code"] == "bad_query" and err["param"] == "from"
        append_lines(log, ["third 7"])
        await c.until(lambda c: c.seqs()[-1] == 7, what="the old query to keep following")
        await c.close()

    run(go())


# --------------------------------------------------------------------------- limits and lifecycle


def test_follow_streams_count_as_connections(tailcast, workdir):
    srv, _ = one_file_server(tailcast, workdir, lines=1, server={"max_connections": 1})
    first = CurlStream([url(srv, "follow&n=1")])
    try:
        first.until(lambda ls: len(ls) >= 1, what="the first stream's replay")
        code, err = error_of(srv, "follow")
        assert code == 503 and err["type"] == "error" and err["code"] == "too_many_connections", err
        # A one-shot answer is not a connection.
        assert [r["seq"] for r in ndjson(curl(["-f", url(srv, "n=1")]).stdout)] == [1]
    finally:
        first.stop()
    # Its place is free as soon as it is gone.
    wait_for(lambda: curl(["-m", "1", url(srv, "follow&n=1&format=text")]).stdout == b"old 1\n", 5,
             "a new follow stream to be admitted")


def test_a_reader_that_takes_nothing_is_cut_after_write_timeout(tailcast, workdir):
    srv, log = one_file_server(tailcast, workdir, server={"write_timeout_ms": 500})
    stalled = CurlStream([url(srv, "follow")])
    try:
        wait_for(lambda: srv.metrics().value("tailcast_connections") == 1, 5, "the follow stream")
        stalled.proc.send_signal(signal.SIGSTOP)
        pad = "y" * 1000
        for k in range(0, 20_000, 2000):
            append_lines(log, [f"{i} {pad}" for i in range(k, k + 2000)])
        wait_for(lambda: srv.metrics().value("tailcast_write_timeouts_total") >= 1, 15, "a write timeout")
        wait_for(lambda: srv.metrics().value("tailcast_connections") == 0, 5, "the stream released")
    finally:
        stalled.stop()


def test_shutdown_ends_follow_streams_cleanly(tailcast, workdir):
    srv, _ = one_file_server(tailcast, workdir, lines=1)
    stream = CurlStream([url(srv, "follow&n=1&format=text")])
    stream.until(lambda ls: ls == ["old 1\n"], what="the replay")
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0
    assert stream.proc.wait(timeout=10) == 0, stream.proc.stderr.read()
