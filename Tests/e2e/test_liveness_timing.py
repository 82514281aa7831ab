"""What docs/protocol.md and docs/configuration.md say about `heartbeat_ms`, timed from a
client's side: a `heartbeat` envelope after heartbeat_ms of quiet, a ping every heartbeat_ms,
and close 1001 ("Ping timeout") when a ping is still unanswered as the next one is due."""

from __future__ import annotations

import json
import struct
import time

from conftest import Closed, RawWS, file_sources

HB = 0.4  # heartbeat_ms = 400
SLACK = 1.5  # a loaded test machine may run late, never early


def test_pings_heartbeats_and_the_ping_timeout(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), server={"heartbeat_ms": int(HB * 1000)})
    raw = RawWS(srv.port, "/ws", answer_pings=False)
    t0 = time.monotonic()
    events: list[tuple[float, int, bytes]] = []
    try:
        while time.monotonic() - t0 < 10:
            _, opcode, data = raw.read_frame(10)
            events.append((time.monotonic() - t0, opcode, data))
            if opcode == 0x8:
                break
    except Closed:
        pass
    finally:
        raw.close()
    texts = [(t, json.loads(d)) for t, op, d in events if op == 0x1]
    pings = [t for t, op, _ in events if op == 0x9]
    closes = [(t, d) for t, op, d in events if op == 0x8]
    assert texts and texts[0][1]["type"] == "hello", events

    print("timeline:", [(round(t, 3), op) for t, op, _ in events])
    # The first ping one interval after the upgrade; unanswered, the connection is closed
    # with 1001 when the next one is due, one interval later.
    assert len(pings) == 1, events
    assert HB * 0.9 <= pings[0] <= HB + SLACK, pings
    assert closes, f"no close frame: {events}"
    t_close, payload = closes[0]
    assert struct.unpack("!H", payload[:2])[0] == 1001
    assert payload[2:] == b"Ping timeout"
    assert 2 * HB * 0.9 <= t_close <= 2 * HB + SLACK, t_close
    assert t_close - pings[0] >= HB * 0.9

    # A heartbeat envelope after heartbeat_ms of quiet since hello (checked every quarter).
    beats = [t for t, m in texts if m["type"] == "heartbeat"]
    assert beats, texts
    assert HB * 0.95 <= beats[0] - texts[0][0] <= HB * 1.25 + SLACK, beats
