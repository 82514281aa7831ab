"""The UI's "since" control (from=TIME) in headless Chromium against the real binary:
presets and a custom time write `from` into the URL and the `query` message, the lines
shown are those read since then, and a link reopens the same view."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from conftest import append_lines, file_sources
from ui_support import driver, page, problems, ui_url  # noqa: F401 - fixtures


def test_since_control_writes_from_and_shows_lines_read_since_then(tailcast, workdir, page):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    append_lines(log, ["early one", "early two"])
    srv.wait_seq("app", 2)
    t = time.time()
    time.sleep(0.02)
    append_lines(log, ["late three", "late four"])
    srv.wait_seq("app", 4)
    page.console()
    page.open(ui_url(srv))
    page.wait_texts(lambda x: len(x) == 4, what="the 4 lines at start (backlog)")
    ws = page.js("return window.tailcast.conn.ws")

    # A custom time: only the lines read since then; the query changes on the open socket.
    since = datetime.fromtimestamp(t, tz=timezone(timedelta(hours=1))).isoformat()
    page.js("const s = document.getElementById('from'); s.value = 'custom'; s.dispatchEvent(new Event('change'))")
    assert page.js("return document.getElementById('from-custom').hidden") is False
    page.d.find_element("id", "from-custom").send_keys(since + "\n")
    want = "?from=" + since.replace("+", "%2B")
    page.wait(f"location.search === '{want}'", 5, "the URL to carry from")
    page.wait_texts(lambda x: x == ["late three", "late four"], what="only the lines read since then")
    assert page.js("return window.tailcast.conn.ws") == ws, "a new since must not reconnect"

    # A preset: the last 15 minutes hold every line.
    page.js("const s = document.getElementById('from'); s.value = '-15m'; s.dispatchEvent(new Event('change'))")
    page.wait("location.search === '?from=-15m'", 5, "?from=-15m")
    assert page.js("return document.getElementById('from-custom').hidden") is True
    page.wait_texts(lambda x: x[-4:] == ["early one", "early two", "late three", "late four"],
                    what="every line of the last 15 minutes")

    # The link reopens the same view, the control included.
    page.open(ui_url(srv, want[1:]))
    assert page.js("return document.getElementById('from').value") == "custom"
    assert page.js("return document.getElementById('from-custom').value") == since
    page.wait_texts(lambda x: x == ["late three", "late four"], what="the same view from the link")

    # A bad time: the server's message at the box, naming from.
    box = page.d.find_element("id", "from-custom")
    box.clear()
    box.send_keys("yesterday\n")
    err = page.wait("!document.getElementById('q-error').hidden && document.getElementById('q-error').textContent",
                    5, "the error at the since box")
    assert err.startswith("from: "), err
    assert page.js("return document.getElementById('from-custom').classList.contains('invalid')")
    assert problems(page.console()) == []
