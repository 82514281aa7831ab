"""The browser UI, in headless Chromium against the real binary.

Screenshots of the main states go to test-output/ui/. Skipped when Chromium, chromedriver
or selenium are missing.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse

import pytest

from conftest import append_lines, file_sources, run, wait_for, ws_open
from ui_support import LINE_ROWS_JS, SHOTS, CutProxy, PacedWriter, driver, page, problems, ui_url  # noqa: F401 - fixtures


def strip_sgr(raw: str) -> tuple[str, list[int]]:
    """raw without SGR escapes, and where each raw offset lands in it (BMP text only)."""
    out, where, i = [], [], 0
    while i < len(raw):
        m = re.match(r"\x1b\[[0-9;]*m", raw[i:])
        if m:
            where += [len(out)] * len(m.group(0))
            i += len(m.group(0))
        else:
            where.append(len(out))
            out.append(raw[i])
            i += 1
    where.append(len(out))
    return "".join(out), where


# --------------------------------------------------------------------------- loading


def test_page_loads_clean_and_shows_lines(tailcast, workdir, page):
    """No console error or warning (favicon and CSP included); lines written appear, as text."""
    app, web = workdir / "app.log", workdir / "web.log"
    append_lines(app, [f"2026-11-25 10:00:{i:02d} INFO app started step {i}" for i in range(1, 6)])
    append_lines(web, ['127.0.0.1 "GET /index.html" 200'])
    later = workdir / "not-yet" / "later.log"  # a source that is waiting for its file
    srv = tailcast(sources=file_sources({"app": app, "web": web, "later": later}), wait_ready=False)
    wait_for(lambda: srv.sources()["app"]["seq"] == 5 and srv.sources()["web"]["seq"] == 1, 10, "the files read")

    for path in ("/", "/favicon.ico", "/ui/favicon.svg", "/ui/app.js", "/ui/app.css"):
        status, headers, _ = srv.get(path)
        assert status == 200, f"{path}: {status}"
        assert "script-src 'self'" in headers.get("content-security-policy", ""), path

    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 6, what="the 6 lines loaded at start")
    append_lines(app, [
        "<b>not bold</b> <img src=x onerror=alert(1)> & done",
        "\x1b[31mred ERROR\x1b[0m then \x1b[1;32mbold green\x1b[0m and \x1b[38;5;208morange\x1b[0m",
        json.dumps({"level": "warn", "msg": "disk almost full", "pct": 93, "host": "db-1"}),
        "tab\tseparated\tand a bell \x07 here",
    ])
    page.wait_texts(lambda t: len(t) == 10, what="the 4 lines written")
    # Text, never HTML: the row holds no <b> or <img>, and shows the characters themselves.
    html_row = page.js("return [...document.querySelectorAll('#rows .row')].find(r => r.textContent.includes('not bold'))")
    assert html_row is not None
    assert page.js("return arguments[0].querySelectorAll('b, img').length", html_row) == 0
    assert "<b>not bold</b> <img src=x onerror=alert(1)>" in html_row.text
    # ANSI colours are spans with colour classes; no raw escape is left on screen.
    assert page.js("return document.querySelectorAll('#rows .a-f1').length") >= 1
    assert page.js("return [...document.querySelectorAll('#rows .a-f1')].some(s => s.textContent === 'red ERROR')")
    assert page.js("return [...document.querySelectorAll('#rows span')].some(s => s.style.color === 'rgb(255, 135, 0)')")
    assert "\x1b" not in page.js("return document.getElementById('rows').textContent")
    assert page.js("return [...document.querySelectorAll('#rows .ctl')].map(s => s.textContent)") == ["^G"]  # BEL
    # A JSON object line reads as key=value; the toggle shows the raw text again.
    assert 'msg="disk almost full"' in page.js("return document.getElementById('rows').textContent")
    page.js("document.getElementById('o-json').click()")
    page.wait("document.getElementById('rows').textContent.includes('{\"level\": \"warn\"')", 5, "raw JSON")
    page.js("document.getElementById('o-json').click()")
    # The colour toggle strips ANSI colours (still no raw escape).
    page.js("document.getElementById('o-ansi').click()")
    page.wait("document.querySelectorAll('#rows .a-f1').length === 0 && document.getElementById('rows').textContent.includes('red ERROR then bold green')", 5, "colours stripped")
    assert "\x1b" not in page.js("return document.getElementById('rows').textContent")
    page.js("document.getElementById('o-ansi').click()")
    page.frame()
    # Two sources: a merged view with the source name on each line.
    assert page.js("return document.querySelectorAll('#rows .src').length") >= 6
    assert page.js("return document.querySelector('#status').dataset.state") == "live"
    page.wait("document.getElementById('total').textContent === '10'", 5, "the counter")
    page.shot("01-merged-dark")
    assert problems(page.console()) == [], "console errors or warnings"

    # The source picker lists every source with its state; "only" narrows the view.
    page.js("document.getElementById('source-button').click()")
    page.wait("document.querySelectorAll('#source-list li').length === 3", 5, "3 sources listed")
    states = page.js("return [...document.querySelectorAll('#source-list .state')].map(s => s.className)")
    assert states == ["state following", "state following", "state waiting"], states
    assert page.js("return document.getElementById('source-button').classList.contains('warn')")
    page.frame()
    page.shot("02-source-picker")
    page.js("document.querySelector('#source-list li:nth-child(2) .only').click()")
    page.wait("location.search === '?source=web'", 5, "?source=web")
    page.wait_texts(lambda t: t == ['127.0.0.1 "GET /index.html" 200'], what="only the web line")
    assert page.js("return document.querySelectorAll('#rows .src').length") == 0  # one source: no column
    assert problems(page.console()) == []

    page.scheme("light")
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 10, what="lines after reload")
    page.shot("03-merged-light")
    assert page.js("return getComputedStyle(document.body).backgroundColor") != "rgb(14, 17, 22)"
    assert problems(page.console()) == []


# --------------------------------------------------------------------------- querying


def test_filter_narrows_stream_updates_url_and_reopens(tailcast, workdir, page):
    log = workdir / "app.log"
    append_lines(log, [f"INFO boot {i}" for i in range(1, 4)] + ["ERROR boot failed once"])
    srv = tailcast(sources=file_sources({"app": log}))
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 4, what="the 4 lines at start")
    status_before = page.js("return window.tailcast.conn.ws")

    box = page.d.find_element("id", "q")
    box.send_keys("ERROR")
    page.wait("location.search === '?q=ERROR'", 5, "the URL to carry the filter")
    assert page.js("return window.tailcast.conn.ws") == status_before, "a query must not reconnect"
    page.wait_texts(lambda t: t == ["ERROR boot failed once"], what="the replay of the matching line")
    append_lines(log, ["INFO request ok", "ERROR request failed", "error lower case", "INFO again"])
    texts = page.wait_texts(lambda t: "ERROR request failed" in t, what="a new matching line")
    srv.wait_seq("app", 8)
    page.wait_texts(lambda t: "ERROR request failed" in t and len(t) == 2, what="only matching lines")
    assert all("ERROR" in t for t in page.texts()), texts

    # Ignore case: the toggle updates the URL and the stream.
    page.js("document.getElementById('t-i').click()")
    page.wait("location.search === '?q=ERROR&i'", 5, "?q=ERROR&i")
    page.wait_texts(lambda t: "error lower case" in t, what="the lower-case line after i")

    # A bad pattern: the server's message next to the box; the old query stays in force.
    box.clear()
    box.send_keys("(oops")
    err = page.wait("!document.getElementById('q-error').hidden && document.getElementById('q-error').textContent",
                    5, "the error next to the box")
    assert "missing closing parenthesis" in err, err
    assert page.js("return document.getElementById('q').classList.contains('invalid')")
    page.shot("04-bad-pattern")
    assert page.js("return location.search") == "?q=ERROR&i"
    append_lines(log, ["Error still filtered by the old query", "INFO not shown"])
    page.wait_texts(lambda t: "Error still filtered by the old query" in t, what="the old query still in force")

    # Opening the URL restores the view: the box, the toggles and the filtered lines.
    url = page.js("return location.href")
    assert urllib.parse.urlparse(url).query == "q=ERROR&i"
    page.open(url)
    assert page.js("return document.getElementById('q').value") == "ERROR"
    assert page.js("return document.getElementById('t-i').getAttribute('aria-pressed')") == "true"
    assert page.js("return document.getElementById('t-v').getAttribute('aria-pressed')") == "false"
    texts = page.wait_texts(lambda t: len(t) == 4, what="the 4 matching lines replayed")
    assert all("error" in t.lower() for t in texts), texts
    page.shot("05-filtered")

    # Esc clears the filter (and the URL); '/' focuses the box.
    page.js("document.activeElement.blur()")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    ActionChains(page.d).send_keys("/").perform()
    assert page.js("return document.activeElement.id") == "q"
    ActionChains(page.d).send_keys(Keys.ESCAPE).perform()
    page.wait("location.search === '?i'", 5, "the filter cleared by Esc")
    page.wait_texts(lambda t: "INFO not shown" in t, what="all lines after clearing the filter")


def test_literal_plus_and_space_survive_the_url(tailcast, workdir, page):
    log = workdir / "app.log"
    append_lines(log, ["x a+b c y", "a b c", "aab c"])
    srv = tailcast(sources=file_sources({"app": log}))
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 3, what="3 lines")
    page.js("document.getElementById('t-regex').click()")  # fixed string (F)
    page.d.find_element("id", "q").send_keys("a+b c\n")
    page.wait("location.search === '?q=a%2Bb%20c&F'", 5, "the encoded URL")
    page.wait_texts(lambda t: t == ["x a+b c y"], what="only the literal match")
    page.open(page.js("return location.href"))
    assert page.js("return document.getElementById('q').value") == "a+b c"
    page.wait_texts(lambda t: t == ["x a+b c y"], what="the same view from the link")


def test_bad_link_shows_the_error_at_its_field_and_recovers(tailcast, workdir, page):
    log = workdir / "app.log"
    append_lines(log, ["one", "two"])
    srv = tailcast(sources=file_sources({"app": log}))
    page.console()
    page.d.get(ui_url(srv, "n=abc"))
    err = page.wait("!document.getElementById('q-error').hidden && document.getElementById('q-error').textContent",
                    10, "the server's error")
    assert err.startswith("n: ") and "whole number" in err, err
    assert page.js("return document.getElementById('backlog').classList.contains('invalid')")
    assert page.js("return window.tailcast.stats().status") == "error"
    box = page.d.find_element("id", "backlog")
    box.clear()
    box.send_keys("1\n")
    page.wait("window.tailcast.stats().status === 'live'", 10, "live with the fixed query")
    page.wait_texts(lambda t: t == ["two"], what="the last line (n=1)")
    assert page.js("return location.search") == "?n=1"
    assert page.js("return document.getElementById('q-error').hidden")
    assert problems(page.console()) == []


def test_highlights_are_the_servers_matches(tailcast, workdir, page):
    """The highlighted spans equal the server's `matches` (UTF-16 offsets), ANSI included."""
    log = workdir / "app.log"
    append_lines(log, [
        "café ERROR db down, error again",
        "😀😀 emoji before error and Error",
        "no match here",
        "\x1b[31mERROR\x1b[0m in colour, \x1b[1merr\x1b[0mor split by an escape",
        "ünïcödé error at the end error",
    ])
    srv = tailcast(sources=file_sources({"app": log}))
    query = "q=error&i&n=100"
    page.open(ui_url(srv, query))
    page.wait_texts(lambda t: len(t) == 4, what="the 4 matching lines")

    async def server_matches():
        c = await ws_open(srv, query)
        await c.lines_until(4)
        await c.close()
        return {l["seq"]: (l["text"], l["matches"]) for l in c.lines}

    expected = run(server_matches())
    shown = [(r[1], r[2], r[3], r[4]) for r in page.js(LINE_ROWS_JS)]
    assert len(shown) == 4
    for _, seq, text, marks in shown:
        raw, matches = expected[seq]
        if "\x1b" not in raw:
            assert text == raw
            assert marks == matches, f"seq {seq}: {text!r} marks {marks} != server {matches}"
        else:  # the escapes are gone: the server's spans, moved to the text without them
            plain, where = strip_sgr(raw)
            assert text == plain
            assert marks == [[where[s], where[e]] for s, e in matches], (marks, matches)
            # The server matches the text without escapes: "err\x1b[0mor" is "error" (15.4).
            assert [text[s:e] for s, e in marks] == ["ERROR", "error"]
    # The emoji line: offsets count UTF-16 units, as JavaScript does.
    emoji = next(m for _, s, t, m in shown if t.startswith("😀"))
    assert emoji == [[18, 23], [28, 33]]  # 2 emoji = 4 units
    page.shot("06-highlights")


