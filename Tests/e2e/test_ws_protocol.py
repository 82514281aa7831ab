"""The WebSocket protocol of protocol.md, as a client sees it."""

from __future__ import annotations

import asyncio
import re
import signal
import threading
import time

import pytest

from conftest import (
    EPOCH_RE,
    RawWS,
    append_bytes,
    append_lines,
    assert_continuous,
    file_sources,
    run,
    ws_error_then_close,
    ws_open,
)

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _not_truncated(line: dict) -> bool:
    return line.get("truncated", False) is False


# --------------------------------------------------------------------------- grep oracle


def utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def _compile(p: str, F: bool, i: bool, w: bool, ascii_: bool) -> re.Pattern:
    if F:
        p = re.escape(p)
    if w:  # grep -P -w: (?<!\w)(?:p)(?!\w), \w being ASCII
        p = r"(?<![A-Za-z0-9_])(?:" + p + r")(?![A-Za-z0-9_])"
    flags = (re.I if i else 0) | (re.ASCII if ascii_ else 0)
    return re.compile(p, flags)


def grep(texts, q=(), not_=(), F=False, i=False, v=False, w=False, ascii_=False):
    """What grep -P would keep, with the UTF-16 `matches` protocol.md describes.

    Returns [(index, text, matches-or-None)]; matches None means "absent" (v).
    """
    qs = [_compile(p, F, i, w, ascii_) for p in q]
    ns = [_compile(p, F, i, w, ascii_) for p in not_]
    out = []
    for idx, text in enumerate(texts):
        matched = all(r.search(text) for r in qs)
        keep = (not matched) if v else matched
        if keep and any(r.search(text) for r in ns):
            keep = False
        if not keep:
            continue
        if v:
            out.append((idx, text, None))
            continue
        spans = sorted((m.start(), m.end()) for r in qs for m in r.finditer(text) if m.end() > m.start())
        merged: list[list[int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        out.append((idx, text, [[utf16(text, s), utf16(text, e)] for s, e in merged]))
    return out


def check_against(lines: list[dict], expected, first_seq: int = 1) -> None:
    got = [(l["seq"], l["text"]) for l in lines]
    want = [(idx + first_seq, text) for idx, text, _ in expected]
    assert got == want
    for line, (_, _, matches) in zip(lines, expected):
        if matches is None:
            assert "matches" not in line, f"`matches` must be absent here: {line}"
        elif matches:
            assert line.get("matches") == matches, line
        else:
            assert line.get("matches", []) == [], line


CORPUS = [
    "INFO service started",
    "ERROR disk full on /dev/sda1",
    "error: connection refused",
    "warning: Error budget low",
    "debug error trace id=7",
    "the terror of errors",
    "err.r literal dot",
    "errxr not a literal dot",
    "err short word",
    "errand is not err",
    "école fermée",
    "ÉCOLE OUVERTE",
    "un café noir",
    "😀 error after emoji",
    "é error after accent",
    "alpha beta gamma",
    "beta alone",
    "alpha alone",
    "foo boo",
    "abcd",
    "xabcx",
    "digits ٣٤ arabic",
    "digits 42 ascii",
    "tab\tseparated error",
    "mixed Error and error and ERROR",
    "nothing here",
]

# (id, query parameters, grep() keyword arguments)
FILTER_CASES = [
    ("q", [("q", "error")], dict(q=["error"])),
    ("q-i", [("q", "error"), ("i", "")], dict(q=["error"], i=True)),
    ("q-i-bare", "q=error&i", dict(q=["error"], i=True)),
    ("q-i-1", [("q", "error"), ("i", "1")], dict(q=["error"], i=True)),
    ("q-i-true", [("q", "error"), ("i", "true")], dict(q=["error"], i=True)),
    ("q-i-0", [("q", "error"), ("i", "0")], dict(q=["error"])),
    ("q-i-false", [("q", "error"), ("i", "false")], dict(q=["error"])),
    ("regex", [("q", "err.r")], dict(q=["err.r"])),
    ("F", [("q", "err.r"), ("F", "")], dict(q=["err.r"], F=True)),
    ("w", [("q", "err"), ("w", "")], dict(q=["err"], w=True)),
    ("v", [("q", "error"), ("v", "")], dict(q=["error"], v=True)),
    ("not", [("q", "error"), ("not", "debug")], dict(q=["error"], not_=["debug"])),
    ("not-i", [("q", "error"), ("i", ""), ("not", "DEBUG")], dict(q=["error"], i=True, not_=["DEBUG"])),
    ("only-not", [("not", "error"), ("not", "INFO")], dict(not_=["error", "INFO"])),
    ("v-not", [("q", "error"), ("v", ""), ("not", "alone")], dict(q=["error"], v=True, not_=["alone"])),
    ("two-q", [("q", "alpha"), ("q", "beta")], dict(q=["alpha", "beta"])),
    ("two-q-v", [("q", "alpha"), ("q", "beta"), ("v", "")], dict(q=["alpha", "beta"], v=True)),
    ("unicode-i", [("q", "ÉCOLE"), ("i", "")], dict(q=["ÉCOLE"], i=True)),
    ("w-ascii-boundary", [("q", "caf"), ("w", "")], dict(q=["caf"], w=True)),
    ("ascii-digit", [("q", r"\d+")], dict(q=[r"\d+"], ascii_=True)),
    ("F-i-w", [("q", "ERROR"), ("F", "1"), ("i", "1"), ("w", "1")], dict(q=["ERROR"], F=True, i=True, w=True)),
    ("overlap-merge", [("q", "ab"), ("q", "bc")], dict(q=["ab", "bc"])),
    ("touch-merge", [("q", "ab"), ("q", "cd")], dict(q=["ab", "cd"])),
    ("many-matches", [("q", "o")], dict(q=["o"])),
    ("empty-matches", [("q", "x*")], dict(q=["x*"])),
    ("tab", [("q", r"b\ts")], dict(q=[r"b\ts"])),
]


@pytest.fixture(scope="module")
def corpus_server(module_tailcast):
    path = module_tailcast.workdir / "corpus.log"
    append_lines(path, CORPUS)
    other = module_tailcast.workdir / "other.log"
    append_lines(other, ["error in the other source"])
    return module_tailcast(sources=file_sources({"corpus": path, "other": other}))


@pytest.mark.parametrize("params,kw", [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES])
def test_filters_like_grep(corpus_server, params, kw):
    expected = grep(CORPUS, **kw)
    assert expected, "test case must select something"

    async def go():
        q = params if isinstance(params, str) else list(params)
        q = ("source=corpus&n=1000&" + q) if isinstance(q, str) else [("source", "corpus"), ("n", "1000"), *q]
        c = await ws_open(corpus_server, q)
        await c.lines_until(len(expected), 10)
        extra = await c.quiet(0.3)
        await c.close()
        assert not [m for m in extra if m["type"] == "lines"], f"extra lines: {extra}"
        check_against(c.lines, expected)

    run(go())


def test_matches_are_utf16_offsets(corpus_server):
    async def go():
        c = await ws_open(corpus_server, "source=corpus&n=1000&q=error")
        await c.until(lambda c: any(l["text"].startswith("é ") for l in c.lines), 10, "the accent line")
        await c.close()
        by_text = {l["text"]: l for l in c.lines}
        # U+1F600 is two UTF-16 code units: "😀 " is 3 units, so "error" is [3,8)
        assert by_text["😀 error after emoji"]["matches"] == [[3, 8]]
        # "é" is 2 bytes in UTF-8 but one UTF-16 unit
        assert by_text["é error after accent"]["matches"] == [[2, 7]]
        assert by_text["the terror of errors"]["matches"] == [[5, 10], [14, 19]]

    run(go())


def test_n_replays_last_matching_lines(corpus_server):
    async def go():
        c = await ws_open(corpus_server, "source=corpus&q=error&i&n=2")
        await c.lines_until(2)
        extra = await c.quiet(0.3)
        await c.close()
        assert not [m for m in extra if m["type"] == "lines"]
        want = grep(CORPUS, q=["error"], i=True)[-2:]
        check_against(c.lines, want)
        assert not c.of_type("dropped")

    run(go())


# --------------------------------------------------------------------------- hello and selection


def test_hello_fields(tailcast, workdir):
    a, b = workdir / "a.log", workdir / "b.log"
    a.write_text("")
    b.write_text("")
    srv = tailcast(sources=file_sources({"a": a, "b": b}), server={"heartbeat_ms": 4321})

    async def go():
        c = await ws_open(srv, "source=a&q=foo")
        h = c.hello
        assert h["protocol"] == 2
        assert h["server"] == "tailcast/0.1.0"
        assert h["sources"] == ["a"]
        assert set(h["epochs"]) == {"a"}
        assert EPOCH_RE.match(h["epochs"]["a"]), h["epochs"]
        assert h["heartbeat_ms"] == 4321
        assert isinstance(h["query"], dict)
        assert _as_list(h["query"].get("q")) == ["foo"]
        assert _as_list(h["query"].get("source")) == ["a"]
        await c.close()

        c = await ws_open(srv)
        assert sorted(c.hello["sources"]) == ["a", "b"]
        assert set(c.hello["epochs"]) == {"a", "b"}
        assert all(EPOCH_RE.match(e) for e in c.hello["epochs"].values())
        await c.close()

    run(go())


def test_source_selection(tailcast, workdir):
    paths = {n: workdir / f"{n}.log" for n in ("a", "b", "c")}
    for p in paths.values():
        p.write_text("")
    srv = tailcast(sources=file_sources(paths))

    async def go():
        comma = await ws_open(srv, "source=a,b")
        repeat = await ws_open(srv, "source=a&source=b")
        only_c = await ws_open(srv, "source=c")
        assert sorted(comma.hello["sources"]) == ["a", "b"]
        assert sorted(repeat.hello["sources"]) == ["a", "b"]
        assert only_c.hello["sources"] == ["c"]
        for n in ("a", "b", "c"):
            append_lines(paths[n], [f"{n}-1", f"{n}-2"])
        for c in (comma, repeat):
            await c.lines_until(4)
            assert sorted(c.texts()) == ["a-1", "a-2", "b-1", "b-2"]
            assert c.texts("a") == ["a-1", "a-2"] and c.texts("b") == ["b-1", "b-2"]
        await only_c.lines_until(2)
        assert only_c.texts() == ["c-1", "c-2"]
        extra = await comma.quiet(0.3)
        assert not [m for m in extra if m["type"] == "lines"]
        for c in (comma, repeat, only_c):
            await c.close()

    run(go())


# --------------------------------------------------------------------------- lines


def test_lines_in_order_with_continuous_seq(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, [f"old {i}" for i in range(5)])
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv)
        written = []
        for chunk in range(6):
            batch = [f"line {chunk}-{i} " + "x" * (i % 50) for i in range(50)]
            append_lines(log, batch)
            written += batch
        await c.lines_until(300, 15)
        extra = await c.quiet(0.3)
        await c.close()
        assert not [m for m in extra if m["type"] == "lines"]
        assert c.texts() == written
        assert_continuous(c.seqs(), first=6)
        for l in c.lines:
            assert l["source"] == "app"
            assert TS_RE.match(l["ts"]), l["ts"]
            assert _not_truncated(l) and "context" not in l

    run(go())


def test_n_replays_lines_loaded_at_start(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, [f"pre {i}" for i in range(1, 51)])
    srv = tailcast(sources=file_sources({"app": log}), defaults={"initial_lines": 20})
    assert srv.sources()["app"]["seq"] == 20

    async def go():
        c = await ws_open(srv, "n=5")
        await c.lines_until(5)
        assert c.texts() == [f"pre {i}" for i in range(46, 51)]
        assert c.seqs() == [16, 17, 18, 19, 20]
        append_lines(log, ["fresh"])
        await c.lines_until(6)
        assert c.lines[5]["text"] == "fresh" and c.lines[5]["seq"] == 21
        await c.close()

        # n larger than what is held replays all of it and reports no loss
        c = await ws_open(srv, "n=1000")
        await c.lines_until(21)
        extra = await c.quiet(0.3)
        await c.close()
        assert c.texts() == [f"pre {i}" for i in range(31, 51)] + ["fresh"]
        assert_continuous(c.seqs(), first=1)
        assert not c.of_type("dropped") and not [m for m in extra if m["type"] in ("lines", "dropped")]

    run(go())


def test_partial_line_held_until_newline(tailcast, workdir):
    log = workdir / "app.log"
    append_bytes(log, b"a\nb\npar")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv, "n=10")
        await c.lines_until(2)
        assert c.texts() == ["a", "b"]
        append_bytes(log, b"ti")
        extra = await c.quiet(0.6)
        assert not [m for m in extra if m["type"] == "lines"], f"a partial line was sent: {extra}"
        append_bytes(log, b"al\nnext")
        await c.lines_until(3)
        extra = await c.quiet(0.4)
        assert not [m for m in extra if m["type"] == "lines"], f"a partial line was sent: {extra}"
        assert c.texts() == ["a", "b", "partial"] and c.seqs() == [1, 2, 3]
        append_bytes(log, b"\n")
        await c.lines_until(4)
        assert c.lines[3]["text"] == "next" and c.lines[3]["seq"] == 4
        await c.close()

    run(go())


