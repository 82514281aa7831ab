"""What the server makes of a line at ingest, seen from outside (issue 15, points 4, 5 and 9):
filters see coloured lines without their colours, `log_ts` carries the time written in a
line, and a file that appears after the start is announced with an event."""

from __future__ import annotations

import re
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import append_lines, file_sources, run, wait_for, ws_open
from journal_support import CatStream, journal_json, journald, unique_ident  # noqa: F401 - journald is a fixture
from ui_support import driver, page, ui_url  # noqa: F401 - fixtures

ESC = "\x1b"


def _utf16(text: str, start: int, end: int) -> str:
    """text[start:end] in UTF-16 code units, as JavaScript (and `matches`) count them."""
    return text.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le")


def _replay(srv, query: dict, count: int) -> list[dict]:
    """The lines a WebSocket with `query` gets: `count` of them, then nothing more for a moment."""
    async def go():
        c = await ws_open(srv, query)
        await c.lines_until(count)
        await c.quiet(0.3)
        await c.close()
        return c.lines
    return run(go())


# --------------------------------------------------------------------------- colours (15.4)

COLOURED = [
    f"{ESC}[31mERROR{ESC}[0m [worker 1] job 🎉 failed",            # 0: the word in colour
    f"{ESC}[1mERROR {ESC}[0m{ESC}[2m[worker 2]{ESC}[0m retry",      # 1: colour changes mid-match
    f"ERRORS {ESC}[33meverywhere{ESC}[0m",                          # 2: no whole word ERROR
    "plain ERROR [worker 3] café",                                  # 3: no escapes at all
    f"progress{ESC}[K ERROR{ESC}[2K done",                          # 4: other CSI (erase line)
    f"{ESC}[32mok{ESC}[0m nothing to see",                          # 5
]


def test_filters_see_coloured_lines_without_their_colours(tailcast, workdir: Path):
    log = workdir / "app.log"
    append_lines(log, COLOURED)
    srv = tailcast(sources=file_sources({"app": log}))

    # -w: the escape's final `m` no longer touches the word.
    words = _replay(srv, {"q": "ERROR", "w": "", "n": 100}, 4)
    assert [l["text"] for l in words] == [COLOURED[i] for i in (0, 1, 3, 4)], words
    for l in words:
        assert [_utf16(l["text"], s, e) for s, e in l["matches"]] == ["ERROR"], l
    assert words[0]["matches"] == [[5, 10]]          # raw offsets: after "\x1b[31m"

    # A regex across a colour change matches; its span covers the escapes inside it.
    worker = _replay(srv, {"q": r"ERROR \[worker", "n": 100}, 3)
    assert [l["text"] for l in worker] == [COLOURED[i] for i in (0, 1, 3)], worker
    spans = [[_utf16(l["text"], s, e) for s, e in l["matches"]] for l in worker]
    assert spans == [["ERROR\x1b[0m [worker"], ["ERROR \x1b[0m\x1b[2m[worker"], ["ERROR [worker"]], spans

    # The same over a WebSocket, after the emoji (2 UTF-16 units), and with `not` and -F.
    async def scenario():
        c = await ws_open(srv, {"q": "failed", "n": 100})
        await c.lines_until(1)
        line = c.lines[0]
        assert line["text"] == COLOURED[0]                # the text is shown as read, colours and all
        assert [_utf16(line["text"], s, e) for s, e in line["matches"]] == ["failed"]
        assert line["matches"] == [[33, 39]]
        await c.close()
        c = await ws_open(srv, {"not": r"^ERROR\b", "n": 100})
        await c.lines_until(4)
        assert c.texts() == [COLOURED[i] for i in (2, 3, 4, 5)]
        await c.close()
        c = await ws_open(srv, {"q": "ok nothing", "F": "", "n": 100})
        await c.lines_until(1)
        assert c.texts() == [COLOURED[5]]
        await c.close()

    run(scenario())


# --------------------------------------------------------------------------- log_ts (15.5)