# --------------------------------------------------------------------------- pause


def test_pause_holds_lines_and_resume_brings_them(tailcast, workdir, page):
    from selenium.webdriver.common.action_chains import ActionChains

    log = workdir / "app.log"
    append_lines(log, ["before 1", "before 2"])
    srv = tailcast(sources=file_sources({"app": log}))
    page.open(ui_url(srv))
    page.wait_texts(lambda t: t == ["before 1", "before 2"], what="the first lines")

    ActionChains(page.d).send_keys(" ").perform()  # space pauses
    page.wait("window.tailcast.stats().status === 'paused'", 5, "paused")
    assert page.js("return document.getElementById('pause').textContent") == "Resume"
    append_lines(log, [f"held {i}" for i in range(1, 6)])
    srv.wait_seq("app", 7)
    deadline = time.monotonic() + 1.5  # a bounded negative check: nothing arrives while paused
    while time.monotonic() < deadline:
        assert not any(t.startswith("held") for t in page.texts()), "a line arrived while paused"
        time.sleep(0.1)
    page.shot("07-paused")

    page.js("document.getElementById('pause').click()")
    texts = page.wait_texts(lambda t: "held 5" in t, what="the held lines after resume")
    assert texts == ["before 1", "before 2"] + [f"held {i}" for i in range(1, 6)]
    assert page.js("return window.tailcast.stats().status") == "live"
    seqs = [l["seq"] for l in page.lines()]
    assert seqs == list(range(1, 8))


