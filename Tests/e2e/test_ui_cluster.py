"""The browser UI served by a VIEWER, in headless Chromium: two agents (web-1, web-2) and a
viewer on one nats-server, used as an ops engineer would: the source picker lists every
host's sources as HOST/NAME, "only" narrows the view to one host (and the URL says so), a
filter applies across hosts with its matches highlighted, and an agent that stops shows its
source `missing`, then `reopened` when it is back.

Screenshots go to test-output/ui/. Skipped when Chromium, chromedriver or selenium are missing.
"""

from __future__ import annotations

import re
import signal

import pytest

from conftest import append_lines, wait_for
from nats_support import bus, wait_sources  # noqa: F401 - `bus` is a fixture
from ui_support import LINE_ROWS_JS, driver, page, problems, ui_url  # noqa: F401 - fixtures

WEB = ["web-1/app", "web-2/app"]


def two_hosts(bus, state_dir: bool = False):
    """nats-server, agents web-1 and web-2 (one empty file `app` each), a viewer that lists both."""
    nats = bus.nats_server()
    urls = [nats.url]
    agents = [bus.agent(urls, f"web-{i}", state_dir=state_dir) for i in (1, 2)]
    viewer = bus.viewer(urls, "viewer-1")
    wait_sources(viewer, WEB)
    return agents, viewer


def rows(page) -> list[tuple[str | None, str, str, list[list[int]]]]:
    return [(r[0], r[1], r[3], r[4]) for r in page.js(LINE_ROWS_JS)]


def open_picker(page, n: int) -> None:
    """Opens the source menu (as a click on its button does) and waits for `n` sources listed."""
    if page.js("return document.getElementById('source-menu').hidden"):
        page.d.find_element("id", "source-button").click()
    page.wait(f"document.querySelectorAll('#source-list li').length === {n}", 10, f"{n} sources listed")
    page.frame()


def picker(page) -> dict[str, dict]:
    """What the open source menu lists: name -> its state dot's class and checkbox."""
    listed = page.js("""return [...document.querySelectorAll('#source-list li')].map(li => [
        li.querySelector('.name').textContent, li.querySelector('.state').className,
        li.querySelector('input[type=checkbox]').checked]);""")
    return {name: {"state": state, "checked": checked} for name, state, checked in listed}


def wait_marker(page, cls: str, timeout: float, what: str) -> list[dict]:
    """Waits for markers of class `cls`; a failure lists the markers the page has."""
    try:
        return page.wait("window.tailcast.markers().filter(m => m.cls === arguments[0])", timeout, what, cls)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the page's markers: {page.markers()}") from None


def close_picker(page) -> None:
    page.d.find_element("id", "q").click()  # a click outside the menu closes it
    page.wait("document.getElementById('source-menu').hidden", 5, "the source menu to close")


# --------------------------------------------------------------------------- picking a host