def test_log_ts_is_the_time_written_in_the_line(tailcast, workdir: Path, monkeypatch):
    monkeypatch.setenv("TZ", "TST-2")     # the server's local time is UTC+2 (POSIX sign)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    an_hour_ago = now - timedelta(hours=1)
    local = an_hour_ago + timedelta(hours=2)
    syslog = f"{local:%b} {local.day:2d} {local:%H:%M:%S} host sshd[12]: accepted"
    cases = [
        ("2026-12-03T10:00:00.123Z rfc3339", "2026-12-03T10:00:00.123000Z"),
        ("2026-12-03T10:00:00.5+01:00 with an offset", "2026-12-03T09:00:00.500000Z"),
        ("2026-12-03 10:00:00,25 python logging, local time", "2026-12-03T08:00:00.250000Z"),
        ("[2026-12-03T10:00:00-05:30] bracketed", "2026-12-03T15:30:00.000000Z"),
        ("2026/12/03 10:00:00 [error] 7#7: nginx error log", "2026-12-03T08:00:00.000000Z"),
        (syslog, f"{an_hour_ago:%Y-%m-%dT%H:%M:%S}.000000Z"),
        ('203.0.113.7 - alice [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8"',
         "2026-12-03T10:00:00.000000Z"),
        (f"{ESC}[2m2026-12-03T10:00:00Z{ESC}[0m coloured", "2026-12-03T10:00:00.000000Z"),
        ("no time in this line", None),
        ("2026-02-30 10:00:00 no such day", None),
        ("2026-12-03T25:00:00Z no such hour", None),
        ("Dec 32 10:00:00 host no such day", None),
        ('1.2.3.4 - - [03/Dec/2026:10:00:00] "GET /" no zone', None),
        ("later: 2026-12-03T10:00:00Z not at the start", None),
    ]
    log = workdir / "app.log"
    append_lines(log, [text for text, _ in cases])
    srv = tailcast(sources=file_sources({"app": log}))

    lines = _replay(srv, {"n": 100}, len(cases))
    assert [l["text"] for l in lines] == [text for text, _ in cases]
    got = [(l["text"], l.get("log_ts")) for l in lines]
    assert got == cases
    for l in lines:
        assert set(l) <= {"source", "seq", "ts", "text", "log_ts"}, l

    # Lines written after the start are parsed too, and on the WebSocket as on /api/lines.
    async def scenario():
        c = await ws_open(srv, {"q": "live"})
        append_lines(log, ["2026-12-03T11:00:00.000001Z live one", "live two"])
        await c.lines_until(2)
        assert [l.get("log_ts") for l in c.lines] == ["2026-12-03T11:00:00.000001Z", None]
        await c.close()

    run(scenario())


# --------------------------------------------------------------------------- appearing files (15.9)


def test_a_file_that_appears_after_the_start_is_announced(tailcast, workdir: Path):
    later = workdir / "later.log"
    logs = workdir / "glob"
    logs.mkdir()
    append_lines(logs / "a.log", ["a at start"])
    srv = tailcast(sources=file_sources({"later": later})
                   + [{"name": "web", "kind": "file", "path": str(logs / "*.log")}],
                   wait_ready=False)
    wait_for(lambda: srv.sources()["web"]["state"] == "following", 10, "the glob to follow a.log")

    async def scenario():
        c = await ws_open(srv, "n=10")
        await c.until(lambda c: "a at start" in c.texts(), 10, "the glob's first line")
        assert c.events() == []                      # files there at the start are not announced
        append_lines(later, ["later 1", "later 2"])
        await c.until(lambda c: len(c.texts("later")) >= 2, 10, "the new file's lines")
        events = c.of_type("event")
        assert [(e["source"], e["event"]) for e in events] == [("later", "reopened")], events
        assert events[0]["detail"] == f"{later}: file appeared, following it from its start"
        # The event comes before the file's lines.
        first_line = next(i for i, m in enumerate(c.msgs) if m["type"] == "lines"
                          and any(l["source"] == "later" for l in m["lines"]))
        assert c.msgs.index(events[0]) < first_line

        append_lines(logs / "b.log", ["b 1"])
        await c.until(lambda c: "b 1" in c.texts("web"), 10, "the glob's new file")
        events = [e for e in c.of_type("event") if e["source"] == "web"]
        assert [e["event"] for e in events] == ["reopened"], events
        assert events[0]["detail"] == f"{logs / 'b.log'}: file appeared, following it from its start"
        assert wait_for(lambda: srv.get_json("/readyz")[0] == 200, 10, "every source following")
        await c.close()

    run(scenario())


# --------------------------------------------------------------------------- in the browser