# --------------------------------------------------------------------------- markers


def test_dropped_and_event_markers(tailcast, workdir, page):
    """`dropped` and `event` envelopes become inline markers in the stream."""
    log = workdir / "app.log"
    append_lines(log, ["start"])
    srv = tailcast(sources=file_sources({"app": log}), defaults={"ring_lines": 5})
    page.open(ui_url(srv))
    page.wait_texts(lambda t: t == ["start"], what="the first line")
    page.js("document.getElementById('pause').click()")
    page.wait("window.tailcast.stats().status === 'paused'", 5, "paused")
    append_lines(log, [f"held {i}" for i in range(1, 1206)])
    srv.wait_seq("app", 1206)
    page.js("document.getElementById('pause').click()")
    page.wait_texts(lambda t: "held 1205" in t, what="the lines still held")
    dropped = [m["text"] for m in page.markers() if m["cls"] == "dropped"]
    assert dropped == ["1 200 lines skipped: they fell out of the server buffer while paused (app #2–1 201)"], dropped
    assert page.texts() == ["start"] + [f"held {i}" for i in range(1201, 1206)]

    log.write_text("")  # truncated in place, like `> file`
    append_lines(log, ["after truncation"])
    page.wait_texts(lambda t: "after truncation" in t, what="the line after truncation")
    events = page.wait("window.tailcast.markers().filter(m => m.cls.startsWith('event'))", 5, "an event marker")
    assert events[0]["text"].startswith("app: file truncated"), events
    page.shot("08-markers")