def test_crlf_stripped(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv)
        append_bytes(log, b"hello\r\nworld\r\n\r\nend\n")
        await c.lines_until(4)
        await c.close()
        assert c.texts() == ["hello", "world", "", "end"]

    run(go())


def test_special_characters_survive_json(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    texts = ['say "hi"', "back\\slash \\n not a newline", "tab\there", "ansi \x1b[31mred\x1b[0m",
             "nul \x00 byte", "bell \x07 del \x7f", "seps \u2028 \u2029", "</script><b>", "\u00e9\u4e2d\U0001F600",
             " leading and trailing  ", "{\"json\": [1, 2]}"]

    async def go():
        c = await ws_open(srv)
        append_lines(log, texts)
        await c.lines_until(len(texts))
        await c.close()
        assert c.texts() == texts

    run(go())


def test_long_lines_cut_on_utf8_boundary(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), defaults={"max_line_bytes": 1024})
    cases = [
        # (written line, expected text, truncated)
        ("a" * 1023 + "é" + "b" * 2000, "a" * 1023, True),   # é would straddle byte 1024
        ("b" * 1024, "b" * 1024, False),                      # exactly the bound: kept whole
        ("c" * 1022 + "😀" + "d" * 10, "c" * 1022, True),     # a 4-byte character at the cut
        ("short", "short", False),
        ("€" * 400, "€" * 341, True),                          # 341*3 = 1023 bytes
        ("z" * 200_000, "z" * 1024, True),                     # far longer than any read
        ("after", "after", False),
    ]

    async def go():
        c = await ws_open(srv)
        append_lines(log, [w for w, _, _ in cases])
        await c.lines_until(len(cases), 15)
        await c.close()
        assert_continuous(c.seqs(), first=1)
        assert len(c.lines) == len(cases), "the cut-off rest of a line must not become a line"
        for line, (_, text, truncated) in zip(c.lines, cases):
            assert line["text"] == text, (len(line["text"]), len(text))
            assert len(line["text"].encode()) <= 1024
            if truncated:
                assert line.get("truncated") is True
            else:
                assert _not_truncated(line)

    run(go())