def test_browser_orders_by_the_servers_log_ts_and_highlights_coloured_words(tailcast, workdir: Path, page):
    """The real server's log_ts places a replay of two sources in time order in the merged
    view, and the real `matches` of a coloured line light up exactly the matched word."""
    app, web = workdir / "app.log", workdir / "web.log"
    # Written out of order across the files; read in one batch each (one `ts` per file).
    append_lines(app, ["2026-12-03T10:00:01Z app first", f"2026-12-03T10:00:03Z {ESC}[31mERROR{ESC}[0m app third",
                       "2026-12-03T10:00:05Z app fifth"])
    append_lines(web, ['10.0.0.1 - - [03/Dec/2026:10:00:02 +0000] "GET /second" 200 1',
                       '10.0.0.1 - - [03/Dec/2026:10:00:04 +0000] "GET /fourth" ERROR 1'])
    srv = tailcast(sources=file_sources({"app": app, "web": web}))
    page.open(ui_url(srv, "n=100"))
    page.wait_texts(lambda t: len(t) == 5, what="the 5 lines")
    order = [t.split()[-1] if "GET" not in t else t.split('"')[1].split()[1] for t in page.texts()]
    assert order == ["first", "/second", "third", "/fourth", "fifth"], page.texts()
    page.js("document.getElementById('o-time').click()")  # local -> UTC
    page.frame()
    shown = page.js("return [...document.querySelectorAll('#rows .row:not(.marker) .ts')].map(e => e.textContent)")
    assert shown == ["10:00:01.000", "10:00:02.000", "10:00:03.000", "10:00:04.000", "10:00:05.000"], shown

    page.open(ui_url(srv, "n=100&q=ERROR&w&source=app"))
    page.wait_texts(lambda t: len(t) == 1, what="the coloured line")
    page.frame()
    marks = page.js("return [...document.querySelectorAll('#rows .row:not(.marker) .msg mark.hl')].map(m => m.textContent)")
    assert marks == ["ERROR"], marks
    assert page.texts() == [f"2026-12-03T10:00:03Z {ESC}[31mERROR{ESC}[0m app third"]
    msg = page.js("return document.querySelector('#rows .row:not(.marker) .msg').textContent")
    assert msg == "2026-12-03T10:00:03Z ERROR app third"


# --------------------------------------------------------------------------- journal log_ts


def test_journal_lines_carry_their_source_time(tailcast, journald):
    """A journal entry's log_ts is its _SOURCE_REALTIME_TIMESTAMP (the time the sender gave,
    here the kernel's receive time of a syslog datagram), not a time parsed from MESSAGE; an
    entry without one has no log_ts."""
    srv = tailcast(sources=[{"name": "journal", "kind": "journald"}])
    ident = unique_ident()

    async def scenario():
        c = await ws_open(srv, {"identifier": ident})
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(f"<14>{ident}: 2026-12-03T01:00:00Z via syslog".encode(), "/run/systemd/journal/dev-log")
        await c.until(lambda c: len(c.lines) >= 1, 10, "the syslog entry")
        with CatStream(ident) as cat:
            cat.write("2026-12-03T01:00:00Z via stdout")
            await c.until(lambda c: len(c.lines) >= 2, 10, "the stdout entry")
        await c.close()
        return c.lines

    lines = run(scenario())
    stored = {e["MESSAGE"]: e for e in journal_json(ident)}
    for l in lines:
        entry = stored[l["text"]]
        source_time = entry.get("_SOURCE_REALTIME_TIMESTAMP")
        expected = None
        if source_time is not None:
            t = datetime.fromtimestamp(int(source_time) // 1_000_000, timezone.utc)
            expected = f"{t:%Y-%m-%dT%H:%M:%S}.{int(source_time) % 1_000_000:06d}Z"
        assert l.get("log_ts") == expected, (l, entry)
    assert lines[0].get("log_ts"), "journald gives a syslog datagram a source time"
    assert "log_ts" not in lines[1], "a stdout stream entry has no source time, and MESSAGE is not parsed"


def test_browser_and_server_agree_on_malformed_escapes(tailcast, workdir: Path, page):
    """The page removes exactly the escapes the server's filters ignore, malformed ones too,
    so the server's `matches` light up the matched characters (see EscapeSequencesTests)."""
    cases = [  # raw line, what is shown and matched
        (f"{ESC}[31émoji found", "émoji found"),          # a non-ASCII character ends a CSI
        (f"x{ESC}(By found", "xy found"),                  # ESC, intermediate, final
        (f"{ESC}]0;title{chr(7)}after found", "after found"),
        (f"{ESC}{ESC}[1mbold found", "bold found"),        # a lone ESC, then an SGR
        (f"found red{ESC}[31", "found red"),               # cut off by the end of the line
    ]
    log = workdir / "app.log"
    append_lines(log, [raw for raw, _ in cases])
    srv = tailcast(sources=file_sources({"app": log}))
    page.open(ui_url(srv, "n=100&q=found|moji|xy|after|bold|red"))
    page.wait_texts(lambda t: len(t) == len(cases), what="the lines")
    page.frame()
    rows = page.js("""return [...document.querySelectorAll('#rows .row:not(.marker) .msg')].map(m =>
      [m.textContent, [...m.querySelectorAll('mark.hl')].map(k => k.textContent).join('|')])""")
    assert [r[0] for r in rows] == [shown for _, shown in cases], rows
    expected = ["|".join(m.group(0) for m in re.finditer("found|moji|xy|after|bold|red", shown)) for _, shown in cases]
    assert [r[1] for r in rows] == expected, rows