# --------------------------------------------------------------------------- reconnects


def test_server_restart_shows_marker_and_new_lines_arrive(tailcast, workdir, page):
    log = workdir / "app.log"
    append_lines(log, [f"first run {i}" for i in range(1, 4)])
    srv = tailcast(sources=file_sources({"app": log}), server={"heartbeat_ms": 1000})
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 3, what="the first run's lines")
    old_epoch = page.js("return window.tailcast.conn.epochs.app")

    srv.kill()  # SIGKILL: no close frame, no saved state
    page.wait("window.tailcast.stats().status === 'offline'", 10, "the page to notice")
    page.shot("09-offline")
    append_lines(log, ["written while the server was down"])
    srv.start()
    page.wait("window.tailcast.stats().status === 'live'", 20, "the page to reconnect")
    markers = page.wait("window.tailcast.markers().filter(m => m.cls === 'restart')", 10, "the restart marker")
    assert "server restarted" in markers[0]["text"] and "#4" in markers[0]["text"], markers
    assert old_epoch in markers[0]["text"]
    assert page.js("return window.tailcast.conn.epochs.app") != old_epoch
    append_lines(log, ["second run line"])
    texts = page.wait_texts(lambda t: "second run line" in t, what="a line after the restart")
    assert "written while the server was down" in texts
    assert any(m["cls"] == "reconnect" for m in page.markers())
    page.js("window.tailcast.view.jumpToEnd()")
    page.shot("10-restarted")


