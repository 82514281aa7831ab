"""The WebSocket layer as RFC 6455 and RFC 7692 say, from outside: frames a client gets wrong
are closed with the right code, fragments and control frames between them are handled, the
closing handshake is answered, and permessage-deflate is negotiated and works both ways."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time

import websockets

from conftest import RawWS, append_lines, file_sources, run


def _server(tailcast, workdir, **server):
    log = workdir / "app.log"
    append_lines(log, ["seed"])
    srv = tailcast(sources=file_sources({"app": log}), server=server or None)
    srv.wait_seq("app", 1)
    return srv, log


def _hello(raw: RawWS) -> dict:
    m = raw.recv(10)
    assert m and m["type"] == "hello", m
    return m


def _close_of(raw: RawWS, timeout: float = 10) -> tuple[int, bytes]:
    """Reads frames (answering nothing) until the server's close frame; its code and reason."""
    deadline = time.monotonic() + timeout
    while True:
        _, opcode, data = raw.read_frame(max(0.01, deadline - time.monotonic()))
        if opcode == 0x8:
            return struct.unpack("!H", data[:2])[0], data[2:]


def _frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False, mask: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    assert n < 126
    if not mask:
        return head + bytes([n]) + payload
    key = os.urandom(4)
    return head + bytes([0x80 | n]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def test_protocol_errors_get_their_close_codes(tailcast, workdir):
    srv, _ = _server(tailcast, workdir)
    cases = [
        ("unmasked frame", _frame(0x1, b'{"type":"pause"}', mask=False), 1002),
        ("reserved opcode", _frame(0x3, b"x"), 1002),
        ("continuation without a message", _frame(0x0, b"x"), 1002),
        ("RSV1 without permessage-deflate", _frame(0x1, b"x", rsv1=True), 1002),
        ("fragmented ping", _frame(0x9, b"x", fin=False), 1002),
        ("text that is not UTF-8", _frame(0x1, b"\xff\xfe{}"), 1007),
        ("a new message inside a fragmented one", _frame(0x1, b"{", fin=False) + _frame(0x1, b"}"), 1002),
    ]
    for what, data, code in cases:
        raw = RawWS(srv.port, "/ws")
        try:
            _hello(raw)
            raw.sock.sendall(data)
            got, _ = _close_of(raw)
            assert got == code, f"{what}: close {got}, want {code}"
        finally:
            raw.close()
    # Everyone else is still served.
    raw = RawWS(srv.port, "/ws")
    _hello(raw)
    raw.close()


def test_fragments_with_a_ping_between_make_one_message(tailcast, workdir):
    srv, log = _server(tailcast, workdir)
    raw = RawWS(srv.port, "/ws")
    try:
        _hello(raw)
        query = json.dumps({"type": "query", "q": ["needle"]}).encode()
        a, b, c = query[:5], query[5:20], query[20:]
        raw.send_frame(0x1, a, fin=False)
        raw.send_frame(0x9, b"are-you-there")
        raw.send_frame(0x0, b, fin=False)
        raw.send_frame(0x0, c, fin=True)
        fin, opcode, data = raw.read_frame(10)
        assert (opcode, data) == (0xA, b"are-you-there"), (opcode, data)
        m = raw.recv(10)
        assert m["type"] == "hello" and m["query"]["q"] == ["needle"], m
        append_lines(log, ["hay", "a needle here"])
        m = raw.recv(10)
        assert m["type"] == "lines" and [l["text"] for l in m["lines"]] == ["a needle here"], m
    finally:
        raw.close()


def test_closing_handshake_is_answered(tailcast, workdir):
    srv, _ = _server(tailcast, workdir)
    for payload, want in [(struct.pack("!H", 1000) + b"bye", 1000), (struct.pack("!H", 4001), 1000),
                          (b"", 1000), (struct.pack("!H", 1005), 1002), (struct.pack("!H", 999), 1002),
                          (struct.pack("!H", 1000) + b"\xff", 1002)]:
        raw = RawWS(srv.port, "/ws")
        try:
            _hello(raw)
            raw.send_frame(0x8, payload)
            got, _ = _close_of(raw)
            assert got == want, (payload, got)
            # ...and the server ends the TCP connection.
            raw.sock.settimeout(5)
            assert raw.sock.recv(100) == b""
        finally:
            raw.close()


def test_permessage_deflate_is_negotiated_and_works_both_ways(tailcast, workdir):
    srv, log = _server(tailcast, workdir)
    lines = [f"GET /api/items/{i} HTTP/1.1 200 1234 \"Mozilla/5.0 (X11; Linux x86_64)\"" for i in range(300)]

    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws?q=nothing-yet", compression="deflate",
                                      ping_interval=None) as ws:
            ext = ws.response.headers.get("Sec-WebSocket-Extensions", "")
            assert "permessage-deflate" in ext and "server_max_window_bits=12" in ext, ext
            assert json.loads(await ws.recv())["type"] == "hello"
            # A client message compressed by the client (websockets compresses every message).
            await ws.send(json.dumps({"type": "query", "q": ["api"], "not": ["z" * 3000]}))
            assert json.loads(await ws.recv())["type"] == "hello"
            append_lines(log, lines)
            got = []
            deadline = time.monotonic() + 10
            while len(got) < len(lines) and time.monotonic() < deadline:
                m = json.loads(await ws.recv())
                if m["type"] == "lines":
                    got += [l["text"] for l in m["lines"]]
            assert got == lines

    run(go())


def test_without_an_offer_or_with_compression_off_nothing_is_compressed(tailcast, workdir):
    srv, _ = _server(tailcast, workdir, compression=False)

    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws", compression="deflate", ping_interval=None) as ws:
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
            assert json.loads(await ws.recv())["type"] == "hello"

    run(go())

    srv2, _ = _server(tailcast, workdir)
    # An offer the server cannot honour (a 256-byte window) is declined, not half-accepted.
    sock = socket.create_connection(("127.0.0.1", srv2.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{srv2.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    sock.close()
    assert b" 101 " in head and b"sec-websocket-extensions" not in head.lower(), head
