"""The browser UI's stream view, in headless Chromium against the real binary: where rows
sit while following, rows kept across batches (mouse selection), find in view, links to a
line, the phone-width layout, markers and the merged view in time order.

Screenshots go to test-output/ui/. Skipped when Chromium, chromedriver or selenium are missing.
"""

from __future__ import annotations

import json
import threading

from conftest import append_lines, file_sources
from ui_support import BOTTOM_GAP_JS, PacedWriter, driver, page, problems, ui_url  # noqa: F401 - fixtures


def json_line(i: int) -> str:
    """A JSON log line whose key=value form wraps to 1-4 rows at 400 px and is shorter than the raw text."""
    return json.dumps({"level": "info" if i % 3 else "warn", "msg": f"request {i} handled " + "x" * (i * 37 % 160),
                       "i": i, "path": f"/api/v1/items/{i}", "took_ms": i % 97})


def plain_line(i: int) -> str:
    return f"web line {i} " + "y" * (i * 53 % 220)


def sample_gaps(page, ms: int) -> list[float]:
    """The bottom gap (see BOTTOM_GAP_JS), sampled every 40 ms for `ms` ms in the page, only
    while following and while the lines are taller than the log area."""
    page.d.set_script_timeout(ms / 1000 + 10)
    return page.d.execute_async_script("""
      const [ms, body, done] = arguments; const gaps = []; const t0 = performance.now();
      const measure = new Function(body);
      const iv = setInterval(() => {
        const sc = document.getElementById('scroller');
        if (window.tailcast.view.following && sc.scrollHeight > sc.clientHeight + 20) gaps.push(measure());
        if (performance.now() - t0 > ms) { clearInterval(iv); done(gaps); }
      }, 40);
    """, ms, BOTTOM_GAP_JS)


# --------------------------------------------------------------------------- 15.1


def test_following_keeps_the_newest_row_on_the_bottom_edge(tailcast, workdir, page):
    """While following (and while paused), the newest row's bottom is the log area's bottom,
    within 2 px, in every view mode (JSON key=value, raw, merged, no wrap) and at 400 px wide:
    the heights used to place rows are the measured ones, not estimates."""
    app, web = workdir / "app.log", workdir / "web.log"
    append_lines(app, [json_line(i) for i in range(1, 1501)])
    append_lines(web, [plain_line(i) for i in range(1, 301)])
    srv = tailcast(sources=file_sources({"app": app, "web": web}), defaults={"initial_lines": 2000})
    written = {"app": 1500}
    report = {}
    for width in (1400, 400):
        page.d.set_window_size(width, 900)
        for mode, query, clicks in (("json k=v", "source=app", []), ("raw", "source=app", ["o-json"]),
                                    ("merged", "", []), ("nowrap", "source=app", ["o-wrap"])):
            page.open(ui_url(srv, query))
            page.wait("window.tailcast.stats().held > 300", 10, "the backlog")
            for b in clicks:
                page.js(f"document.getElementById('{b}').click()")
            writer = PacedWriter(app, rate=40, count=60, seconds=1.5,
                                 fmt=lambda i, base=written["app"]: json_line(base + i))
            writer.start()
            gaps = sample_gaps(page, 1500)
            writer.join(5)
            written["app"] += writer.written
            page.js("document.getElementById('pause').click()")
            page.wait("window.tailcast.stats().status === 'paused'", 5, "paused")
            page.frame()
            gaps += sample_gaps(page, 300)
            report[f"{width} {mode}"] = (min(gaps), max(gaps), len(gaps))
            if width == 400 and mode == "json k=v":
                page.shot("19-follow-400px-json")
            for b in clicks:  # back to the defaults (they are kept in localStorage)
                page.js(f"document.getElementById('{b}').click()")
    bad = {k: v for k, v in report.items() if v[2] < 10 or v[0] < -2 or v[1] > 2}
    assert not bad, f"the newest row is not on the bottom edge (min, max gap px, samples): {report}"