def test_reconnects_within_a_second_of_the_server_being_back(tailcast, workdir, page):
    """The server stops (SIGTERM) for 4.5 s and comes back with its saved state (state_dir):
    the page is live again within about 1 s of the server answering, the status never shows a
    stale "retry in 0 s", and the lines written meanwhile arrive with no gap and no restart."""
    log = workdir / "app.log"
    append_lines(log, [f"line {i}" for i in range(1, 6)])
    srv = tailcast(sources=file_sources({"app": log}), server={"state_dir": str(workdir / "state")})
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 5, what="the first lines")

    srv.stop()
    page.wait("window.tailcast.stats().status === 'offline'", 10, "the page to notice")
    append_lines(log, [f"line {i}" for i in range(6, 11)])
    statuses = []
    down_until = time.monotonic() + 4.5
    while time.monotonic() < down_until:
        statuses.append(page.js("return document.getElementById('status-text').textContent"))
        time.sleep(0.1)
    srv.start(wait_ready=False)  # returns as soon as /healthz answers
    back = time.monotonic()
    page.wait("window.tailcast.stats().status === 'live'", 10, "the page to reconnect")
    took = time.monotonic() - back
    stale = [t for t in statuses if "retry in 0 s" in t]
    assert not stale, f"stale countdown: {stale[:3]}"
    assert took < 1.5, f"live {took:.2f} s after the server was back; statuses {sorted(set(statuses))}"
    page.wait_texts(lambda t: "line 10" in t, what="the lines written while down")
    assert [l["seq"] for l in page.lines()] == list(range(1, 11)), "gap or duplicate"
    assert not any(m["cls"] in ("restart", "dropped") for m in page.markers()), page.markers()


def test_connection_drop_resumes_without_gap_or_duplicate(tailcast, workdir, page):
    """A real network loss (a proxy resets the TCP connection and refuses new ones for a
    while); the page reconnects with since= and misses nothing, duplicates nothing."""
    log = workdir / "app.log"
    append_lines(log, [f"line {i}" for i in range(1, 6)])
    srv = tailcast(sources=file_sources({"app": log}))
    proxy = CutProxy(srv.port)
    try:
        page.open(ui_url(proxy.port))
        page.wait_texts(lambda t: len(t) == 5, what="the first lines")
        append_lines(log, [f"line {i}" for i in range(6, 21)])
        page.wait_texts(lambda t: len(t) == 20, what="20 lines")

        proxy.cut()
        page.wait("window.tailcast.stats().status !== 'live'", 10, "the page to see the drop")
        append_lines(log, [f"line {i}" for i in range(21, 51)])
        srv.wait_seq("app", 50)
        proxy.restore()
        page.wait("window.tailcast.stats().status === 'live'", 20, "the page to reconnect")
        append_lines(log, [f"line {i}" for i in range(51, 56)])
        page.wait_texts(lambda t: "line 55" in t, what="the lines after the reconnect")
        lines = page.lines()
        assert [l["seq"] for l in lines] == list(range(1, 56)), "gap or duplicate after the drop"
        assert [l["text"] for l in lines] == [f"line {i}" for i in range(1, 56)]
        assert proxy.accepted >= 2
        markers = [m["text"] for m in page.markers()]
        assert any("resuming after app #20" in m for m in markers), markers
        assert not any(m["cls"] in ("restart", "dropped") for m in page.markers())
    finally:
        proxy.close()


# --------------------------------------------------------------------------- load


def json_fast_line(i: int) -> str:
    return json.dumps({"ts": f"2026-12-03T10:00:{i % 60:02d}Z", "level": "info", "i": i,
                       "msg": "fast line with some payload abcdefghijklmnopqrstuvwxyz 0123456789"})