def test_invalid_utf8_replaced(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), defaults={"max_line_bytes": 1024})

    async def go():
        c = await ws_open(srv)
        append_bytes(log, b"ok \xff bad\n\xc3\x28x\n\xfe\xff\nfine\n" + b"\xff" * 1000 + b"\n")
        await c.lines_until(5)
        await c.close()
        assert c.texts()[:4] == ["ok \ufffd bad", "\ufffd(x", "\ufffd\ufffd", "fine"]
        assert_continuous(c.seqs(), first=1)
        # the bound counts bytes after replacement: 341 * 3 = 1023 <= 1024
        assert c.lines[4]["text"] == "\ufffd" * 341
        assert c.lines[4].get("truncated") is True

    run(go())


def test_live_filter(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    texts = CORPUS + ["ERROR sentinel"]
    expected = grep(texts, q=["error"], i=True, not_=["debug"])

    async def go():
        c = await ws_open(srv, "q=error&i&not=debug")
        append_lines(log, texts)
        await c.until(lambda c: any(l["text"] == "ERROR sentinel" for l in c.lines), 10, "sentinel")
        await c.close()
        check_against(c.lines, expected)

    run(go())


# --------------------------------------------------------------------------- context


def grep_context(texts, pattern, A, B):
    hits = {i for i, t in enumerate(texts) if re.search(pattern, t)}
    keep = set()
    for i in hits:
        keep.update(j for j in range(i - B, i + A + 1) if 0 <= j < len(texts))
    return [(j + 1, texts[j], j not in hits) for j in sorted(keep)]


@pytest.mark.parametrize("query,A,B", [("A=1&B=2", 1, 2), ("C=1", 1, 1), ("A=3", 3, 0), ("B=3", 0, 3)])
def test_context_lines(tailcast, workdir, query, A, B):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    texts = [f"other {i}" for i in range(1, 31)]
    for i in (5, 7, 15, 29):
        texts[i - 1] = f"match {i}"
    texts += ["between 1", "between 2", "between 3", "between 4", "match END"]
    expected = grep_context(texts, "match", A, B)

    async def go():
        c = await ws_open(srv, f"q=match&{query}")
        append_lines(log, texts)
        await c.until(lambda c: any(l["text"] == "match END" for l in c.lines), 10, "last match")
        await c.close()
        got = [(l["seq"], l["text"], l.get("context", False)) for l in c.lines]
        assert got == expected
        for l in c.lines:
            if l.get("context"):
                assert "matches" not in l
            else:
                assert l["matches"] == [[0, 5]]

    run(go())


# --------------------------------------------------------------------------- rejected queries


def test_bad_regex_rejected_while_others_keep_receiving(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        other = await ws_open(srv)
        err, code, msgs = await ws_error_then_close(srv, "q=(")
        assert err == {**err, "type": "error", "code": "bad_query", "param": "q"}
        assert isinstance(err.get("message"), str) and err["message"]
        assert msgs[0] is err, "no hello before the error"
        assert code == 1008
        append_lines(log, ["still here"])
        await other.lines_until(1)
        assert other.texts() == ["still here"]
        await other.close()

    run(go())


REJECTED = [
    ("unknown-source", "source=nope", "source", None),
    ("unknown-param", "bogus=1", "bogus", None),
    ("upper-case-flag", "q=x&I", "I", None),
    ("bad-flag-value", "q=x&i=yes", "i", None),
    ("flag-value-case", "q=x&i=TRUE", "i", None),
    ("n-too-big", "n=1000001", "n", "bad_query"),
    ("n-negative", "n=-1", "n", "bad_query"),
    ("n-not-a-number", "n=ten", "n", "bad_query"),
    ("A-too-big", "q=x&A=1001", "A", "bad_query"),
    ("B-too-big", "q=x&B=1001", "B", "bad_query"),
    ("C-too-big", "q=x&C=1001", "C", "bad_query"),
    ("bad-not-pattern", "not=[", "not", "bad_query"),
    ("17-patterns", "&".join(["q=a"] * 9 + ["not=b"] * 8), None, "bad_query"),
    ("pattern-4097-bytes", "q=" + "a" * 4097, "q", "bad_query"),
    ("journal-param-on-file-source", "source=app&unit=foo.service", "unit", None),
    ("since-unknown-source", "since=nope:5", "since", None),
    ("since-bad-seq", "since=app:five", "since", "bad_query"),
]


@pytest.fixture(scope="module")
def plain_server(module_tailcast):
    log = module_tailcast.workdir / "plain.log"
    append_lines(log, [f"plain {i}" for i in range(1, 11)])
    return module_tailcast(sources=file_sources({"app": log}))


@pytest.mark.parametrize("query,param,code", [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_rejected_query(plain_server, query, param, code):
    async def go():
        err, close_code, msgs = await ws_error_then_close(plain_server, query)
        assert err["type"] == "error"
        assert isinstance(err.get("code"), str) and err["code"]
        if code:
            assert err["code"] == code, err
        if param:
            assert err.get("param") == param, err
        assert not [m for m in msgs if m["type"] == "hello"], "no hello for a rejected query"
        assert close_code == 1008

    run(go())


ACCEPTED = [
    ("n-max", "n=1000000"),
    ("A-max", "q=x&A=1000"),
    ("C-zero", "q=x&C=0"),
    ("16-patterns", "&".join(["q=a"] * 8 + ["not=b"] * 8)),
    ("pattern-4096-bytes", "q=" + "a" * 4096),
    ("empty-flag-off", "i=false&v=0"),
]


@pytest.mark.parametrize("query", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_boundary_values_accepted(plain_server, query):
    async def go():
        c = await ws_open(plain_server, query)  # asserts that hello comes first
        assert c.hello["protocol"] == 2
        await c.close()

    run(go())


# --------------------------------------------------------------------------- client messages


def _padded_query(total: int) -> str:
    head = '{"type":"query","q":"x"'
    msg = head + " " * (total - len(head) - 1) + "}"
    assert len(msg.encode()) == total
    return msg


def test_client_message_of_65536_bytes_accepted(plain_server):
    async def go():
        ok = await ws_open(plain_server)
        await ok.send(_padded_query(65536))
        hello = await ok.next_of_type("hello", start=1)
        assert _as_list(hello["query"].get("q")) == ["x"]
        # fragments are put together: 3 fragments, 65 536 bytes in all
        msg = _padded_query(65536).replace('"q":"x"', '"q":"y"')
        n = len(ok.msgs)
        await ok.ws.send([msg[:30000], msg[30000:60000], msg[60000:]])
        hello = await ok.next_of_type("hello", start=n)
        assert _as_list(hello["query"].get("q")) == ["y"]
        assert ok.close_code is None
        await ok.close()

    run(go())


def test_client_message_over_65536_bytes_closes_1009(plain_server):
    async def go():
        big = await ws_open(plain_server)
        await big.send(_padded_query(65537))
        assert await big.wait_closed() == 1009

    run(go())


def test_fragmented_client_message_over_65536_bytes_closes_1009(plain_server):
    async def go():
        frag = await ws_open(plain_server)
        await frag.ws.send(["a" * 7000] * 10)  # 10 fragments of one 70 000-byte message
        assert await frag.wait_closed() == 1009

    run(go())


def test_malformed_message_keeps_connection_open(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv)
        for bad in ("not json{", "[1,2]", '{"type":"no-such-type"}', '{"no":"type"}'):
            n = len(c.msgs)
            await c.send(bad)
            err = await c.next_of_type("error", start=n)
            assert err["code"] == "bad_message", (bad, err)
        append_lines(log, ["alive"])
        await c.lines_until(1)
        assert c.texts() == ["alive"] and c.close_code is None
        await c.close()

    run(go())


BAD_QUERY_MESSAGES = [
    ("bad-regex", {"q": "("}, "q", "bad_query"),
    ("n-as-string", {"q": "x", "n": "5"}, "n", "bad_query"),
    ("A-too-big", {"q": "x", "A": 1001}, "A", "bad_query"),
    ("bad-flag", {"q": "x", "i": "yes"}, "i", None),
    ("unknown-source", {"q": "x", "source": "nope"}, "source", None),
    ("unknown-field", {"q": "x", "bogus": 1}, "bogus", None),
]


@pytest.mark.parametrize("fields,param,code", [b[1:] for b in BAD_QUERY_MESSAGES],
                         ids=[b[0] for b in BAD_QUERY_MESSAGES])
def test_rejected_query_message_keeps_old_query(tailcast, workdir, fields, param, code):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv, "q=x")
        await c.send({"type": "query", **fields})
        err = await c.next_of_type("error")
        assert err.get("param") == param, err
        if code:
            assert err["code"] == code, err
        append_lines(log, ["y1", "x1", "y2", "x2"])
        await c.until(lambda c: "x2" in c.texts(), 10, "x2")
        extra = await c.quiet(0.2)
        assert c.texts() == ["x1", "x2"] and c.seqs() == [2, 4]
        assert not c.of_type("hello")[1:], "a rejected query must not produce a hello"
        assert c.close_code is None and not [m for m in extra if m["type"] == "lines"]
        await c.close()

    run(go())


def test_query_message_replaces_query(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv)
        n = len(c.msgs)
        await c.send({"type": "query", "q": "x"})
        hello = await c.next_of_type("hello", start=n)
        assert _as_list(hello["query"].get("q")) == ["x"]
        append_lines(log, ["x1", "y1", "x2"])
        await c.until(lambda c: "x2" in c.texts(), 10, "x2")
        assert c.texts() == ["x1", "x2"] and c.seqs() == [1, 3]
        append_lines(log, ["y2", "x3"])
        await c.until(lambda c: "x3" in c.texts(), 10, "x3")
        assert c.texts() == ["x1", "x2", "x3"]

        # arrays and flags; n replays under the new query
        n = len(c.msgs)
        nl = len(c.lines)
        await c.send({"type": "query", "q": ["Y", "2"], "i": True, "n": 10})
        hello = await c.next_of_type("hello", start=n)
        assert sorted(_as_list(hello["query"].get("q"))) == ["2", "Y"]
        await c.until(lambda c: len(c.lines) >= nl + 1, 10, "replay")
        extra = await c.quiet(0.3)
        assert not [m for m in extra if m["type"] == "lines"]
        assert [(l["seq"], l["text"]) for l in c.lines[nl:]] == [(4, "y2")]
        await c.close()

    run(go())


# --------------------------------------------------------------------------- pause / resume


def test_pause_and_resume(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv)
        await c.send({"type": "pause"})
        await c.sync()
        append_lines(log, [f"p{i}" for i in range(5)])
        srv.wait_seq("app", 5)
        extra = await c.quiet(0.5)
        assert not [m for m in extra if m["type"] == "lines"], "lines arrived while paused"
        await c.send({"type": "resume"})
        await c.lines_until(5)
        assert c.texts() == [f"p{i}" for i in range(5)]
        assert_continuous(c.seqs(), first=1)
        assert not c.of_type("dropped")
        append_lines(log, ["after"])
        await c.lines_until(6)
        assert c.lines[5]["seq"] == 6
        await c.close()

    run(go())


def test_pause_overflow_reports_paused_drop(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), defaults={"ring_lines": 100})

    async def go():
        c = await ws_open(srv)
        await c.send({"type": "pause"})
        await c.sync()
        append_lines(log, [f"p{i}" for i in range(1, 301)])
        srv.wait_seq("app", 300)
        await c.send({"type": "resume"})
        await c.until(lambda c: c.lines and c.lines[-1]["seq"] == 300, 10, "seq 300")
        await c.close()
        drops = c.of_type("dropped")
        assert len(drops) == 1, drops
        d = drops[0]
        assert d["source"] == "app" and d["reason"] == "paused"
        assert d["from_seq"] == 1
        assert d["count"] == d["to_seq"] - d["from_seq"] + 1
        assert c.lines[0]["seq"] == d["to_seq"] + 1
        assert 200 <= d["to_seq"] < 300
        assert c.msgs.index(d) < next(i for i, m in enumerate(c.msgs) if m["type"] == "lines")
        assert_continuous(c.seqs())
        assert c.texts() == [f"p{s}" for s in c.seqs()]

    run(go())


def test_query_while_paused_replays_on_resume(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, ["k1", "z", "k2", "k3"])
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv)
        await c.send({"type": "pause"})
        n = len(c.msgs)
        await c.send({"type": "query", "q": "k", "n": 2})
        await c.next_of_type("hello", start=n)
        extra = await c.quiet(0.5)
        assert not [m for m in extra if m["type"] == "lines"], "a query must not lift pause"
        await c.send({"type": "resume"})
        await c.lines_until(2)
        assert c.texts() == ["k2", "k3"] and c.seqs() == [3, 4]
        await c.close()

    run(go())


# --------------------------------------------------------------------------- since and epochs


def test_since_resumes_without_gap_or_duplicate(tailcast, workdir):
    a, b = workdir / "a.log", workdir / "b.log"
    a.write_text("")
    append_lines(b, ["b1", "b2", "b3"])
    srv = tailcast(sources=file_sources({"a": a, "b": b}))

    async def go():
        c = await ws_open(srv, "source=a")
        epoch = c.hello["epochs"]["a"]
        append_lines(a, [f"a{i}" for i in range(1, 11)])
        await c.lines_until(10)
        await c.close()
        # the client saw up to seq 6 (pretend), then went away while more was written
        append_lines(a, [f"a{i}" for i in range(11, 21)])
        srv.wait_seq("a", 20)

        for since in ("a:6", f"a:6:{epoch}"):
            r = await ws_open(srv, f"source=a&since={since}")
            assert r.hello["epochs"]["a"] == epoch
            await r.lines_until(14)
            extra = await r.quiet(0.3)
            await r.close()
            assert not [m for m in extra if m["type"] == "lines"]
            assert r.seqs() == list(range(7, 21))
            assert r.texts() == [f"a{i}" for i in range(7, 21)]
            assert not r.of_type("dropped")

        # a source not named in since starts with n
        r = await ws_open(srv, "since=a:18&n=2")
        await r.until(lambda r: len(r.texts("a")) >= 2 and len(r.texts("b")) >= 2, 10, "a and b")
        append_lines(a, ["a21"])
        await r.until(lambda r: "a21" in r.texts("a"), 10, "a21")
        await r.close()
        assert r.texts("a") == ["a19", "a20", "a21"] and r.seqs("a") == [19, 20, 21]
        assert r.texts("b") == ["b2", "b3"]

    run(go())


def test_since_evicted(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), defaults={"ring_lines": 100})
    append_lines(log, [f"e{i}" for i in range(1, 301)])
    srv.wait_seq("app", 300)

    async def go():
        c = await ws_open(srv, "since=app:5")
        await c.until(lambda c: c.lines and c.lines[-1]["seq"] == 300, 10, "seq 300")
        await c.close()
        drops = c.of_type("dropped")
        assert len(drops) == 1, drops
        d = drops[0]
        assert d["reason"] == "evicted" and d["source"] == "app"
        assert d["from_seq"] == 6
        assert d["count"] == d["to_seq"] - 5
        assert 200 <= d["to_seq"] < 300
        assert c.lines[0]["seq"] == d["to_seq"] + 1
        assert_continuous(c.seqs())

    run(go())


def test_since_with_ended_epoch(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, ["r1", "r2", "r3"])
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        c = await ws_open(srv, "since=app:2:OLDepoch-1")
        assert c.hello["epochs"]["app"] != "OLDepoch-1"
        await c.lines_until(3)
        await c.close()
        d = c.of_type("dropped")
        assert d == [{"type": "dropped", "source": "app", "reason": "restarted", "epoch": "OLDepoch-1",
                      "from_seq": 3, "to_seq": None, "count": None}]
        assert c.msgs.index(d[0]) < next(i for i, m in enumerate(c.msgs) if m["type"] == "lines")
        assert c.texts() == ["r1", "r2", "r3"] and c.seqs() == [1, 2, 3]

    run(go())


def test_epoch_changes_on_restart(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, ["s1", "s2"])
    srv = tailcast(sources=file_sources({"app": log}))

    async def first():
        c = await ws_open(srv)
        await c.close()
        return c.hello["epochs"]["app"]

    old = run(first())
    assert srv.stop() == 0
    srv.start()

    async def second():
        c = await ws_open(srv, f"since=app:2:{old}")
        new = c.hello["epochs"]["app"]
        assert new != old and EPOCH_RE.match(new)
        d = await c.next_of_type("dropped")
        await c.lines_until(2)
        await c.close()
        assert d["reason"] == "restarted" and d["epoch"] == old and d["from_seq"] == 3
        assert d["to_seq"] is None and d["count"] is None
        assert c.texts() == ["s1", "s2"] and c.seqs() == [1, 2]

    run(second())


# --------------------------------------------------------------------------- liveness


def test_heartbeat_when_idle(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), server={"heartbeat_ms": 300})

    async def go():
        c = await ws_open(srv)
        assert c.hello["heartbeat_ms"] == 300
        t0 = time.monotonic()
        await c.until(lambda c: len(c.of_type("heartbeat")) >= 3, 5, "3 heartbeats")
        elapsed = time.monotonic() - t0
        await c.close()
        for hb in c.of_type("heartbeat"):
            assert TS_RE.match(hb["ts"]), hb
        assert elapsed >= 0.6, f"3 heartbeats in {elapsed:.2f}s: sent more often than heartbeat_ms"

    run(go())