# --------------------------------------------------------------------------- 15.3


def test_rows_are_kept_across_batches_and_a_selection_survives(tailcast, workdir, page):
    """New lines add rows; rows that did not change stay the same DOM nodes, so a mouse
    selection made while scrolled back survives lines arriving during and after the drag."""
    from selenium.webdriver.common.action_chains import ActionChains

    log = workdir / "app.log"
    append_lines(log, [f"line {i} " + "w" * (i % 50) for i in range(1, 401)])
    srv = tailcast(sources=file_sources({"app": log}))
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 400, what="400 lines")

    # Following: a batch adds the rows of its lines, and rebuilds none of the others.
    page.js("""
      window.__added = 0;
      new MutationObserver((ms) => { for (const m of ms) window.__added += m.addedNodes.length; })
        .observe(document.getElementById('rows'), { childList: true });
      window.__kept = [...document.querySelectorAll('#rows .row')].slice(-10);
    """)
    writer = PacedWriter(log, rate=20, count=40, seconds=2.0, fmt=lambda i: f"new {i}")
    writer.start()
    writer.join(5)
    page.wait_texts(lambda t: "new 40" in t, what="the 40 new lines")
    added = page.js("return window.__added")
    assert added <= 40 + 5, f"{added} rows put in the DOM for 40 new lines: rows are rebuilt"
    assert page.js("return window.__kept.filter(el => el.isConnected).length") >= 5

    # Scrolled back: press on one row, lines arrive, drag to another row, release.
    page.js("document.getElementById('scroller').scrollTop = 2000")
    page.wait("!window.tailcast.view.following", 5, "follow to stop")
    page.frame()
    rows = page.d.find_elements("css selector", "#rows .row")
    visible = [r for r in rows if page.js(
        "const b = arguments[0].getBoundingClientRect(), s = document.getElementById('scroller').getBoundingClientRect();"
        "return b.top > s.top + 40 && b.bottom < s.bottom - 40", r)]
    start, end = visible[2], visible[6]
    first_text = page.js("return arguments[0].entry.text", start)
    last_text = page.js("return arguments[0].entry.text", end)
    page.js("window.__added = 0")
    # One gesture (press, hold 1.5 s while lines arrive, drag, release); the lines come from a thread.
    threading.Timer(0.2, lambda: append_lines(log, [f"during drag {i}" for i in range(1, 6)])).start()
    x = -start.rect["width"] / 2 + 150  # inside the text of the row (after the time column)
    ActionChains(page.d).move_to_element_with_offset(start, x, 0).click_and_hold().pause(1.5) \
        .move_to_element_with_offset(end, 0, 0).release().perform()
    page.wait_texts(lambda t: "during drag 5" in t, what="lines during the drag")
    selected = page.js("return window.getSelection().toString()")
    assert first_text.split()[1] in selected and last_text.split()[1] in selected, \
        f"the drag selected {selected!r}, not rows {first_text[:12]!r} … {last_text[:12]!r}"
    append_lines(log, [f"after drag {i}" for i in range(1, 6)])
    page.wait_texts(lambda t: "after drag 5" in t, what="lines after the drag")
    page.frame()
    assert page.js("return window.getSelection().toString()") == selected, "the selection was lost"
    assert page.js("return window.__added") == 0, "rows were rebuilt while scrolled back"
    assert not page.js("return window.tailcast.view.following")


# --------------------------------------------------------------------------- 15.2


