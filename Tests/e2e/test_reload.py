"""SIGHUP reloads the config: added sources start, removed ones end with an event, and open
connections to unchanged sources are untouched; a bad config is refused with its line."""

from __future__ import annotations

import signal
from pathlib import Path

from conftest import append_lines, render_config, run, wait_for, ws_open


def _write(srv, sources):
    Path(srv.config_path).write_text(render_config(f"127.0.0.1:{srv.port}", None, None, sources))


def test_sighup_adds_and_removes_sources(tailcast, workdir: Path):
    logs = {n: workdir / f"{n}.log" for n in "abc"}
    for n, p in logs.items():
        append_lines(p, [f"{n} first"])
    src = lambda n: {"name": n, "kind": "file", "path": str(logs[n])}
    srv = tailcast(sources=[src("a"), src("b")])

    async def scenario():
        ca = await ws_open(srv, "source=a")
        cb = await ws_open(srv, "source=b")
        epoch_b = cb.of_type("hello")[0]["epochs"]["b"]
        _write(srv, [src("b"), src("c")])
        srv.signal(signal.SIGHUP)
        wait_for(lambda: sorted(srv.sources()) == ["b", "c"], 10, "sources after the reload")
        await ca.until(lambda c: "missing" in c.events("a"), 10, "removed source ends with an event")
        append_lines(logs["b"], ["b after reload"])
        await cb.until(lambda c: "b after reload" in c.texts(), 10, "unchanged source keeps delivering")
        assert not cb.of_type("dropped") and cb.close_code is None
        cc = await ws_open(srv, "source=c&n=5")
        await cc.until(lambda c: "c first" in c.texts(), 10, "added source delivers")
        # A bad config is refused and changes nothing.
        Path(srv.config_path).write_text("[[source]]\nname = \"x\"\nkind = \"bogus\"\n")
        srv.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in srv.stderr_text(), 10, "refusal logged")
        assert sorted(srv.sources()) == ["b", "c"]
        c2 = await ws_open(srv, "source=b")
        assert c2.of_type("hello")[0]["epochs"]["b"] == epoch_b
        for c in (ca, cb, cc, c2):
            await c.close()

    run(scenario())