def test_peer_not_answering_pings_is_closed(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), server={"heartbeat_ms": 300})

    async def go():
        good = await ws_open(srv)  # the websockets client answers pings
        raw = RawWS(srv.port, "/ws", answer_pings=False)
        t0 = time.monotonic()
        while not raw.closed and time.monotonic() - t0 < 6:
            try:
                await asyncio.to_thread(raw.recv, 0.5)
            except TimeoutError:
                pass
        raw.close()
        assert raw.closed, "a peer that answers no ping must be closed (2 intervals = 0.6 s)"
        # the peer that answers stays open and keeps getting heartbeats
        n = len(good.of_type("heartbeat"))
        await good.until(lambda c: len(c.of_type("heartbeat")) >= n + 2, 5, "more heartbeats")
        assert good.close_code is None
        await good.close()

    run(go())


def test_sigterm_closes_with_1001_and_exits_0(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))

    async def go():
        clients = [await ws_open(srv), await ws_open(srv, "q=x")]
        srv.signal(signal.SIGTERM)
        codes = [await c.wait_closed(10) for c in clients]
        assert codes == [1001, 1001]

    run(go())
    assert srv.wait_exit(10) == 0


# --------------------------------------------------------------------------- more selection, framing


def test_n_and_since_per_source(tailcast, workdir):
    a, b = workdir / "a.log", workdir / "b.log"
    append_lines(a, [f"a{i}" for i in range(1, 6)])
    append_lines(b, [f"b{i}" for i in range(1, 6)])
    srv = tailcast(sources=file_sources({"a": a, "b": b}))

    async def go():
        c = await ws_open(srv, "n=2")
        await c.until(lambda c: len(c.lines) >= 4, 10, "2 lines of each source")
        assert c.texts("a") == ["a4", "a5"] and c.texts("b") == ["b4", "b5"]
        await c.close()

        c = await ws_open(srv, "since=a:3,b:1")
        await c.until(lambda c: len(c.lines) >= 6, 10, "the rest of a and b")
        extra = await c.quiet(0.3)
        await c.close()
        assert not [m for m in extra if m["type"] == "lines"]
        assert c.seqs("a") == [4, 5] and c.seqs("b") == [2, 3, 4, 5]
        assert not c.of_type("dropped")

    run(go())