def test_filter_while_paused_says_why_the_view_is_empty(tailcast, workdir, page):
    """A new filter while paused: the server holds its lines until resume, and the empty view
    says so (it used to be blank with no hint); on resume the matching lines come."""
    log = workdir / "app.log"
    append_lines(log, ["INFO one", "ERROR two", "INFO three"])
    srv = tailcast(sources=file_sources({"app": log}))
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 3, what="3 lines")
    page.js("document.getElementById('pause').click()")
    page.wait("window.tailcast.stats().status === 'paused'", 5, "paused")
    page.d.find_element("id", "q").send_keys("ERROR\n")
    page.wait("location.search === '?q=ERROR'", 5, "the filter in force")
    hint = page.wait("!document.getElementById('empty').hidden && document.getElementById('empty').textContent",
                     5, "a hint in the empty view")
    assert "Paused" in hint and "resume" in hint, hint
    assert any("paused" in m["text"] for m in page.markers() if m["cls"] == "query"), page.markers()
    page.shot("20-filter-while-paused")
    page.js("document.getElementById('pause').click()")
    page.wait_texts(lambda t: t == ["ERROR two"], what="the matching line after resume")
    page.wait("document.getElementById('empty').hidden", 5, "the hint gone")


def test_find_in_view_jumps_over_every_held_line(tailcast, workdir, page):
    """Ctrl-F focuses the page's own find; it counts and visits matches in every line held
    (not only the rows in the DOM), highlights them, Enter / Shift-Enter step, Esc ends."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    log = workdir / "app.log"
    needles = {5: "the NEEDLE early", 1500: "a needle in the middle", 2990: "late Needle here"}
    append_lines(log, [needles.get(i, f"hay {i} " + "straw " * (i % 30)) for i in range(1, 3001)])
    srv = tailcast(sources=file_sources({"app": log}), defaults={"initial_lines": 5000})
    page.open(ui_url(srv, "n=3000"))
    page.wait_texts(lambda t: len(t) == 3000, what="3000 lines")
    assert page.js("return document.querySelectorAll('#rows .row').length") < 300

    page.js("document.getElementById('scroller').focus()")
    ActionChains(page.d).key_down(Keys.CONTROL).send_keys("f").key_up(Keys.CONTROL).perform()
    page.wait("document.activeElement.id === 'find'", 3, "Ctrl-F to focus the find box")
    ActionChains(page.d).send_keys("needle").perform()
    page.wait("document.getElementById('find-count').textContent === '– / 3'", 5, "3 matches counted")

    current_js = """
      const row = document.querySelector('#rows .row.find-current'); if (!row) return null;
      const s = document.getElementById('scroller').getBoundingClientRect(), b = row.getBoundingClientRect();
      return [row.entry.seq, b.top >= s.top && b.bottom <= s.bottom,
              [...row.querySelectorAll('mark.fm')].map(m => m.textContent.toLowerCase())];
    """
    seen = []
    for k in range(3):
        ActionChains(page.d).send_keys(Keys.ENTER).perform()
        page.wait(f"document.getElementById('find-count').textContent.startsWith('{k + 1} /') || "
                  f"document.getElementById('find-count').textContent.match(/^[123] \\//)", 3, "a current match")
        page.frame()
        cur = page.wait(f"(() => {{ {current_js} }})()", 3, "the current match on screen")
        seq, on_screen, marks = cur
        assert on_screen and marks == ["needle"], cur
        seen.append(seq)
    assert sorted(seen) == [5, 1500, 2990], seen
    assert not page.js("return window.tailcast.view.following")
    page.shot("21-find-in-view")
    ActionChains(page.d).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    page.frame()
    back = page.wait(f"(() => {{ {current_js} }})()", 3, "the previous match")
    assert back[0] == seen[1], (back, seen)

    # New lines are searched too; Esc ends the search and its highlights.
    append_lines(log, ["one more needle"])
    page.wait("document.getElementById('find-count').textContent.endsWith('/ 4')", 5, "the new match counted")
    ActionChains(page.d).send_keys(Keys.ESCAPE).perform()
    page.wait("document.querySelectorAll('#rows mark.fm').length === 0 && "
              "document.getElementById('find-count').textContent === ''", 3, "find ended")
    assert page.js("return location.search") == "?n=3000"  # Esc in find leaves the filter alone


# --------------------------------------------------------------------------- 15.7


def test_link_to_a_line_opens_it_with_its_context(tailcast, workdir, page):
    """Clicking a line's time selects it and puts #SRC:SEQ:EPOCH in the URL; opening that URL
    (with a backlog that does not reach the line) brings the line and the lines before it
    through /ws (since=), scrolls to it and selects it."""
    log = workdir / "app.log"
    append_lines(log, [f"line {i} " + "z" * (i % 70) for i in range(1, 2001)])
    srv = tailcast(sources=file_sources({"app": log}), defaults={"initial_lines": 5000})
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 1000, what="the backlog (lines 1001-2000)")
    epoch = page.js("return window.tailcast.conn.epochs.app")
    row = page.d.find_elements("css selector", "#rows .row:not(.marker)")[-5]
    seq = page.js("return arguments[0].entry.seq", row)
    page.js("arguments[0].querySelector('.ts').click()", row)
    page.wait(f"location.hash === '#app:{seq}:{epoch}'", 3, "the link in the URL")
    assert page.js("return arguments[0].classList.contains('selected')", row)

    target = 1200
    page.open(ui_url(srv, "n=10", fragment=f"app:{target}:{epoch}"))
    sel = page.wait("""(() => { const r = document.querySelector('#rows .row.selected'); if (!r) return null;
        const s = document.getElementById('scroller').getBoundingClientRect(), b = r.getBoundingClientRect();
        return [r.entry.seq, b.top >= s.top && b.bottom <= s.bottom]; })()""", 10, "the linked line selected")
    assert sel == [target, True], sel
    page.wait_texts(lambda t: "line 2000 " + "z" * (2000 % 70) in t, what="the lines up to now")
    seqs = [l["seq"] for l in page.lines()]
    assert seqs[0] <= target - 20, f"no context before the line: starts at {seqs[0]}"
    assert seqs == list(range(seqs[0], 2001)), "gap or duplicate"
    assert not page.js("return window.tailcast.view.following")
    assert page.js("return location.hash") == f"#app:{target}:{epoch}"
    page.shot("22-linked-line")


# --------------------------------------------------------------------------- 15.8


def test_phone_width_puts_the_log_first(tailcast, workdir, page):
    """At 400 px the bars fold into one row (filter, more, pause, status light): the log gets
    the screen; "⋯" unfolds the rest, and the source menu stays on the screen."""
    app, web = workdir / "app.log", workdir / "web.log"
    append_lines(app, [json_line(i) for i in range(1, 200)])
    append_lines(web, [plain_line(i) for i in range(1, 50)])
    srv = tailcast(sources=file_sources({"app": app, "web": web}))
    page.d.set_window_size(400, 800)
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 248, what="the lines")
    geo = page.js("""const sc = document.getElementById('scroller'), r = sc.getBoundingClientRect();
      const vis = (id) => { const el = document.getElementById(id); if (!el) return false; const b = el.getBoundingClientRect();
        return b.width > 0 && b.left >= 0 && b.right <= innerWidth && b.bottom <= innerHeight; };
      return {top: r.top, height: sc.clientHeight, inner: innerHeight, width: innerWidth,
              overflow: document.documentElement.scrollWidth - innerWidth, q: vis('q'),
              qw: document.getElementById('q').offsetWidth, pause: vis('pause'), more: vis('more')};""")
    assert geo["top"] <= 48, f"the bars take {geo['top']} px above the log: {geo}"
    assert geo["height"] >= geo["inner"] - 48, geo
    assert geo["overflow"] <= 0, geo
    assert geo["q"] and geo["qw"] >= 150 and geo["pause"] and geo["more"], geo
    page.shot("23-phone")

    page.js("document.getElementById('more').click()")
    page.wait("document.getElementById('source-button').offsetWidth > 0 && "
              "document.getElementById('find').offsetWidth > 0", 3, "the unfolded controls")
    page.js("document.getElementById('source-button').click()")
    menu = page.wait("""(() => { const m = document.getElementById('source-menu'); if (m.hidden) return null;
        const r = m.getBoundingClientRect(), b = document.getElementById('source-button').getBoundingClientRect();
        return document.querySelectorAll('#source-list li').length === 2 &&
          {left: r.left, right: r.right, top: r.top, below: b.bottom, width: innerWidth}; })()""", 5, "the source menu")
    assert 0 <= menu["left"] and menu["right"] <= menu["width"] and menu["top"] >= menu["below"], menu
    page.shot("24-phone-menu")
    page.js("document.getElementById('source-menu').hidden = true; document.getElementById('more').click()")
    page.wait("document.getElementById('scroller').getBoundingClientRect().top <= 48", 3, "folded again")
    assert problems(page.console()) == []


# --------------------------------------------------------------------------- 15.9


def test_markers_missing_appeared_pause_and_line_count(tailcast, workdir, page):
    """"missing" is styled as a warning (not like "rotated"); a file that appears after the
    start gets a marker; the pause marker promises only what the server does; "in view"
    counts lines, not markers."""
    app, later = workdir / "app.log", workdir / "later.log"
    append_lines(app, ["app 1", "app 2"])
    srv = tailcast(sources=file_sources({"app": app, "later": later}), defaults={"rotate_wait_ms": 300},
                   wait_ready=False)
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 2, what="the app lines")
    page.wait("window.tailcast.stats().status === 'live'", 5, "live")
    page.wait("document.getElementById('source-button').title.includes('later: waiting')", 5,
              "the page to know that `later` waits for its file")
    append_lines(later, ["later 1"])
    appeared = page.wait("window.tailcast.markers().filter(m => m.cls === 'appeared')", 10, "the appeared marker")
    assert appeared[0]["text"].startswith("later: file appeared"), appeared

    (workdir / "app.log").rename(workdir / "app.log.1")
    append_lines(app, ["app 3 after rotation"])
    page.wait("window.tailcast.markers().some(m => m.cls === 'event m-rotated')", 10, "the rotated marker")
    page.wait_texts(lambda t: "app 3 after rotation" in t, what="the line after rotation")
    app.unlink()
    page.wait("window.tailcast.markers().some(m => m.cls === 'event m-missing')", 10, "the missing marker")
    page.frame()
    colours = page.js("""const c = (sel) => { const r = document.querySelector(sel); return r && getComputedStyle(r).color; };
      return [c('#rows .row.m-rotated'), c('#rows .row.m-missing'), c('#rows .row.m-dropped, #rows .row.m-pause')
              || getComputedStyle(document.getElementById('pause')).borderColor];""")
    rotated, missing, _ = colours
    assert rotated and missing and rotated != missing, colours

    page.js("document.getElementById('pause').click()")
    page.wait("window.tailcast.stats().status === 'paused'", 5, "paused")
    pause = [m["text"] for m in page.markers() if m["cls"] == "pause"][-1]
    assert "holds new lines" not in pause and "skipped" in pause, pause
    page.frame()
    warn = page.js("return getComputedStyle(document.querySelector('#rows .row.m-pause')).color")
    assert missing == warn, (missing, warn)
    page.js("document.getElementById('pause').click()")
    page.wait("window.tailcast.stats().status === 'live'", 5, "live again")
    page.shot("25-markers")
    n_lines = len(page.lines())
    assert len(page.markers()) >= 4
    page.wait(f"document.getElementById('held').textContent === '{n_lines}'", 3, f"'{n_lines} in view'")


def test_theme_toggle_and_json_columns(tailcast, workdir, page):
    """The theme button overrides the system's light / dark (and is remembered); chosen JSON
    fields show as aligned columns, left out of the key=value text."""
    log = workdir / "app.log"
    append_lines(log, [json_line(i) for i in range(1, 40)])
    srv = tailcast(sources=file_sources({"app": log}))
    page.open(ui_url(srv))  # the system says dark (the page fixture)
    page.wait_texts(lambda t: len(t) == 39, what="the lines")
    bg = "return getComputedStyle(document.body).backgroundColor"
    dark = page.js(bg)
    assert page.js("return document.getElementById('o-theme').textContent") == "theme: auto"
    page.js("document.getElementById('o-theme').click()")  # -> dark
    assert page.js(bg) == dark
    page.js("document.getElementById('o-theme').click()")  # -> light
    light = page.js(bg)
    assert light != dark, light
    page.open(ui_url(srv))
    assert page.js(bg) == light and page.js("return document.getElementById('o-theme').textContent") == "theme: light"
    page.shot("26-light-by-toggle")
    page.js("document.getElementById('o-theme').click()")  # -> auto: the system's dark again
    assert page.js(bg) == dark

    box = page.d.find_element("id", "o-cols")
    box.send_keys("level, took_ms\n")
    cells = page.wait("""(() => { const rows = [...document.querySelectorAll('#rows .row:not(.marker)')];
        if (!rows.length || !rows.every(r => r.querySelectorAll('.jcol').length === 2)) return null;
        return rows.map(r => { const c = r.querySelectorAll('.jcol'); const m = r.querySelector('.msg');
          return [c[0].textContent, c[1].textContent, Math.round(c[0].getBoundingClientRect().left),
                  Math.round(c[1].getBoundingClientRect().left), Math.round(m.getBoundingClientRect().left), m.textContent]; }); })()""",
                      5, "two JSON columns in every row")
    for level, took, x0, x1, xm, msg in cells:
        assert level in ("info", "warn") and took.isdigit(), (level, took)
        assert "level=" not in msg and "took_ms=" not in msg and "msg=" in msg, msg
    assert len({c[2] for c in cells}) == 1 and len({c[3] for c in cells}) == 1 and len({c[4] for c in cells}) == 1, \
        "columns not aligned"
    page.shot("27-json-columns")
    page.open(ui_url(srv))
    page.wait("document.querySelectorAll('#rows .jcol').length > 0", 5, "the columns kept")


def test_several_patterns_and_esc_clears_them(tailcast, workdir, page):
    """"+" adds filter / exclude patterns (repeated q= / not=, up to 16 in all); the link
    restores them; Esc clears them all."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    log = workdir / "app.log"
    append_lines(log, ["alpha beta", "alpha gamma", "alpha beta delta", "beta only"])
    srv = tailcast(sources=file_sources({"app": log}))
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 4, what="4 lines")
    page.d.find_element("id", "q").send_keys("alpha")
    page.js("document.getElementById('q-add').click()")
    page.wait("document.activeElement.closest('#q-extra')", 3, "a second filter box")
    ActionChains(page.d).send_keys("beta\n").perform()
    page.wait("location.search === '?q=alpha&q=beta'", 5, "both patterns in the URL")
    page.wait_texts(lambda t: t == ["alpha beta", "alpha beta delta"], what="lines matching both")
    page.d.find_element("id", "not").send_keys("delta\n")
    page.wait("location.search === '?q=alpha&q=beta&not=delta'", 5, "the exclude pattern")
    page.wait_texts(lambda t: t == ["alpha beta"], what="the line left")

    page.open(page.js("return location.href"))
    assert page.js("return [...document.querySelectorAll('#q, #q-extra input')].map(i => i.value)") == ["alpha", "beta"]
    page.wait_texts(lambda t: t == ["alpha beta"], what="the same view from the link")

    for _ in range(20):
        page.js("document.getElementById('not-add').click()")
    assert page.js("return document.querySelectorAll('#q, #q-extra input, #not, #not-extra input').length") == 16
    assert page.js("return document.getElementById('q-add').disabled")

    page.js("document.activeElement.blur()")
    ActionChains(page.d).send_keys(Keys.ESCAPE).perform()
    page.wait("location.search === ''", 5, "Esc clears every pattern")
    page.wait_texts(lambda t: len(t) == 4, what="all lines again")
    assert page.js("return document.querySelectorAll('#q-extra input, #not-extra input').length") == 0


