"""Many hosts, one view: tailcast agents and viewers joined by NATS JetStream (issue 13).

Every test starts its own `nats-server -js` (or a three-node JetStream cluster) and tailcast
nodes on loopback ports (fixtures in nats_support.py) and drives them as a user would: WebSocket
clients and HTTP on the viewers, lines appended to the agents' files. The rules under test are
in protocol.md, "Many hosts, one view": names are HOST/NAME everywhere, queries and `since` work
on any viewer, loss is exact (no duplicate seq, every gap a `dropped` with the exact range), a
silent agent's sources are `missing` within agent_timeout.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import secrets
import signal
import time

import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect

from conftest import WSClient, append_lines, assert_continuous, run, wait_for, ws_open
from nats_support import (  # noqa: F401 - `bus` is a fixture
    AGENT_TIMEOUT_MS,
    HEARTBEAT_S,
    Covered,
    LineWriter,
    bus,
    check_exact,
    since_of,
    viewer_past_its_ring,
    wait_sources,
)

WEB = [f"web-{i}/app" for i in (1, 2, 3)]


def bus_state(node) -> tuple[int, str | None]:
    status, body = node.get_json("/readyz")
    return status, body.get("bus")


async def in_thread(fn, *args, **kw):
    """Run a blocking helper (wait_for, a process stop) without stopping the event loop."""
    return await asyncio.to_thread(fn, *args, **kw)


def progress(c: WSClient, names) -> str:
    """Per source: lines received, highest seq, dropped ranges (for failure messages)."""
    out = []
    for n in names:
        seqs = c.seqs(n)
        drops = [(d["from_seq"], d["to_seq"], d["reason"]) for d in c.of_type("dropped") if d["source"] == n]
        out.append(f"{n}: {len(seqs)} lines, last seq {seqs[-1] if seqs else None}, dropped {drops}")
    return "; ".join(out)


async def until_covered(c: WSClient, names, upto, timeout: float, what: str, first: int = 1) -> None:
    """Receive until every seq first..upto(name) of each source arrived or was reported dropped."""
    cov = Covered(names, first)
    try:
        await c.until(lambda c: all(cov.update(c.msgs).upto(n, upto(n)) for n in names), timeout, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nprogress: {progress(c, names)}") from None


def files_of(agents) -> dict:
    return {f"{a.host}/app": a.logs["app"] for a in agents}


# --------------------------------------------------------------------------- one bus, 3 agents, 2 viewers


def test_glob_query_over_three_agents_then_resume_on_the_other_viewer(bus):
    nats = bus.nats_server()
    urls = [nats.url]
    agents = [bus.agent(urls, f"web-{i}") for i in (1, 2, 3)]
    v1 = bus.viewer(urls, "viewer-1")
    v2 = bus.viewer(urls, "viewer-2")
    for v in (v1, v2):
        listed = wait_sources(v, WEB)
        for i, name in enumerate(WEB, 1):
            item = listed[name]
            assert item["host"] == f"web-{i}", item
            assert item["kind"] == "file", item

    writer = LineWriter(files_of(agents), interval=0.01, limit=300, match_every=3)
    query = "source=*/app&q=MATCH"

    async def scenario():
        c1 = await ws_open(v1, query)
        assert sorted(c1.hello["sources"]) == WEB, c1.hello
        epochs = c1.hello["epochs"]
        assert sorted(epochs) == WEB, c1.hello
        writer.start()
        # Every source has delivered matching lines: viewer 1 dies mid-stream.
        await c1.until(lambda c: all(len(c.seqs(n)) >= 8 for n in WEB), 15, "matching lines of all three agents")
        assert writer.is_alive(), "the writer is still writing when viewer 1 dies"
        v1.kill()
        await c1.wait_closed(10)
        since = since_of(c1.lines, epochs)
        c2 = await ws_open(v2, f"{query}&since={since}")
        assert c2.hello["epochs"] == epochs, "an agent's epoch is the same on every viewer"
        written = await in_thread(writer.wait_done, 30)
        await c2.until(lambda c: all(writer.text(n, 300) in c.texts(n) for n in WEB), 20,
                       "the last matching line of each agent on viewer 2")
        await c2.quiet(0.3)  # nothing more (a duplicate would show here)
        await c2.close()
        return c1, c2, written

    c1, c2, written = run(scenario())
    assert not c1.of_type("dropped") and not c2.of_type("dropped"), "the stream held every line"
    for n in WEB:
        matching = [k for k, t in enumerate(written[n], 1) if "MATCH" in t]
        got = c1.seqs(n) + c2.seqs(n)
        assert got == matching, (f"{n}: viewer 1 then viewer 2 gave seqs {got[:8]}... ({len(got)}), expected "
                                 f"exactly the matching ones {matching[:8]}... ({len(matching)}); "
                                 f"on viewer 1 {c1.seqs(n)[-3:]}, on viewer 2 {c2.seqs(n)[:3]}")
        for line in c1.lines + c2.lines:
            if line["source"] == n:
                assert line["text"] == written[n][line["seq"] - 1], f"the agent's seq is carried unchanged: {line}"

    # The other query parameters work on remote sources as on one host (viewer 2 holds them all).
    def non_matching(n):
        return [k for k, t in enumerate(written[n], 1) if "MATCH" not in t]

    async def queries():
        cases = [
            ("source=web-*/app&n=0", WEB, {}),
            ("source=web-2/*&q=MATCH&n=5", ["web-2/app"], {"web-2/app": [288, 291, 294, 297, 300]}),
            ("source=web-3/app&q=MATCH&v&n=3", ["web-3/app"], {"web-3/app": non_matching("web-3/app")[-3:]}),
            ("source=web-1/app&q=MATCH&from=-5m", ["web-1/app"], {"web-1/app": list(range(3, 301, 3))}),
        ]
        for query, selected, expect in cases:
            c = await ws_open(v2, query)
            assert sorted(c.hello["sources"]) == selected, (query, c.hello)
            total = sum(len(v) for v in expect.values())
            await c.until(lambda c: len(c.lines) >= total, 10, f"{total} lines for {query}")
            await c.quiet(0.3)
            got = {n: c.seqs(n) for n in selected if c.seqs(n)}
            assert got == expect, f"{query}: {got}"
            await c.close()

    run(queries())
    status, _, body = v2.get("/api/lines?source=web-2/app&q=MATCH&n=2")
    assert status == 200, (status, body[:200])
    got = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
    assert [(l["source"], l["seq"]) for l in got] == [("web-2/app", 297), ("web-2/app", 300)], got


# --------------------------------------------------------------------------- the bus stops for a while


@pytest.mark.parametrize("agent_ring", [None, 100], ids=["big-ring", "small-ring"])
def test_bus_outage_every_line_once_or_exactly_dropped(bus, agent_ring):
    """With the default ring the agents keep every line through the outage; with a ring of 100
    lines they cannot (about 300 lines per agent are written while the bus is down), and what
    fell out is one exact `evicted` range per gap."""
    nats = bus.nats_server()
    urls = [nats.url]
    defaults = {"ring_lines": agent_ring} if agent_ring else None
    agents = [bus.agent(urls, f"web-{i}", defaults=defaults) for i in (1, 2)]
    viewer = bus.viewer(urls, "viewer-1")
    names = WEB[:2]
    wait_sources(viewer, names)
    writer = LineWriter(files_of(agents), interval=0.01, limit=3000)

    async def scenario():
        c = await ws_open(viewer, "source=*/app")
        writer.start()
        await c.until(lambda c: all(len(c.seqs(n)) >= 20 for n in names), 15, "lines before the outage")
        await in_thread(nats.stop)
        for node in (viewer, *agents):
            await in_thread(wait_for, lambda: bus_state(node) == (503, "disconnected"), 10,
                            f"/readyz of {node.host} to answer 503 with bus disconnected")
        await asyncio.sleep(3)  # the scenario: the bus stays down for seconds while the agents write
        assert writer.is_alive()
        await in_thread(nats.start)
        for node in (viewer, *agents):
            await in_thread(wait_for, lambda: bus_state(node) == (200, "connected"), 20,
                            f"/readyz of {node.host} to answer 200 with bus connected after the restart")
        # Lines written after the bus came back arrive too; then stop writing.
        upto = min(writer.count() + 20, writer.limit)
        await until_covered(c, names, lambda n: upto, 20, f"lines up to seq {upto}, written after the bus came back")
        written = writer.finish()
        await until_covered(c, names, lambda n: len(written[n]), 20, "every written line, or a dropped record for it")
        await c.quiet(0.3)
        await c.close()
        return c, written

    c, written = run(scenario())
    for n in names:
        lost = check_exact(c.msgs, n, written[n])
        if agent_ring:
            assert lost > 0, f"{n}: an agent ring of {agent_ring} lines cannot hold the outage's lines"
            reasons = {d["reason"] for d in c.of_type("dropped") if d["source"] == n}
            assert reasons == {"evicted"}, f"{n}: lines lost before reaching the bus are evicted: {reasons}"


# --------------------------------------------------------------------------- a three-node NATS cluster


def test_viewer_moves_to_another_nats_node_without_a_gap(bus):
    members = bus.nats_cluster(3)
    urls = [m.url for m in members]
    agents = [bus.agent(urls, f"web-{i}", replicas=3) for i in (1, 2)]
    viewer = bus.viewer(urls, "viewer-1", replicas=3)
    names = WEB[:2]
    wait_sources(viewer, names)
    conn = "tailcast/viewer/viewer-1"

    def home_of(among):
        hits = [m for m in among if m.alive and conn in m.connection_names()]
        return hits[0] if len(hits) == 1 else None

    home = wait_for(lambda: home_of(members), 10, f"a connection named {conn!r} in one member's /connz")
    for a in agents:
        wait_for(lambda: any(f"tailcast/agent/{a.host}" in m.connection_names() for m in members), 10,
                 f"the agent {a.host}'s connection in /connz")
    others = [m for m in members if m is not home]
    writer = LineWriter(files_of(agents), interval=0.01, limit=3000)

    async def scenario():
        c = await ws_open(viewer, "source=*/app")
        writer.start()
        await c.until(lambda c: all(len(c.seqs(n)) >= 20 for n in names), 15, "lines before the node dies")
        meta = (home.monitor("/jsz").get("meta_cluster") or {}).get("leader")
        stream = (home.monitor("/jsz?streams=true")["account_details"][0]["stream_detail"][0].get("cluster") or {})
        killed = f"killed {home.name} (meta leader {meta}, stream leader {stream.get('leader')})"
        home.kill()
        await in_thread(wait_for, lambda: home_of(others), 20, f"the viewer to reconnect to another member; {killed}")
        upto = min(writer.count() + 20, writer.limit)
        t0 = time.monotonic()
        try:
            await until_covered(c, names, lambda n: upto, 20,
                                f"lines up to seq {upto}, written after the viewer moved; {killed}")
        except AssertionError as exc:
            # Measure the stall for the report: does the source resume at all, and when?
            try:
                await until_covered(c, names, lambda n: upto, 30, "the stalled source")
                late = f"they arrived {time.monotonic() - t0:.1f}s after the move"
            except AssertionError:
                late = f"still missing {time.monotonic() - t0:.1f}s after the move"
            raise AssertionError(f"{exc}\n{late}; {progress(c, names)}") from None
        written = writer.finish()
        await until_covered(c, names, lambda n: len(written[n]), 20, "every written line")
        await c.quiet(0.3)
        await c.close()
        return c, written

    c, written = run(scenario())
    assert not c.of_type("dropped"), f"no gap when a bus node dies: {c.of_type('dropped')[:3]}"
    assert "missing" not in c.events(), f"no agent stopped, none is missing: {c.of_type('event')}"
    for n in names:
        check_exact(c.msgs, n, written[n])
        assert_continuous(c.seqs(n), first=1)


def test_nodes_starting_together_on_a_cluster_report_no_live_agent_missing(bus):
    """A viewer up first, a client on it, then two agents starting at once on a three-node
    cluster (replicas 3): their lines arrive and no live agent is ever reported missing."""
    members = bus.nats_cluster(3)
    urls = [m.url for m in members]
    viewer = bus.viewer(urls, "viewer-1", replicas=3)
    names = WEB[:2]

    async def scenario():
        c = await ws_open(viewer, "")
        agents = await asyncio.gather(*(in_thread(bus.agent, urls, f"web-{i}", replicas=3) for i in (1, 2)))
        await in_thread(wait_sources, viewer, names)
        for a in agents:
            append_lines(a.logs["app"], [f"{a.host} first"])
        await c.until(lambda c: all(c.texts(n) for n in names), 15, "a line of each agent")
        await c.quiet(AGENT_TIMEOUT_MS / 1000)
        await c.close()
        return c

    c = run(scenario())
    assert not c.of_type("event"), f"no agent stopped, none is missing or back: {c.of_type('event')}"
    for n in names:
        assert c.seqs(n) == [1], f"{n}: {c.summary()}"


# --------------------------------------------------------------------------- agent liveness


def test_stopped_agents_are_missing_on_every_viewer_then_reopened(bus):
    nats = bus.nats_server()
    urls = [nats.url]
    agents = [bus.agent(urls, f"web-{i}", state_dir=True) for i in (1, 2, 3)]
    viewers = [bus.viewer(urls, f"viewer-{i}") for i in (1, 2)]
    for v in viewers:
        wait_sources(v, WEB)
    stopped = {"web-1/app": signal.SIGKILL, "web-2/app": signal.SIGTERM}
    budget = AGENT_TIMEOUT_MS / 1000 + HEARTBEAT_S + 1.5

    async def scenario():
        clients = [await ws_open(v, "source=*/app") for v in viewers]
        epochs = clients[0].hello["epochs"]
        for a in agents:
            append_lines(a.logs["app"], [f"{a.host} before {k}" for k in (1, 2, 3)])
        for c in clients:
            assert c.hello["epochs"] == epochs
            await c.until(lambda c: all(len(c.seqs(n)) == 3 for n in WEB), 10, "the first lines of every agent")
        for a in agents[:2]:  # the numbering must be saved to continue it after a SIGKILL
            await in_thread(wait_for, lambda: (a.logs["app"].parent / "state" / "positions.json").exists(), 10,
                            f"{a.host} to save its positions")
        t0 = time.monotonic()
        agents[0].signal(signal.SIGKILL)
        agents[1].signal(signal.SIGTERM)
        for c in clients:
            left = budget - (time.monotonic() - t0)
            await c.until(lambda c: all("missing" in c.events(n) for n in stopped), max(left, 0.1),
                          f"missing for web-1/app and web-2/app within {budget:.1f}s")
        for v in viewers:
            listed = v.sources()
            assert [listed[n]["state"] for n in WEB] == ["waiting", "waiting", "following"], listed
            status, body = v.get_json("/readyz")
            assert status == 503 and body["bus"] == "connected", body
            assert body["sources"]["web-1/app"]["state"] == "waiting", body
            assert body["sources"]["web-3/app"]["state"] == "following", body
        agents[0].wait_exit()
        assert agents[1].wait_exit() == 0, "SIGTERM ends an agent cleanly"
        await in_thread(agents[0].start)
        await in_thread(agents[1].start)
        for c in clients:
            await c.until(lambda c: all("reopened" in c.events(n) for n in stopped), 10,
                          "reopened for web-1/app and web-2/app")
        for a in agents:
            append_lines(a.logs["app"], [f"{a.host} after"])
        for c in clients:
            await c.until(lambda c: all(f"web-{i} after" in c.texts(f"web-{i}/app") for i in (1, 2, 3)), 10,
                          "a line of every agent after the restart")
            await c.quiet(0.3)
            await c.close()
        return clients

    clients = run(scenario())
    for c in clients:
        assert "missing" not in c.events("web-3/app"), "a live agent is never reported missing"
        for n in WEB:
            # The numbering continues across the restart (state_dir): seqs 1..4, each once.
            assert c.seqs(n) == [1, 2, 3, 4], f"{n}: {c.seqs(n)} {c.texts(n)}"
        for n in stopped:
            ev = c.events(n)
            assert ev.index("missing") < ev.index("reopened"), ev
    for v in viewers:
        wait_sources(v, WEB)
        wait_for(lambda: v.get("/readyz")[0] == 200, 10, "/readyz 200 once every agent is back")


# --------------------------------------------------------------------------- start-up and roles


@pytest.mark.parametrize("role", ["agent", "viewer", "both"])
def test_bus_unreachable_at_start_then_connects(bus, role):
    nats = bus.nats_server(start=False)  # nothing listens on its port yet
    start = {"agent": bus.agent, "viewer": bus.viewer, "both": bus.both}[role]
    node = start([nats.url], "web-1", wait_ready=False)  # waits for /healthz 200: no crash
    wait_for(lambda: bus_state(node) == (503, "disconnected"), 10, "/readyz 503 with bus disconnected")
    about_bus = re.compile(rf"^(?=.*\bbus\b)(?=.*127\.0\.0\.1:{nats.port}\b).*$", re.I | re.M)
    wait_for(lambda: about_bus.search(node.stderr_text()), 10,
             f"a log line about the unreachable bus naming {nats.url}")
    assert node.alive
    nats.start()
    wait_for(lambda: bus_state(node) == (200, "connected"), 20,
             "/readyz 200 with bus connected once the NATS server is up")
    if role != "viewer":
        _, body = node.get_json("/readyz")
        assert body["sources"] == {"web-1/app": {"state": "following"}}, body
    assert node.alive


def test_agent_only_node_serves_health_but_no_clients(bus):
    nats = bus.nats_server()
    agent = bus.agent([nats.url], "web-1")
    for path in ("/", "/ws", "/api/lines", "/api/lines?n=1", "/api/sources"):
        status, _, body = agent.get(path)
        assert status == 404, f"GET {path} on an agent-only node answered {status}: {body[:200]!r}"
    for path in ("/healthz", "/readyz", "/metrics"):
        assert agent.get(path)[0] == 200, path
    _, ready = agent.get_json("/readyz")
    assert ready["bus"] == "connected" and ready["sources"] == {"web-1/app": {"state": "following"}}, ready

    async def upgrade():
        with pytest.raises(websockets.InvalidStatus) as err:
            async with ws_connect(agent.ws_url(), proxy=None, open_timeout=5):
                pass
        assert err.value.response.status_code == 404

    run(upgrade())


def test_node_on_the_bus_names_its_sources_host_slash_name(bus):
    nats = bus.nats_server()
    node = bus.both([nats.url], "web-1", names=("app", "db"))
    names = ["web-1/app", "web-1/db"]
    status, ready = node.get_json("/readyz")
    assert status == 200 and ready["bus"] == "connected", ready
    assert sorted(ready["sources"]) == names, ready
    listed = wait_sources(node, names)
    assert sorted(listed) == names and all(listed[n]["host"] == "web-1" for n in names), listed

    async def scenario():
        c = await ws_open(node, "")
        assert sorted(c.hello["sources"]) == names and sorted(c.hello["epochs"]) == names, c.hello
        epoch = c.hello["epochs"]["web-1/app"]
        append_lines(node.logs["app"], ["one", "two", "three"])
        append_lines(node.logs["db"], ["db one"])
        await c.until(lambda c: len(c.lines) == 4, 10, "the four lines")
        assert sorted((l["source"], l["seq"], l["text"]) for l in c.lines) == [
            ("web-1/app", 1, "one"), ("web-1/app", 2, "two"), ("web-1/app", 3, "three"), ("web-1/db", 1, "db one")]
        await c.close()
        # since=HOST/NAME:SEQ:EPOCH resumes exactly; n replays; globs select.
        c = await ws_open(node, f"since=web-1/app:1:{epoch}&source=web-1/app")
        await c.until(lambda c: len(c.lines) >= 2, 10, "the lines after seq 1")
        await c.quiet(0.3)
        assert c.seqs() == [2, 3] and not c.of_type("dropped"), c.summary()
        await c.close()
        c = await ws_open(node, "source=*/db&n=5")
        assert c.hello["sources"] == ["web-1/db"], c.hello
        await c.until(lambda c: c.lines, 10, "the db line")
        assert c.texts() == ["db one"]
        await c.close()
        c = await ws_open(node, "source=web-1/*&q=^t&n=10")
        await c.until(lambda c: len(c.lines) >= 2, 10, "the two matching lines")
        await c.quiet(0.3)
        assert c.texts() == ["two", "three"]
        await c.close()

    run(scenario())


# --------------------------------------------------------------------------- grants over HOST/NAME


def token_get(port: int, path: str, token: str) -> tuple[int, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def test_token_grant_names_host_patterns(bus, workdir):
    """A tokens-file grant `web-1/*` reads web-1's sources only (the file syntax is the one of
    one host, `TOKEN name,name`, with HOST/NAME patterns as the names)."""
    full, web1 = secrets.token_hex(24), secrets.token_hex(24)
    tokens = workdir / "tokens"
    tokens.write_text(f"{full}\n{web1} web-1/*\n")
    nats = bus.nats_server()
    urls = [nats.url]
    agents = [bus.agent(urls, f"web-{i}") for i in (1, 2)]
    viewer = bus.viewer(urls, "viewer-1", extra_toml=f'[auth]\ntokens_file = "{tokens}"\n')

    def listed(token):
        status, body = token_get(viewer.port, "/api/sources", token)
        assert status == 200, (status, body)
        return sorted(s["name"] for s in body)

    wait_for(lambda: listed(full) == WEB[:2], 15, "the viewer to list both agents' sources")
    assert listed(web1) == ["web-1/app"]

    async def scenario():
        c = await WSClient.open(viewer.ws_url(f"token={web1}"))
        assert c.hello["sources"] == ["web-1/app"], c.hello
        for a in agents:
            append_lines(a.logs["app"], [f"{a.host} line"])
        await c.until(lambda c: c.lines, 10, "web-1's line")
        await c.quiet(0.5)
        assert c.texts() == ["web-1 line"], c.summary()
        await c.close()
        c = await WSClient.open(viewer.ws_url(f"token={web1}&source=web-2/app"), expect_hello=False)
        err = await c.next_of_type("error", 10)
        assert err.get("code") == "forbidden" and err.get("param") == "source", err
        assert await c.wait_closed(10) == 1008

    run(scenario())
    assert token_get(viewer.port, "/api/lines?source=web-2/app&n=1", web1)[0] == 403
    status, body = token_get(viewer.port, "/api/lines?source=web-1/app&n=1", web1)
    assert status == 200 and body["text"] == "web-1 line", (status, body)


# --------------------------------------------------------------------------- past the stream's retention


def test_resume_past_the_streams_retention_is_evicted_exactly(bus):
    nats = bus.nats_server()
    urls = [nats.url]
    agent = bus.agent(urls, "web-1", max_age="1s")
    v1 = bus.viewer(urls, "viewer-1", max_age="1s")
    wait_sources(v1, ["web-1/app"])
    first = [f"old {k}" for k in range(1, 6)]

    async def through_the_bus():
        c = await ws_open(v1, "source=web-1/app")
        append_lines(agent.logs["app"], first)
        await c.until(lambda c: len(c.lines) == 5, 10, "the five lines through the bus")
        await c.close()
        return c.hello["epochs"]["web-1/app"]

    epoch = run(through_the_bus())
    # The stream's max_age (1 s) removes every message published so far.
    mark = nats.stream_state()["last_seq"]
    wait_for(lambda: nats.stream_state()["first_seq"] > mark, 10,
             "the stream to expire the first lines (max_age 1s)", interval=0.2)
    v2 = bus.viewer(urls, "viewer-2", max_age="1s")  # its ring never saw them
    wait_sources(v2, ["web-1/app"])

    async def resume():
        c = await ws_open(v2, f"since=web-1/app:0:{epoch}")
        assert c.hello["epochs"]["web-1/app"] == epoch
        append_lines(agent.logs["app"], ["new 6"])
        await c.until(lambda c: "new 6" in c.texts(), 10, "the line written after the resume")
        await c.quiet(0.3)
        await c.close()
        return c

    c = run(resume())
    dropped = c.of_type("dropped")
    assert [(d["reason"], d["from_seq"], d["to_seq"], d["count"]) for d in dropped] == [("evicted", 1, 5, 5)], \
        f"the lines past the stream's retention are one exact evicted range: {c.summary()}"
    check_exact(c.msgs, "web-1/app", [*first, "new 6"])
    assert c.seqs() == [6]


def test_resume_older_than_the_viewers_ring_reads_back_the_stream(bus):
    """A viewer holding 100 lines per source resumes a client from seq 10 of 400: lines 11..300
    come back from the stream, 301..400 from its ring, with no gap, no duplicate, no dropped; the
    same for from=TIME before its ring."""
    written = [f"line {k}" for k in range(1, 401)]

    async def scenario():
        viewer, epoch = await viewer_past_its_ring(bus)
        held = viewer.metrics().value("tailcast_ring_lines", source="web-1/app")
        assert held <= 100, f"the viewer's ring holds {held} lines, not at most ring_lines = 100"
        c = await ws_open(viewer, f"since=web-1/app:10:{epoch}")
        await until_covered(c, ["web-1/app"], lambda n: 400, 15, "lines 11..400", first=11)
        await c.quiet(0.3)
        await c.close()
        f = await ws_open(viewer, "source=web-1/app&from=-10m")
        await until_covered(f, ["web-1/app"], lambda n: 400, 15, "lines 1..400 by time")
        await f.quiet(0.3)
        await f.close()
        assert f.seqs() == list(range(1, 401)) and not f.of_type("dropped"), f"from=-10m: {progress(f, ['web-1/app'])}"
        return c

    c = run(scenario())
    assert not c.of_type("dropped"), f"the stream still holds every line: {c.of_type('dropped')}"
    assert c.seqs() == list(range(11, 401)), f"{c.seqs()[:5]}...{c.seqs()[-5:]} ({len(c.seqs())} lines)"
    assert c.texts() == written[10:]


def test_a_host_that_joins_later_is_taken_in_by_open_glob_queries(bus):
    """An open query by glob (`source=*/app`) or of every source takes in a source that appears
    later (another agent joins), read from then on; a query naming exact sources does not."""
    nats = bus.nats_server()
    urls = [nats.url]
    a1 = bus.agent(urls, "web-1")
    viewer = bus.viewer(urls, "viewer-1")
    wait_sources(viewer, ["web-1/app"])

    async def scenario():
        glob = await ws_open(viewer, "source=*/app")
        every = await ws_open(viewer, "")
        exact = await ws_open(viewer, "source=web-1/app")
        for c in (glob, every, exact):
            assert c.hello["sources"] == ["web-1/app"], c.hello
        a2 = await in_thread(bus.agent, urls, "web-2")
        await in_thread(wait_sources, viewer, WEB[:2])
        append_lines(a1.logs["app"], ["from web-1"])
        append_lines(a2.logs["app"], ["from web-2"])
        for c in (glob, every):
            await c.until(lambda c: len(c.lines) >= 2, 10, "the lines of both hosts on an open glob query")
        await exact.until(lambda c: c.lines, 10, "web-1's line on the exact query")
        await exact.quiet(0.5)
        for c in (glob, every):
            assert sorted((l["source"], l["seq"], l["text"]) for l in c.lines) == [
                ("web-1/app", 1, "from web-1"), ("web-2/app", 1, "from web-2")], c.summary()
            await c.close()
        assert exact.texts() == ["from web-1"], exact.summary()
        await exact.close()

    run(scenario())


def test_agent_restarted_without_state_starts_a_new_epoch_on_the_viewers(bus):
    """An agent restarted without state_dir numbers its source again in a new epoch: a reader of
    the old epoch gets `dropped` `restarted` and carries on in the new one, and `since` with the
    old epoch on a viewer gets `restarted` then every held line of the new epoch, as on one host."""
    nats = bus.nats_server()
    urls = [nats.url]
    agent = bus.agent(urls, "web-1")
    viewer = bus.viewer(urls, "viewer-1")
    wait_sources(viewer, ["web-1/app"])

    async def scenario():
        c = await ws_open(viewer, "source=web-1/app")
        old = c.hello["epochs"]["web-1/app"]
        append_lines(agent.logs["app"], ["one", "two", "three"])
        await c.until(lambda c: len(c.lines) == 3, 10, "the first three lines")
        agent.stop()
        await in_thread(agent.start)
        new = await in_thread(wait_for, lambda: (e := _epoch_of(viewer)) != old and e, 15,
                              "the viewer to know the agent's new epoch")
        append_lines(agent.logs["app"], ["after restart"])
        await c.until(lambda c: "after restart" in c.texts(), 10, "the new epoch's line on the open connection")
        drops = [d for d in c.of_type("dropped") if d["reason"] == "restarted"]
        assert drops and drops[0]["epoch"] == old, f"an open reader is told its epoch ended: {c.summary()}"
        await c.close()
        r = await ws_open(viewer, f"since=web-1/app:3:{old}")
        assert r.hello["epochs"]["web-1/app"] == new != old, r.hello
        await r.until(lambda c: "after restart" in c.texts(), 10, "the new epoch's lines after since")
        await r.quiet(0.3)
        d = r.of_type("dropped")
        assert d and {k: d[0].get(k) for k in ("reason", "epoch", "from_seq", "to_seq", "count")} == {
            "reason": "restarted", "epoch": old, "from_seq": 4, "to_seq": None, "count": None}, r.summary()
        assert r.msgs.index(d[0]) < min(i for i, m in enumerate(r.msgs) if m["type"] == "lines")
        assert r.texts()[-1] == "after restart" and len(r.seqs()) == len(set(r.seqs())), r.summary()
        await r.close()

    run(scenario())


def _epoch_of(viewer) -> str | None:
    """The epoch a new connection's hello gives for web-1/app now."""
    async def hello():
        c = await ws_open(viewer, "source=web-1/app")
        await c.close()
        return c.hello["epochs"].get("web-1/app")
    return asyncio.run(hello())
