"""Connection limits: a slowloris client is cut at the handshake timeout while others are served."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from conftest import append_lines, http_get


def test_slowloris_is_cut_at_the_handshake_timeout(tailcast, workdir: Path):
    log = workdir / "app.log"
    append_lines(log, ["x"])
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}],
                   server={"handshake_timeout_ms": 1000})
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.settimeout(0.2)
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nX-Slow: " + "a" * 100
    start = time.monotonic()
    closed_after = None
    for ch in request:  # one byte every 100 ms, never finishing the head
        try:
            s.sendall(ch.encode())
        except OSError:
            closed_after = time.monotonic() - start
            break
        try:
            if s.recv(100) == b"":
                closed_after = time.monotonic() - start
                break
        except socket.timeout:
            pass
        # Others are served meanwhile.
        assert http_get(srv.port, "/healthz")[0] == 200
        if time.monotonic() - start > 5:
            break
    s.close()
    assert closed_after is not None, "the slow client was not cut within 5 s"
    assert closed_after < 3.0


def test_oversized_request_head_gets_431(tailcast, workdir: Path):
    log = workdir / "app.log"
    append_lines(log, ["x"])
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}])
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nX-Big: {'a' * 100_000}\r\n\r\n".encode())
    head = s.recv(200)
    s.close()
    assert head.startswith(b"HTTP/1.1 431"), head
    assert http_get(srv.port, "/healthz")[0] == 200


def test_per_address_limit_and_closing_log_line(tailcast, workdir: Path):
    from conftest import run, ws_open, WSClient

    log = workdir / "app.log"
    append_lines(log, ["x"])
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}],
                   server={"max_connections_per_address": 2})

    async def scenario():
        a = await ws_open(srv)
        b = await ws_open(srv, "q=hello")
        c = await WSClient.open(srv.ws_url(""), expect_hello=False)
        code = await c.wait_closed(10)
        assert code == 1013
        err = c.of_type("error")
        assert err and err[0]["code"] == "too_many_connections"
        append_lines(log, ["hello world"])
        await b.until(lambda c: "hello world" in c.texts(), 10, "line")
        await b.close()
        # A slot is free again.
        d = await ws_open(srv)
        await d.close()
        await a.close()

    run(scenario())
    from conftest import wait_for
    wait_for(lambda: "lines_sent=1" in srv.stderr_text() and "q=hello" in srv.stderr_text(), 10,
             "one structured line per connection at close")


def test_hit_limits_are_counted_in_metrics(tailcast, workdir: Path):
    from conftest import run, ws_error_then_close

    log = workdir / "app.log"
    append_lines(log, ["x"])
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}])
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 100_000}\r\n\r\n".encode())
    s.recv(100)
    s.close()
    run(ws_error_then_close(srv, "n=-1"))
    m = srv.metrics()
    assert m.value("tailcast_handshakes_rejected_total") >= 1
    assert m.value("tailcast_queries_rejected_total") >= 1