def test_lines_frames_are_packed_and_bounded(tailcast, workdir):
    log = workdir / "app.log"
    append_lines(log, [f"replayed line {i:05d} " + "r" * 40 for i in range(1, 2001)])
    srv = tailcast(sources=file_sources({"app": log}), server={"max_frame_bytes": 4096})

    async def go():
        c = await ws_open(srv, "n=1000")
        await c.lines_until(1000)
        assert_continuous(c.seqs(), first=1)
        assert c.texts()[-1].startswith("replayed line 02000 ")
        replay_frames = [n for t, n in c.frame_sizes if t == "lines"]
        live = [f"live line {i:05d} " + "l" * 40 for i in range(3000)]
        append_lines(log, live)
        await c.lines_until(4000, 15)
        await c.close()
        assert c.texts()[1000:] == live
        assert_continuous(c.seqs(), first=1)
        sizes = [n for t, n in c.frame_sizes if t == "lines"]
        assert max(sizes) <= 4096, f"a lines frame of {max(sizes)} bytes exceeds max_frame_bytes"
        assert len(replay_frames) <= 100, f"1000 replayed lines came in {len(replay_frames)} frames: not packed"

    run(go())


def test_no_heartbeat_while_lines_flow(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}), server={"heartbeat_ms": 1000})

    async def go():
        c = await ws_open(srv)
        for i in range(25):  # a line every 0.1 s for 2.5 s
            append_lines(log, [f"tick {i}"])
            await c.quiet(0.1)
        await c.lines_until(25)
        assert not c.of_type("heartbeat"), "heartbeat sent although lines were flowing"
        await c.until(lambda c: c.of_type("heartbeat"), 5, "a heartbeat once idle")
        await c.close()

    run(go())