def test_picker_lists_every_host_and_only_narrows_to_one(bus, page):
    from selenium.webdriver.common.action_chains import ActionChains
    (web1, web2), viewer = two_hosts(bus)
    append_lines(web1.logs["app"], ["web-1 boot one", "web-1 boot two"])
    append_lines(web2.logs["app"], ["web-2 boot one"])
    viewer.wait_seq("web-1/app", 2)
    viewer.wait_seq("web-2/app", 1)

    page.open(ui_url(viewer))
    page.wait_texts(lambda t: len(t) == 3, what="the 3 lines replayed from both hosts")
    append_lines(web1.logs["app"], ["web-1 live three"])
    append_lines(web2.logs["app"], ["web-2 live two"])
    page.wait_texts(lambda t: "web-1 live three" in t and "web-2 live two" in t, what="a live line of each host")

    # Merged view: every line shows its HOST/NAME source in its source cell.
    shown = rows(page)
    assert sorted((src, text) for src, _, text, _ in shown) == [
        ("web-1/app", "web-1 boot one"), ("web-1/app", "web-1 boot two"), ("web-1/app", "web-1 live three"),
        ("web-2/app", "web-2 boot one"), ("web-2/app", "web-2 live two")], shown
    assert all(src == entry for src, entry, _, _ in shown), shown

    # The picker lists both hosts' sources, following and selected.
    open_picker(page, 2)
    listed = picker(page)
    assert listed == {n: {"state": "state following", "checked": True} for n in WEB}, listed
    page.shot("40-cluster-picker")

    # "only" on web-2/app (shown while the pointer is on its row), clicked as a user would:
    # the URL and the stream say web-2 only.
    row = page.d.find_element("xpath", "//ul[@id='source-list']/li[.//span[@class='name' and text()='web-2/app']]")
    ActionChains(page.d).move_to_element(row).perform()
    row.find_element("css selector", ".only").click()
    page.wait("location.search === '?source=web-2/app'", 5, "the URL to carry source=web-2/app")
    assert page.js("return window.tailcast.query().source") == ["web-2/app"]
    page.wait_texts(lambda t: t == ["web-2 boot one", "web-2 live two"], what="only web-2's lines")
    assert page.js("return document.getElementById('source-button').textContent") == "sources: web-2/app"
    listed = picker(page)
    assert [n for n, s in listed.items() if s["checked"]] == ["web-2/app"], listed
    close_picker(page)

    # New lines on both hosts: web-2's shows, web-1's (which the viewer has read) does not.
    append_lines(web1.logs["app"], ["web-1 after the pick"])
    append_lines(web2.logs["app"], ["web-2 after the pick"])
    viewer.wait_seq("web-1/app", 4)
    page.wait_texts(lambda t: "web-2 after the pick" in t, what="web-2's new line")
    assert page.texts() == ["web-2 boot one", "web-2 live two", "web-2 after the pick"]
    assert {l["source"] for l in page.lines()} == {"web-2/app"}

    # The link opens the same view, and "show all" brings web-1 back.
    page.open(ui_url(viewer, "source=web-2/app"))
    page.wait_texts(lambda t: t == ["web-2 boot one", "web-2 live two", "web-2 after the pick"],
                    what="the web-2 view from its URL")
    open_picker(page, 2)
    page.d.find_element("id", "source-all").click()
    page.wait("location.search === ''", 5, "the URL without source=")
    page.wait_texts(lambda t: len(t) == 7, what="both hosts' 7 lines again")
    assert problems(page.console()) == [], "console errors or warnings"


# --------------------------------------------------------------------------- filtering


def test_filter_applies_across_hosts_with_highlights(bus, page):
    (web1, web2), viewer = two_hosts(bus)
    append_lines(web1.logs["app"], ["web-1 INFO request ok", "web-1 ERROR disk full, ERROR again"])
    append_lines(web2.logs["app"], ["web-2 ERROR upstream timeout", "web-2 INFO request ok"])
    viewer.wait_seq("web-1/app", 2)
    viewer.wait_seq("web-2/app", 2)
    page.open(ui_url(viewer))
    page.wait_texts(lambda t: len(t) == 4, what="the 4 lines of both hosts")

    page.d.find_element("id", "q").send_keys("ERROR")
    page.wait("location.search === '?q=ERROR'", 5, "the URL to carry the filter")
    page.wait_texts(lambda t: sorted(t) == ["web-1 ERROR disk full, ERROR again", "web-2 ERROR upstream timeout"],
                    what="the matching line of each host, replayed")

    # Live lines: a match and a non-match from each host.
    append_lines(web1.logs["app"], ["web-1 ERROR live", "web-1 INFO live"])
    append_lines(web2.logs["app"], ["web-2 INFO live", "web-2 ERROR live"])
    viewer.wait_seq("web-1/app", 4)
    viewer.wait_seq("web-2/app", 4)
    want = {("web-1/app", "web-1 ERROR disk full, ERROR again"), ("web-1/app", "web-1 ERROR live"),
            ("web-2/app", "web-2 ERROR upstream timeout"), ("web-2/app", "web-2 ERROR live")}
    page.wait_texts(lambda t: len(t) == 4 and "web-1 ERROR live" in t and "web-2 ERROR live" in t,
                    what="the live matching line of each host")
    shown = rows(page)
    assert {(entry, text) for _, entry, text, _ in shown} == want, shown
    assert all(src == entry for src, entry, _, _ in shown), "each line shows its HOST/NAME"
    # Every occurrence of the pattern is highlighted, and nothing else.
    for _, entry, text, marks in shown:
        expected = [[m.start(), m.end()] for m in re.finditer("ERROR", text)]
        assert marks == expected, f"{entry}: {text!r} highlights {marks}, expected {expected}"
    page.shot("41-cluster-filter")
    assert problems(page.console()) == [], "console errors or warnings"