# --------------------------------------------------------------------------- 15.5


def test_merged_view_is_in_time_order(tailcast, workdir, page):
    """Two sources written in turns: the replay (which the server sends source by source)
    shows in the merged view in time order (ts), and so do the live lines."""
    app, web = workdir / "app.log", workdir / "web.log"
    app.write_text("")
    web.write_text("")
    srv = tailcast(sources=file_sources({"app": app, "web": web}))
    for i in range(1, 7):
        for name, path in (("app", app), ("web", web)):
            append_lines(path, [f"{name} {i}"])
            srv.wait_seq(name, i)
    page.open(ui_url(srv))
    expected = [f"{n} {i}" for i in range(1, 7) for n in ("app", "web")]
    page.wait_texts(lambda t: len(t) == 12, what="the 12 lines")
    assert page.texts() == expected, page.texts()
    for i in range(7, 9):
        for name, path in (("app", app), ("web", web)):
            append_lines(path, [f"{name} {i}"])
            srv.wait_seq(name, i)
    page.wait_texts(lambda t: len(t) == 16, what="the live lines")
    assert page.texts() == [f"{n} {i}" for i in range(1, 9) for n in ("app", "web")], page.texts()
    ts = page.js("return window.tailcast.view.entries().filter(e => e.kind === 'line').map(e => e.ts)")
    assert ts == sorted(ts)
    page.frame()
    rows = page.js("return [...document.querySelectorAll('#rows .row:not(.marker) .msg')].map(m => m.textContent)")
    assert rows == page.texts(), "the rows in the DOM are not in the order held"