def test_no_gap_between_replay_and_live_while_writing(tailcast, workdir):
    """n=, since= and a query message, each while a writer is busy: the replayed lines and
    the live ones join with no gap and no duplicate."""
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            append_lines(log, [f"busy {j}" for j in range(i, i + 10)])
            i += 10
            time.sleep(0.005)  # pacing: about 2 000 lines/s

    th = threading.Thread(target=writer, daemon=True)
    th.start()

    async def go():
        srv.wait_seq("app", 200)
        for query in ("n=100", "since=app:50", None):
            if query is None:
                c = await ws_open(srv, "q=nothing-matches-this")
                await c.send({"type": "query", "n": 100})
                await c.next_of_type("hello", start=1)
            else:
                c = await ws_open(srv, query)
            start = len(c.lines)
            await c.until(lambda c: len(c.lines) >= start + 1500, 15, f"1500 lines ({query})")
            await c.close()
            seqs = c.seqs()
            assert_continuous(seqs)
            assert c.texts() == [f"busy {s - 1}" for s in seqs]
            if query == "since=app:50":
                assert seqs[0] == 51
            assert not c.of_type("dropped")

    try:
        run(go())
    finally:
        stop.set()
        th.join(5)


def test_many_sources(tailcast, workdir):
    paths = {f"s{i:02d}": workdir / f"s{i:02d}.log" for i in range(40)}
    for p in paths.values():
        p.write_text("")
    srv = tailcast(sources=file_sources(paths))

    async def go():
        c = await ws_open(srv)
        assert len(c.hello["sources"]) == 40
        for name, p in paths.items():
            append_lines(p, [f"{name} line {i}" for i in range(1, 101)])
        await c.lines_until(4000, 20)
        await c.close()
        for name in paths:
            assert c.texts(name) == [f"{name} line {i}" for i in range(1, 101)]
            assert c.seqs(name) == list(range(1, 101))

    run(go())