@pytest.mark.parametrize("variant", ["plain", "json-400px"])
def test_20k_lines_per_second_stays_responsive_with_bounded_memory(tailcast, workdir, page, variant):
    """20 000 lines/s for 10 s: frames keep coming, the DOM and the heap stay bounded, and the
    middle of what is held shows when scrolled to; plain lines at 1400 px, and JSON lines in
    the key=value view at 400 px (rows that wrap to several lines)."""
    log = workdir / "fast.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"fast": log}))
    if variant == "json-400px":
        page.d.set_window_size(400, 900)
    page.open(ui_url(srv, "n=0"))
    assert page.js("return document.getElementById('o-json').getAttribute('aria-pressed')") == "true"
    cap = page.js("return window.tailcast.view.cap")
    page.js("""
      window.__probe = {max: 0, gaps: [], frames: 0, last: performance.now()};
      const tick = (t) => { const p = window.__probe; const g = t - p.last;
        if (g > p.max) p.max = g; if (g > 100) p.gaps.push(Math.round(g)); p.last = t; p.frames++;
        requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    """)
    rate, seconds = 20000, 10.0
    writer = PacedWriter(log, rate=rate, count=int(rate * seconds), seconds=seconds + 2,
                         **({"fmt": json_fast_line} if variant == "json-400px" else {}))
    heap = []
    writer.start()
    deadline = time.monotonic() + seconds + 5
    while writer.is_alive() and time.monotonic() < deadline:
        heap.append(page.js("return performance.memory.usedJSHeapSize"))
        time.sleep(1.0)
    writer.join(5)
    srv.wait_seq("fast", writer.written, timeout=20)
    wait_for(lambda: page.js("return window.tailcast.stats().received") >= writer.written
             or page.js("return window.tailcast.markers().some(m => m.cls === 'dropped')"), 20,
             "the page to get every line or a dropped marker")
    probe = page.js("return window.__probe")
    stats = page.js("return window.tailcast.stats()")
    page.shot(f"11-load-{variant}")
    page.js("window.gc && window.gc()")
    heap_after_gc = page.js("return performance.memory.usedJSHeapSize")

    # Still scrollable: the middle of what is held shows up when scrolled to.
    page.js("const s = document.getElementById('scroller'); s.scrollTop = s.scrollHeight / 2;")
    page.wait("!window.tailcast.view.following", 5, "follow to stop on scroll up")
    page.wait("document.querySelectorAll('#rows .row').length > 10", 5, "rows in the middle")
    middle = page.js("return document.querySelector('#rows .row').entry.seq")
    page.shot(f"12-scrolled-middle-{variant}")
    page.js("window.tailcast.view.jumpToEnd()")

    dropped = [m["text"] for m in page.markers() if m["cls"] == "dropped"]
    report = {"written": writer.written, "seconds": round(writer.elapsed, 2), "received": stats["received"],
              "held": stats["held"], "dom_rows": stats["rows"], "frames": probe["frames"],
              "max_stall_ms": round(probe["max"], 1), "stalls_over_100ms": probe["gaps"],
              "heap_mb": [round(h / 2**20, 1) for h in heap], "heap_after_gc_mb": round(heap_after_gc / 2**20, 1),
              "dropped_markers": dropped[:5], "middle_seq": middle}
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"load-report-{variant}.json").write_text(json.dumps(report, indent=2))
    print("load report:", json.dumps(report))

    assert writer.written == rate * seconds
    assert probe["max"] < 200, f"main-thread stall of {probe['max']:.0f} ms; {report}"
    assert probe["frames"] > seconds * 20, f"too few frames painted; {report}"
    assert stats["held"] <= cap
    assert stats["rows"] < 400, f"the DOM holds {stats['rows']} rows"
    assert heap_after_gc < 160 * 2**20, report
    assert max(heap) < 300 * 2**20, report
    assert 0.3 * writer.written < middle < writer.written, report


# --------------------------------------------------------------------------- daily comfort


def test_view_options_follow_copy_and_download(tailcast, workdir, page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    log = workdir / "app.log"
    append_lines(log, [f"2026-11-25 10:00:00 INFO line {i} " + "word " * (i % 40) for i in range(1, 3001)])
    srv = tailcast(sources=file_sources({"app": log}), defaults={"initial_lines": 5000})
    page.open(ui_url(srv, "n=3000"))
    page.wait_texts(lambda t: len(t) == 3000, what="3000 lines")
    assert page.js("return document.querySelectorAll('#rows .row').length") < 300

    # Scrolling up leaves follow mode; new lines are counted; End jumps back.
    page.js("document.getElementById('scroller').scrollTop = 0")
    page.wait("!window.tailcast.view.following", 5, "follow to stop")
    append_lines(log, [f"new {i}" for i in range(1, 8)])
    page.wait("!document.getElementById('jump').hidden && document.getElementById('jump-count').textContent === '7'",
              5, "the '7 new lines' button")
    page.shot("13-new-lines-button")
    page.js("document.getElementById('scroller').focus()")
    ActionChains(page.d).send_keys(Keys.END).perform()
    page.wait("window.tailcast.view.following && document.getElementById('jump').hidden", 5, "follow after End")
    page.wait("[...document.querySelectorAll('#rows .row')].some(r => r.textContent.includes('new 7'))", 5,
              "the newest line on screen")

    # UTC time, no wrap, no time column.
    page.js("document.getElementById('o-time').click()")
    assert page.js("return document.getElementById('o-time').textContent") == "time: UTC"
    first_ts = page.wait("document.querySelector('#rows .row:not(.marker) .ts')?.textContent", 2, "a time column")
    assert len(first_ts) == 12 and first_ts[2] == ":" and first_ts[8] == "."
    page.js("document.getElementById('o-wrap').click()")
    page.wait("document.body.classList.contains('nowrap')", 2, "nowrap")
    page.shot("14-nowrap-utc")
    page.js("document.getElementById('o-wrap').click()")
    page.js("document.getElementById('o-time').click()")  # -> off
    page.wait("document.querySelectorAll('#rows .ts').length === 0", 2, "no time column")
    page.js("document.getElementById('o-time').click()")  # -> local again
    page.frame()

    # Copy a line: the hover button copies its text (the clipboard API or the fallback).
    page.d.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
                                                         "origin": ui_url(srv).rstrip("/")})
    row = page.d.find_element("css selector", "#rows .row:not(.marker):last-child")
    ActionChains(page.d).move_to_element(row).perform()
    page.wait("document.querySelector('#rows .copy')", 3, "the copy button")
    page.js("document.querySelector('#rows .copy').click()")
    page.wait("!document.getElementById('toast').hidden", 3, "the copied toast")
    copied = page.d.execute_async_script("const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('ERR ' + e))")
    assert copied == "new 7", copied

    # Download: the lines in the page as a text file.
    downloads = workdir / "downloads"
    downloads.mkdir()
    page.d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    page.js("document.getElementById('download').click()")
    files = wait_for(lambda: [f for f in downloads.glob("tailcast-*.log")], 10, "the downloaded file")
    wait_for(lambda: files[0].read_text().endswith("app new 7\n"), 5, "the file to be complete")
    text = files[0].read_text()
    assert text.count("\n") >= 3007 and "INFO line 3000" in text

    # Clear empties the view; help opens with '?'.
    page.js("document.getElementById('clear').click()")
    page.wait("window.tailcast.stats().held === 0", 2, "an empty view")
    ActionChains(page.d).send_keys("?").perform()
    page.wait("!document.getElementById('help').hidden", 2, "the help box")
    page.shot("15-help")
    ActionChains(page.d).send_keys(Keys.ESCAPE).perform()
    page.wait("document.getElementById('help').hidden", 2, "help closed")