# --------------------------------------------------------------------------- an agent stops


def stop_and_restart_an_agent(bus, page) -> list[dict]:
    """web-2's agent stops (SIGTERM) while the page shows both hosts, the engineer looks at the
    picker during the outage, then the agent starts again with the same config. Checks what
    the page shows on the way; returns the markers that name web-2/app once a marker says it
    is back."""
    (web1, web2), viewer = two_hosts(bus, state_dir=True)  # the numbering continues after a restart
    append_lines(web1.logs["app"], ["web-1 before"])
    append_lines(web2.logs["app"], ["web-2 before"])
    viewer.wait_seq("web-1/app", 1)
    viewer.wait_seq("web-2/app", 1)
    wait_for(lambda: (web2.logs["app"].parent / "state" / "positions.json").exists(), 10,
             "web-2 to save its positions")
    page.open(ui_url(viewer))
    page.wait_texts(lambda t: sorted(t) == ["web-1 before", "web-2 before"], what="a line of each host")

    web2.signal(signal.SIGTERM)
    missing = wait_marker(page, "event m-missing", 10, "the missing marker of web-2/app")
    assert [m["text"].split(":")[0] for m in missing] == ["web-2/app"], missing
    assert "web-2" in missing[0]["text"].split(":", 1)[1], f"the marker says why: {missing}"
    assert web2.wait_exit() == 0, "SIGTERM ends an agent cleanly"

    # The engineer looks at the picker: web-2/app is not following, the button warns.
    open_picker(page, 2)
    page.wait("[...document.querySelectorAll('#source-list li')].some(li => "
              "li.querySelector('.name').textContent === 'web-2/app' && li.querySelector('.state.waiting'))",
              5, "web-2/app listed as waiting")
    assert picker(page)["web-1/app"]["state"] == "state following"
    assert page.js("return document.getElementById('source-button').classList.contains('warn')")
    page.shot("42-cluster-agent-missing")
    close_picker(page)

    # The agent is back with the same config: its new lines arrive, numbered on, and the
    # picker says following again.
    web2.start()
    append_lines(web2.logs["app"], ["web-2 after"])
    append_lines(web1.logs["app"], ["web-1 after"])
    page.wait_texts(lambda t: "web-2 after" in t and "web-1 after" in t, what="a line of each host after the restart")
    assert [(l["source"], l["seq"]) for l in page.lines() if l["source"] == "web-2/app"] == [
        ("web-2/app", 1), ("web-2/app", 2)], "web-2's numbering continues, each line once"
    wait_for(lambda: viewer.sources()["web-2/app"]["state"] == "following", 5, "web-2/app following again")
    open_picker(page, 2)
    page.wait("[...document.querySelectorAll('#source-list .state')].every(s => s.className === 'state following')",
              5, "both sources following in the picker")
    assert not page.js("return document.getElementById('source-button').classList.contains('warn')")
    close_picker(page)
    assert problems(page.console()) == [], "console errors or warnings"

    back = page.wait("window.tailcast.markers().filter(m => m.text.startsWith('web-2/app:') "
                     "&& m.cls !== 'event m-missing')", 10, "a marker that web-2/app is back")
    page.shot("43-cluster-agent-back")
    markers = page.markers()
    assert not [m for m in markers if m["text"].startswith("web-1/app:")], f"web-1 never stopped: {markers}"
    return [m for m in markers if m["text"].startswith("web-2/app:")]


def test_stopped_agent_shows_missing_then_follows_again(bus, page):
    web2 = stop_and_restart_an_agent(bus, page)
    assert web2[0]["cls"] == "event m-missing" and len(web2) >= 2, web2


# The page turns the `reopened` of a local file source it saw `waiting` in /api/sources into
# its own "file appeared (PATH); following it" marker. Another host's source is `waiting` while
# its agent is away; its return must stay the agent's `reopened`, with the server's reason, even
# when the picker was opened (or the 10 s /api/sources poll ran) during the outage. (This
# failed before app.js skipped sources that carry `host`.)
def test_agent_back_shows_reopened_with_its_reason(bus, page):
    web2 = stop_and_restart_an_agent(bus, page)
    assert [m["cls"] for m in web2] == ["event m-missing", "event m-reopened"], \
        f"web-2/app's markers should be its missing and reopened events; the page shows {web2}"
    assert "agent web-2 is back" in web2[1]["text"], web2
