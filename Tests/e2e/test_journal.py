"""The journal source (kind = "journald"): live entries from the real journald, the journal-only
query parameters (unit, priority, identifier, fields), a 50 000-entry burst, coexistence with a
file source, --journal on the command line, /readyz, and a private journal directory written
by the real systemd-journal-remote.

Every test writes with its own SYSLOG_IDENTIFIER (uuid-based), so runs and tests never see each
other's entries.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from conftest import (
    append_lines,
    assert_continuous,
    file_sources,
    http_get,
    run,
    wait_for,
    ws_error_then_close,
    ws_open,
)
from journal_support import (  # noqa: F401 - journald is a fixture
    JOURNAL_REMOTE,
    PRIORITY_NAMES,
    CatStream,
    iso_from_usec,
    journal_cat,
    journal_json,
    journal_remote_write,
    journal_send,
    journal_stored,
    journald,
    parse_ts,
    unique_ident,
    wait_stored,
)

LIVE_BOUND = 3.0  # seconds; the target is 1 s, the bound leaves room for a loaded CI


def jsrc(name: str = "journal", **extra) -> dict:
    return {"name": name, "kind": "journald", **extra}


def _has_text(text: str):
    return lambda c: any(l["text"] == text for l in c.lines)


def _report(record_property, capsys, key: str, value) -> None:
    record_property(key, value)
    with capsys.disabled():
        print(f"\n[test_journal] {key} = {value}")


# --------------------------------------------------------------------------- live entries


def test_entries_arrive_live_with_fields(tailcast, journald, record_property, capsys):
    srv = tailcast(sources=[jsrc()])
    ident = unique_ident()
    msgs = [f"live {ident} {i}" for i in range(5)]

    async def body():
        c = await ws_open(srv, {"identifier": ident})
        assert c.hello["sources"] == ["journal"], c.hello
        latencies = []
        with CatStream(ident, "warning") as cat:
            for m in msgs:
                t0 = cat.write(m)
                await c.until(_has_text(m), 10.0, f"journal entry {m!r}")
                latencies.append(time.monotonic() - t0)
            stored = journal_json(ident)  # while `cat` still runs, so _COMM/_PID are recorded
        await c.close()
        return c, latencies, stored

    c, latencies, stored = run(body())
    _report(record_property, capsys, "journal_live_latency_s",
            ", ".join(f"{x:.3f}" for x in latencies))
    assert max(latencies) < LIVE_BOUND, f"entries took {latencies} s to arrive (bound {LIVE_BOUND} s)"

    assert c.texts() == msgs, c.texts()
    assert [s["MESSAGE"] for s in stored] == msgs
    seqs = c.seqs()
    assert all(b > a for a, b in zip(seqs, seqs[1:])), seqs
    for line, entry in zip(c.lines, stored):
        assert line["source"] == "journal"
        assert "matches" not in line and "context" not in line, line
        f = line.get("fields")
        assert isinstance(f, dict), f"journal line without a fields object: {line}"
        assert f.get("priority") == 4, f"priority: expected 4 (warning, a number), got {f.get('priority')!r}"
        assert f.get("identifier") == ident, f
        assert f.get("pid") == int(entry["_PID"]), f"pid: expected {int(entry['_PID'])} (number), got {f.get('pid')!r}"
        assert f.get("hostname") == entry["_HOSTNAME"], f
        assert f.get("cursor") == entry["__CURSOR"], f"cursor: expected {entry['__CURSOR']!r}, got {f.get('cursor')!r}"
        if "_SYSTEMD_UNIT" in entry:
            assert f.get("unit") == entry["_SYSTEMD_UNIT"], f
        else:
            assert "unit" not in f, f"unit given though the entry has no _SYSTEMD_UNIT: {f}"
        assert "_COMM" not in f, f"_COMM without fields=: {f}"
        want = iso_from_usec(int(entry["__REALTIME_TIMESTAMP"]))
        assert parse_ts(line["ts"]) == want, (
            f"ts: expected {want.isoformat()} (from __REALTIME_TIMESTAMP), got {line['ts']!r}")


def test_identifier_filter(tailcast, journald):
    srv = tailcast(sources=[jsrc()])
    a, b = unique_ident("tcja"), unique_ident("tcjb")

    async def body():
        ca = await ws_open(srv, {"identifier": a})
        cab = await ws_open(srv, [("identifier", a), ("identifier", b)])
        journal_cat(b, ["b1", "b2"])
        await cab.until(lambda c: len(c.lines) >= 2, 10.0, "the two entries of B")
        journal_cat(a, ["a1", "a2"])
        await ca.until(_has_text("a2"), 10.0, "a2")
        await cab.until(lambda c: len(c.lines) >= 4, 10.0, "all four entries")
        # ca reads the source in order: it has passed B's entries (lower seq) already
        for c in (ca, cab):
            await c.close()
        return ca, cab

    ca, cab = run(body())
    assert ca.texts() == ["a1", "a2"], ca.texts()
    assert [l["fields"]["identifier"] for l in ca.lines] == [a, a]
    assert cab.texts() == ["b1", "b2", "a1", "a2"], cab.texts()
    assert min(ca.seqs()) > max(l["seq"] for l in cab.lines if l["text"].startswith("b"))


@pytest.mark.parametrize("value,keep", [
    ("3", {1, 2, 3}),
    ("err", {1, 2, 3}),
    ("warning", {1, 2, 3, 4}),
    ("1", {1}),
    ("alert", {1}),
    ("7", {1, 2, 3, 4, 5, 6, 7}),
    ("debug", {1, 2, 3, 4, 5, 6, 7}),
    ("5", {1, 2, 3, 4, 5}),
    ("notice", {1, 2, 3, 4, 5}),
])
def test_priority_filter(tailcast, journald, value, keep):
    srv = tailcast(sources=[jsrc()])
    ident = unique_ident()
    levels = [7, 6, 5, 4, 3, 2, 1]  # the last one (alert) passes every filter: it ends the wait
    lines = [f"<{n}>{PRIORITY_NAMES[n]} {ident}" for n in levels]

    async def body():
        c = await ws_open(srv, {"identifier": ident, "priority": value})
        every = await ws_open(srv, {"identifier": ident})
        journal_cat(ident, lines)  # systemd-cat's level prefix <N> sets each entry's priority
        await every.until(lambda x: len(x.lines) >= len(levels), 10.0, "all 7 entries")
        await c.until(_has_text(f"alert {ident}"), 10.0, "the alert entry")
        for x in (c, every):
            await x.close()
        return c, every

    c, every = run(body())
    got_all = {l["fields"]["priority"] for l in every.lines}
    assert got_all == set(levels), f"journald/tailcast priorities: {[l['fields'] for l in every.lines]}"
    for l in every.lines:
        assert l["text"] == f"{PRIORITY_NAMES[l['fields']['priority']]} {ident}", l
    got = [l["fields"]["priority"] for l in c.lines]
    want = [n for n in levels if n in keep]
    assert got == want, f"priority={value}: expected priorities {want}, got {got}"


@pytest.mark.parametrize("value", ["8", "-1", "bogus", "", "3x"])
def test_priority_bad_value_is_error(tailcast, journald, value):
    srv = tailcast(sources=[jsrc()])
    err, code, _ = run(ws_error_then_close(srv, {"priority": value}))
    assert err.get("param") == "priority", f"priority={value!r}: expected param 'priority', got {err}"
    assert code == 1008, f"priority={value!r}: close code {code}"


def test_fields_parameter_adds_journal_fields(tailcast, journald):
    srv = tailcast(sources=[jsrc()])
    ident = unique_ident()

    async def body():
        plain = await ws_open(srv, {"identifier": ident})
        withf = await ws_open(srv, {"identifier": ident, "fields": "_COMM,_TRANSPORT,CODE_FILE"})
        with CatStream(ident) as cat:
            cat.write("via systemd-cat")
            await withf.until(_has_text("via systemd-cat"), 10.0, "the systemd-cat entry")
            await plain.until(_has_text("via systemd-cat"), 10.0, "the systemd-cat entry")
            stored = journal_json(ident)
        # a native-protocol entry from this (long-lived) process, with custom fields
        journal_send({"MESSAGE": "via native", "SYSLOG_IDENTIFIER": ident, "PRIORITY": 5,
                      "CODE_FILE": "test_journal.py", "TCJ_EXTRA": "x"})
        await withf.until(_has_text("via native"), 10.0, "the native entry")
        await plain.until(_has_text("via native"), 10.0, "the native entry")
        for x in (plain, withf):
            await x.close()
        return plain, withf, stored + journal_json(ident)[1:]

    plain, withf, stored = run(body())
    assert [s["MESSAGE"] for s in stored] == ["via systemd-cat", "via native"]
    cat_entry, native_entry = stored
    f0, f1 = withf.lines[0]["fields"], withf.lines[1]["fields"]
    # what journald recorded is what tailcast must show
    assert cat_entry.get("_COMM") == "cat", f"journald recorded _COMM={cat_entry.get('_COMM')!r}"
    assert f0.get("_COMM") == cat_entry["_COMM"], f"fields=_COMM: expected _COMM {cat_entry['_COMM']!r}, got {f0}"
    assert f0.get("_TRANSPORT") == "stdout", f0
    assert f0.get("CODE_FILE") is None, f"CODE_FILE absent from the entry but given: {f0}"
    assert f1.get("_COMM") == native_entry["_COMM"], f1
    assert f1.get("_TRANSPORT") == "journal", f1
    assert f1.get("CODE_FILE") == "test_journal.py", f1
    assert "TCJ_EXTRA" not in f1, f"a field not asked for is given: {f1}"
    for f in (f0, f1):  # the standard fields stay
        for k in ("priority", "identifier", "pid", "hostname", "cursor"):
            assert k in f, f"{k} missing with fields=: {f}"
    assert f1["priority"] == 5
    for l in plain.lines:
        assert not {"_COMM", "_TRANSPORT", "CODE_FILE"} & set(l["fields"]), l["fields"]

    # fields= as the only journal parameter also narrows the default selection to journal sources
    async def hello_only():
        c = await ws_open(srv, {"fields": "_COMM"})
        await c.close()
        return c.hello
    hello = run(hello_only())
    assert hello["sources"] == ["journal"], hello


# --------------------------------------------------------------------------- burst


@pytest.mark.parametrize("mode", ["unrestricted_source", "restricted_source"])
def test_burst_of_50000_entries(tailcast, journald, record_property, capsys, mode):
    """50 000 entries through one systemd-cat: tailcast delivers exactly what journald stored.

    unrestricted_source: the source reads the whole journal, the connection filters by
    identifier=; restricted_source: the source itself has identifiers = [IDENT], so its seq
    numbers count exactly the burst and must run 1..N without a gap.
    """
    ident = unique_ident("tcjburst")
    limits = {"ring_lines": 200_000, "ring_bytes": 256 << 20}
    if mode == "restricted_source":
        srv = tailcast(sources=[jsrc(identifiers=[ident], **limits)])
        query = {"source": "journal"}
    else:
        srv = tailcast(sources=[jsrc(**limits)])
        query = {"source": "journal", "identifier": ident}
    n = 50_000
    lines = [f"burst {ident} {i:06d}" for i in range(n)]

    async def body():
        c = await ws_open(srv, query)
        t0 = time.monotonic()
        journal_cat(ident, lines)  # ONE systemd-cat, everything through its stdin
        t_written = time.monotonic() - t0
        stored = wait_stored(ident, lines[-1], n)
        try:
            # delivery is in order: the last stored entry ends the wait, complete or not
            await c.until(lambda x: len(x.lines) >= len(stored)
                          or (x.lines and x.lines[-1]["text"] == stored[-1]),
                          30.0, f"{len(stored)} burst lines")
        except AssertionError:
            pass  # reported below with the exact discrepancy
        t_all = time.monotonic() - t0
        await c.quiet(0.3)  # a bounded look for surplus lines
        await c.close()
        return c, stored, t_written, t_all

    c, stored, t_written, t_all = run(body())
    _report(record_property, capsys, f"journal_burst[{mode}]",
            f"written {n} in {t_written:.2f}s; journald stored {len(stored)}; tailcast delivered "
            f"{len(c.lines)} after {t_all:.2f}s")
    assert len(stored) > 0, "journald stored none of the burst"
    assert not c.of_type("dropped"), c.of_type("dropped")[:3]
    texts = c.texts()
    if texts != stored:
        got_idx = [int(t.rsplit(" ", 1)[1]) for t in texts]
        missing = sorted(set(stored) - set(texts))
        raise AssertionError(
            f"expected the {len(stored)} stored entries in order, got {len(texts)}; first delivered "
            f"{texts[:1]}, last {texts[-1:]}; {len(missing)} missing, first missing {missing[:1]}, "
            f"last missing {missing[-1:]}; in order: {got_idx == sorted(got_idx)}; "
            f"source seq now {srv.sources()['journal']['seq']}")
    seqs = c.seqs("journal")
    if mode == "restricted_source":
        assert_continuous(seqs, first=1)
        assert srv.sources()["journal"]["seq"] == len(stored)
    else:
        assert all(b > a for a, b in zip(seqs, seqs[1:])), "seq not rising"


def test_source_matching_nothing_at_start_gets_every_later_entry(tailcast, journald):
    """A source whose matches select no entry yet (a new identifier) must not skip the first
    entries that arrive: all of them, from the first, with seq 1, 2, 3, ..."""
    ident = unique_ident()
    srv = tailcast(sources=[jsrc(identifiers=[ident])])
    lines = [f"first batch {i}" for i in range(5)]

    async def body():
        c = await ws_open(srv, {"source": "journal"})
        journal_cat(ident, lines)  # one stream: journald stores them in this order
        await c.until(_has_text(lines[-1]), 10.0, "the last entry of the batch")
        await c.quiet(0.3)
        journal_cat(ident, ["second batch"])
        await c.until(_has_text("second batch"), 10.0, "the second batch")
        await c.close()
        return c

    c = run(body())
    assert c.texts() == lines + ["second batch"], (
        f"expected {lines + ['second batch']}, got {c.texts()} (seqs {c.seqs()})")
    assert_continuous(c.seqs(), first=1)


# --------------------------------------------------------------------------- config filters


def test_config_identifiers_priority_and_matches(tailcast, journald):
    a, b = unique_ident("tcja"), unique_ident("tcjb")
    # one entry of each that every source keeps, before the start (initial_lines loads them),
    # so this test does not depend on how a source that matches nothing yet starts
    journal_cat(a, ["<2>a seed"])
    journal_cat(b, ["<2>b seed"])
    wait_for(lambda: journal_stored(a) and journal_stored(b), 10.0, "the seed entries in the journal")
    srv = tailcast(sources=[
        jsrc("warn", identifiers=[a], priority="warning"),
        jsrc("matched", matches=[f"SYSLOG_IDENTIFIER={b}"]),
        jsrc("numeric", identifiers=[a, b], priority=3),
    ])

    async def body():
        c = await ws_open(srv, {"source": "warn,matched,numeric", "n": 100})
        await c.until(lambda x: "a seed" in x.texts("warn") and "b seed" in x.texts("matched")
                      and "b seed" in x.texts("numeric"), 10.0, "the seed entries")
        journal_cat(b, ["<6>b info", "<3>b err"])
        journal_cat(a, ["<6>a info", "<4>a warning", "<7>a debug", "<2>a crit"])
        await c.until(lambda x: "a crit" in x.texts("warn") and "b err" in x.texts("matched")
                      and "a crit" in x.texts("numeric"), 10.0, "the last entries of each source")
        await c.close()
        return c

    c = run(body())
    got = {name: c.texts(name) for name in ("warn", "matched", "numeric")}
    want = {"warn": ["a seed", "a warning", "a crit"],
            "matched": ["b seed", "b info", "b err"],
            "numeric": ["a seed", "b seed", "b err", "a crit"]}
    assert got == want
    for name in ("warn", "matched", "numeric"):
        assert_continuous(c.seqs(name), first=1)


# --------------------------------------------------------------------------- with a file source


def test_journal_and_file_source_on_one_connection(tailcast, journald, workdir):
    ident = unique_ident()
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=[jsrc(identifiers=[ident]), *file_sources({"app": log})])

    async def body():
        both = await ws_open(srv, "")
        assert sorted(both.hello["sources"]) == ["app", "journal"], both.hello
        assert set(both.hello["epochs"]) == {"app", "journal"}, both.hello
        narrowed = await ws_open(srv, {"identifier": ident})
        assert narrowed.hello["sources"] == ["journal"], narrowed.hello
        append_lines(log, ["file line 1"])
        journal_cat(ident, ["journal line 1"])
        await both.until(lambda x: "file line 1" in x.texts("app") and "journal line 1" in x.texts("journal"),
                         10.0, "a line of each source")
        await narrowed.until(_has_text("journal line 1"), 10.0, "the journal line")
        await narrowed.quiet(0.3)
        for x in (both, narrowed):
            await x.close()
        return both, narrowed

    both, narrowed = run(body())
    assert both.texts("app") == ["file line 1"]
    assert both.texts("journal") == ["journal line 1"]
    assert "fields" not in both.lines[[l["source"] for l in both.lines].index("app")]
    assert narrowed.texts() == ["journal line 1"], narrowed.texts()


@pytest.mark.parametrize("param,value", [
    ("unit", "demo.service"),
    ("priority", "err"),
    ("identifier", "someone"),
    ("fields", "_COMM"),
])
@pytest.mark.parametrize("source", ["app", "journal,app"])
def test_journal_parameter_with_file_source_is_error(tailcast, journald, workdir, param, value, source):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=[jsrc(), *file_sources({"app": log})])
    err, code, msgs = run(ws_error_then_close(srv, {"source": source, param: value}))
    assert err.get("param") == param, f"source={source}&{param}={value}: expected param {param!r}, got {err}"
    assert code == 1008, f"source={source}&{param}={value}: close code {code}, expected 1008"
    assert not [m for m in msgs if m["type"] == "hello"], msgs
    assert http_get(srv.port, "/healthz")[0] == 200


def test_journal_parameter_in_query_message_with_file_source(tailcast, journald, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=[jsrc(), *file_sources({"app": log})])

    async def body():
        c = await ws_open(srv, {"source": "app"})
        n = len(c.msgs)
        await c.send({"type": "query", "source": "app", "priority": "err"})
        err = await c.next_of_type("error", 10.0, start=n)
        # a rejected query leaves the old one in force: the file still flows
        append_lines(log, ["still here"])
        await c.until(_has_text("still here"), 10.0, "the file line under the old query")
        await c.close()
        return err, c

    err, c = run(body())
    assert err.get("param") == "priority", err


# --------------------------------------------------------------------------- CLI, readiness


def test_cli_journal_flag(tailcast, journald):
    ident = unique_ident()
    srv = tailcast(sources=[], extra_args=["--journal", "jcli"])
    status, body = srv.get_json("/readyz")
    assert status == 200, body
    assert body["sources"] == {"jcli": {"state": "following"}}, body

    async def body_():
        c = await ws_open(srv, {"identifier": ident})
        assert c.hello["sources"] == ["jcli"], c.hello
        journal_cat(ident, ["from the cli source"])
        await c.until(_has_text("from the cli source"), 10.0, "the entry")
        await c.close()
        return c

    c = run(body_())
    assert c.lines[0]["source"] == "jcli"
    assert c.lines[0]["fields"]["identifier"] == ident


def test_readyz_and_api_sources(tailcast, journald):
    srv = tailcast(sources=[jsrc()])
    status, body = srv.get_json("/readyz")
    assert status == 200, body
    assert body == {"status": "ready", "sources": {"journal": {"state": "following"}}}, body
    info = srv.sources()["journal"]
    assert info["kind"] == "journald", info
    assert info["state"] == "following", info
    assert isinstance(info["seq"], int), info
    assert "path" not in info, info
    m = srv.metrics()
    assert m.get("tailcast_source_lines_read_total", source="journal") is not None


# --------------------------------------------------------------------------- private directory


def _dir_entries(start: int, count: int, base_usec: int, tag: str) -> list[dict]:
    out = []
    for i in range(start, start + count):
        demo = i % 2 == 0
        out.append({
            "__REALTIME_TIMESTAMP": base_usec + i * 1_000_123,
            "MESSAGE": f"{tag} entry {i:03d}",
            "_SYSTEMD_UNIT": "demo.service" if demo else "other.service",
            "PRIORITY": i % 8,
            "SYSLOG_IDENTIFIER": "demo" if demo else "other",
            "_PID": 1000 + i,
            "_HOSTNAME": "remotehost",
        })
    return out


def _check_entry(line: dict, entry: dict) -> None:
    assert line["text"] == entry["MESSAGE"], (line, entry)
    f = line.get("fields", {})
    want = {"unit": entry["_SYSTEMD_UNIT"], "priority": entry["PRIORITY"],
            "identifier": entry["SYSLOG_IDENTIFIER"], "pid": entry["_PID"], "hostname": "remotehost"}
    got = {k: f.get(k) for k in want}
    assert got == want, f"{entry['MESSAGE']}: fields expected {want}, got {got}"
    assert isinstance(f.get("cursor"), str) and f["cursor"], f
    assert parse_ts(line["ts"]) == iso_from_usec(entry["__REALTIME_TIMESTAMP"]), (
        f"ts: expected {iso_from_usec(entry['__REALTIME_TIMESTAMP']).isoformat()}, got {line['ts']}")


def test_private_journal_directory(tailcast, workdir):
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        pytest.skip(f"{JOURNAL_REMOTE} is missing (package systemd-journal-remote)")
    jdir = workdir / "journal"
    jdir.mkdir()
    base = (int(time.time()) - 3600) * 1_000_000
    first = _dir_entries(0, 40, base, "old")
    journal_remote_write(jdir / "remote.journal", first)

    srv = tailcast(sources=[jsrc(directory=str(jdir), initial_lines=1000)])
    small = tailcast(sources=[jsrc("last10", directory=str(jdir), initial_lines=10)])
    assert srv.get_json("/readyz")[1]["sources"] == {"journal": {"state": "following"}}

    live1 = _dir_entries(40, 6, base, "live")
    live2 = _dir_entries(46, 4, base, "second")

    async def body():
        allc = await ws_open(srv, {"n": 1000})
        await allc.until(lambda x: len(x.lines) >= 40, 10.0, "the 40 stored entries")
        demo = await ws_open(srv, {"n": 1000, "unit": "demo.service"})
        await demo.until(lambda x: len(x.lines) >= 20, 10.0, "the 20 demo.service entries")
        errs = await ws_open(srv, {"n": 1000, "priority": "err"})
        await errs.until(lambda x: len(x.lines) >= 20, 10.0, "the 20 entries of priority <= 3")
        tail = await ws_open(small, {"n": 1000})
        await tail.until(lambda x: len(x.lines) >= 10, 10.0, "the last 10 entries")
        await tail.quiet(0.3)
        replay = (list(allc.lines), list(demo.lines), list(errs.lines), list(tail.lines))

        # live: append to the same journal file, then a second file in the directory
        journal_remote_write(jdir / "remote.journal", live1)
        await allc.until(_has_text(live1[-1]["MESSAGE"]), 10.0, "the appended entries")
        await demo.until(_has_text(live1[-2]["MESSAGE"]), 10.0, "the appended demo entries")
        journal_remote_write(jdir / "second.journal", live2)
        await allc.until(_has_text(live2[-1]["MESSAGE"]), 10.0, "the entries of second.journal")
        await demo.until(_has_text(live2[-2]["MESSAGE"]), 10.0, "the demo entries of second.journal")
        await allc.quiet(0.3)
        for x in (allc, demo, errs, tail):
            await x.close()
        return replay, allc, demo

    (r_all, r_demo, r_errs, r_tail), allc, demo = run(body())

    assert [l["text"] for l in r_all] == [e["MESSAGE"] for e in first]
    for line, entry in zip(r_all, first):
        _check_entry(line, entry)
    assert_continuous([l["seq"] for l in r_all], first=1)
    assert [l["text"] for l in r_demo] == [e["MESSAGE"] for e in first if e["_SYSTEMD_UNIT"] == "demo.service"]
    assert [l["text"] for l in r_errs] == [e["MESSAGE"] for e in first if e["PRIORITY"] <= 3]
    assert [l["text"] for l in r_tail] == [e["MESSAGE"] for e in first[-10:]], [l["text"] for l in r_tail]

    every = first + live1 + live2
    assert allc.texts() == [e["MESSAGE"] for e in every], allc.texts()[38:]
    for line, entry in zip(allc.lines, every):
        _check_entry(line, entry)
    assert_continuous(allc.seqs(), first=1)
    assert demo.texts() == [e["MESSAGE"] for e in every if e["_SYSTEMD_UNIT"] == "demo.service"]


def test_private_journal_directory_appears_later(tailcast, workdir):
    """directory = a path that does not exist yet: the source is `waiting` (503); once the
    directory appears with a journal in it, the source follows, loads its entries and reads
    later ones live."""
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        pytest.skip(f"{JOURNAL_REMOTE} is missing (package systemd-journal-remote)")
    jdir = workdir / "later"
    srv = tailcast(sources=[jsrc(directory=str(jdir))], wait_ready=False)
    status, body = srv.get_json("/readyz")
    assert status == 503, body
    assert body["status"] == "degraded", body
    assert body["sources"]["journal"]["state"] == "waiting", body
    assert body["sources"]["journal"].get("error"), body

    base = (int(time.time()) - 600) * 1_000_000
    early, late = _dir_entries(0, 8, base, "early"), _dir_entries(8, 4, base, "late")
    staging = workdir / "staging"
    staging.mkdir()
    journal_remote_write(staging / "remote.journal", early)
    os.rename(staging, jdir)  # the directory appears at once, with its journal
    wait_for(lambda: srv.get_json("/readyz")[0] == 200, 10.0, "/readyz 200 once the directory exists")

    async def body_():
        c = await ws_open(srv, {"n": 1000})
        await c.until(lambda x: len(x.lines) >= len(early), 10.0, "the entries present at the start")
        journal_remote_write(jdir / "remote.journal", late)
        await c.until(_has_text(late[-1]["MESSAGE"]), 10.0, "the later entries")
        await c.quiet(0.3)
        await c.close()
        return c

    c = run(body_())
    assert c.texts() == [e["MESSAGE"] for e in early + late], c.texts()
    for line, entry in zip(c.lines, early + late):
        _check_entry(line, entry)
    assert_continuous(c.seqs(), first=1)


def test_private_journal_directory_starting_empty(tailcast, workdir, record_property, capsys):
    """An existing but empty journal directory: every entry written into it later arrives."""
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        pytest.skip(f"{JOURNAL_REMOTE} is missing (package systemd-journal-remote)")
    jdir = workdir / "empty"
    jdir.mkdir()
    srv = tailcast(sources=[jsrc(directory=str(jdir))], wait_ready=False)
    wait_for(lambda: srv.get_json("/readyz")[1]["sources"]["journal"]["state"] != "error", 5.0,
             "a non-error state")
    _report(record_property, capsys, "empty_directory_readyz", json.dumps(srv.get_json("/readyz")))
    base = (int(time.time()) - 60) * 1_000_000
    entries = _dir_entries(0, 6, base, "fresh")

    async def body():
        c = await ws_open(srv, {"n": 1000})
        journal_remote_write(jdir / "remote.journal", entries)
        await c.until(_has_text(entries[-1]["MESSAGE"]), 15.0, "the last entry written")
        await c.quiet(0.3)
        await c.close()
        return c

    c = run(body())
    assert c.texts() == [e["MESSAGE"] for e in entries], (
        f"expected {[e['MESSAGE'] for e in entries]}, got {c.texts()}")
    assert_continuous(c.seqs(), first=1)
    assert srv.get_json("/readyz")[0] == 200