def test_merged_view_sorts_and_shows_log_ts_when_lines_carry_it(tailcast, workdir, page):
    """The client half of log_ts (15.5): a line that carries "log_ts" (the time written in the
    log line, which the server may add) is shown with that time and placed by it. The real
    server does not send log_ts yet, so the envelope is handed to the page's connection as if
    it came from the server; the page itself is the real one, on the real binary."""
    app, web = workdir / "app.log", workdir / "web.log"
    append_lines(app, ["app 1"])
    append_lines(web, ["web 1"])
    srv = tailcast(sources=file_sources({"app": app, "web": web}))
    page.open(ui_url(srv))
    page.wait_texts(lambda t: len(t) == 2, what="the 2 lines")
    page.js("""window.tailcast.conn.message(JSON.stringify({type: 'lines', lines: [
      {source: 'app', seq: 1000, ts: '2030-01-01T00:00:05.000000Z', log_ts: '2030-01-01T00:00:03.000000Z', text: 'logged third'},
      {source: 'app', seq: 1001, ts: '2030-01-01T00:00:05.000001Z', log_ts: '2030-01-01T00:00:01.000000Z', text: 'logged first'},
      {source: 'web', seq: 1000, ts: '2030-01-01T00:00:05.000002Z', text: 'read at 5'},
      {source: 'web', seq: 1001, ts: '2030-01-01T00:00:05.000003Z', log_ts: '2030-01-01T00:00:02.000000Z', text: 'logged second'}]}))""")
    page.wait_texts(lambda t: len(t) == 6, what="the injected lines")
    assert page.texts()[2:] == ["logged first", "logged second", "logged third", "read at 5"], page.texts()
    page.js("document.getElementById('o-time').click()")  # local -> UTC
    page.frame()
    shown = page.js("return [...document.querySelectorAll('#rows .row:not(.marker)')].slice(-4).map(r => r.querySelector('.ts').textContent)")
    assert shown == ["00:00:01.000", "00:00:02.000", "00:00:03.000", "00:00:05.000"], shown