def test_journal_fields_and_priority_colours(tailcast, workdir, page):
    """A real journald source (a private journal directory written by systemd-journal-remote):
    the journal fields show only while a journal source is selected, narrow the stream, live
    in the URL, and lines are coloured by priority."""
    try:
        from journal_support import JOURNAL_REMOTE, journal_remote_write
    except ImportError:
        pytest.skip("journal_support is not there")
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        pytest.skip(f"{JOURNAL_REMOTE} is missing (package systemd-journal-remote)")
    jdir = workdir / "journal"
    jdir.mkdir()
    base = (int(time.time()) - 60) * 1_000_000
    entries = [{"__REALTIME_TIMESTAMP": base + i * 1000, "MESSAGE": f"entry {i} priority {i % 8}",
                "_SYSTEMD_UNIT": "demo.service" if i % 2 == 0 else "other.service", "PRIORITY": i % 8,
                "SYSLOG_IDENTIFIER": "demo" if i % 2 == 0 else "other", "_PID": 100 + i, "_HOSTNAME": "h"}
               for i in range(16)]
    journal_remote_write(jdir / "remote.journal", entries)
    app = workdir / "app.log"
    append_lines(app, ["a file line"])
    srv = tailcast(sources=file_sources({"app": app}) + [{"name": "journal", "kind": "journald", "directory": str(jdir)}])

    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 17, what="16 entries and the file line")
    page.wait("!document.getElementById('journal-group').hidden", 5, "journal fields (a journal source is selected)")
    page.js("document.getElementById('source-button').click()")
    page.js("document.querySelector('#source-list li:nth-child(1) .only').click()")  # app only
    page.wait("location.search === '?source=app'", 5, "?source=app")
    page.wait("document.getElementById('journal-group').hidden", 5, "no journal fields for a file source")
    page.js("document.querySelector('#source-list li:nth-child(2) .only').click()")  # journal only
    page.wait("location.search === '?source=journal' && !document.getElementById('journal-group').hidden", 5,
              "journal fields again")
    page.wait_texts(lambda t: len(t) == 16, what="the 16 entries")
    classes = page.js("return [...document.querySelectorAll('#rows .row')].map(r => r.className)")
    for p in range(8):
        assert any(f"p{p}" in c.split() for c in classes), (p, classes)
    assert page.js("return getComputedStyle(document.querySelector('#rows .row.p3 .msg')).color") != \
        page.js("return getComputedStyle(document.querySelector('#rows .row.p6 .msg')).color")

    select = page.d.find_element("id", "priority")
    from selenium.webdriver.support.ui import Select
    Select(select).select_by_value("3")
    page.wait("location.search === '?source=journal&priority=3'", 5, "priority in the URL")
    texts = page.wait_texts(lambda t: len(t) == 8, what="the 8 entries of priority 0-3")
    assert all(int(t[-1]) <= 3 for t in texts), texts
    page.d.find_element("id", "unit").send_keys("demo.service\n")
    page.wait("location.search === '?source=journal&unit=demo.service&priority=3'", 5, "unit in the URL")
    texts = page.wait_texts(lambda t: len(t) == 4, what="the 4 demo.service entries of priority 0-3")
    assert texts == ["entry 0 priority 0", "entry 2 priority 2", "entry 8 priority 0", "entry 10 priority 2"]
    page.js("document.getElementById('source-menu').hidden = true")
    page.shot("16-journal")

    page.open(page.js("return location.href"))  # the link restores the journal fields
    assert page.js("return [document.getElementById('unit').value, document.getElementById('priority').value]") == \
        ["demo.service", "3"]
    page.wait_texts(lambda t: len(t) == 4, what="the same 4 entries from the link")


def auth_server(tailcast, workdir, sources, tokens: str):
    """The real binary with an [auth] table and a tokens file (as test_auth.py writes them)."""
    tokens_file = workdir / "tokens"
    tokens_file.write_text(tokens)
    srv = tailcast(sources=sources, start=False)
    srv.config_path.write_text(srv.config_path.read_text() + f'\n[auth]\ntokens_file = "{tokens_file}"\n')
    return srv.start()


def test_token_prompt_and_bearer_on_every_call(tailcast, workdir, page):
    """With [auth] on the real server: the page asks for the token once, keeps it in
    sessionStorage, sends it on /api/sources (Authorization: Bearer) and on /ws (token=),
    and shows 401 as "token needed" and 403 as "forbidden", each with the server's message."""
    full, app_only = "f" * 20 + "full0001", "a" * 20 + "apponly1"
    app, web = workdir / "app.log", workdir / "web.log"
    append_lines(app, ["app line 1", "app line 2"])
    append_lines(web, ["web line 1"])
    srv = auth_server(tailcast, workdir, file_sources({"app": app, "web": web}),
                      f"{full}\n{app_only} app\n")

    page.console()
    page.d.get(ui_url(srv))
    page.wait("!document.getElementById('token-box').hidden", 10, "the token prompt")
    assert page.js("return window.tailcast.stats().status") == "error"
    assert page.js("return document.getElementById('status-text').textContent") == "token needed"
    reason = page.js("return document.getElementById('token-reason').textContent")
    assert reason.startswith("token needed") and "Bearer TOKEN" in reason, reason  # the server's words
    page.shot("17-token-prompt")

    # A wrong token: asked again, with the server's message.
    page.d.find_element("id", "token-input").send_keys("wrong-token-0123456789")
    page.js("document.getElementById('token-ok').click()")
    page.wait("!document.getElementById('token-box').hidden && window.tailcast.stats().status === 'error'", 10,
              "the prompt again after a wrong token")

    page.d.find_element("id", "token-input").send_keys(full)
    page.js("document.getElementById('token-ok').click()")
    page.wait("window.tailcast.stats().status === 'live'", 10, "live after the token")
    page.wait_texts(lambda t: len(t) == 3, what="the lines of both sources")
    assert page.js("return sessionStorage.getItem('tailcast.token')") == full
    assert page.js("return localStorage.getItem('tailcast.token')") is None
    # The source picker is filled from /api/sources, which answers only with the bearer header.
    page.js("document.getElementById('source-button').click()")
    page.wait("document.querySelectorAll('#source-list li').length === 2", 10, "both sources listed")
    page.js("document.getElementById('source-menu').hidden = true")

    # A reload keeps the token (this tab only): no prompt, sources listed.
    page.open(ui_url(srv))
    assert page.js("return document.getElementById('token-box').hidden")
    page.wait_texts(lambda t: len(t) == 3, what="the lines after a reload")
    page.js("document.getElementById('source-button').click()")
    page.wait("document.querySelectorAll('#source-list li').length === 2", 10, "sources after a reload")
    page.js("document.getElementById('source-menu').hidden = true")

    # A token that may read app only, asked for web: "forbidden" with the server's message.
    page.js("sessionStorage.setItem('tailcast.token', arguments[0])", app_only)
    page.d.get(ui_url(srv, "source=web"))
    page.wait("!document.getElementById('token-box').hidden", 10, "the forbidden box")
    assert page.js("return document.getElementById('status-text').textContent") == "forbidden"
    reason = page.js("return document.getElementById('token-reason').textContent")
    assert reason.startswith("forbidden") and '"web"' in reason, reason
    page.shot("18-forbidden")
    assert problems([e for e in page.console() if "401" not in e.get("message", "")
                     and "403" not in e.get("message", "")]) == []
