"""HTTP endpoints and the command line, as a user or an orchestrator sees them."""

from __future__ import annotations

import json
import re
import socket
import subprocess

import pytest

from conftest import (
    append_lines,
    file_sources,
    find_free_port,
    http_get,
    render_config,
    run_bin,
    wait_for,
)


def _problem_lines(output: str, cfg) -> list[str]:
    return [l for l in output.splitlines() if l.startswith(f"{cfg}:")]


# --------------------------------------------------------------------------- health, readiness


def test_healthz_with_curl(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    res = subprocess.run(["curl", "-fsS", "--noproxy", "*", f"http://127.0.0.1:{srv.port}/healthz"],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"status": "ok"}


def test_readyz_ready_when_file_exists(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("one\n")
    srv = tailcast(sources=file_sources({"app": log}))
    status, body = srv.get_json("/readyz")
    assert status == 200
    assert body["status"] == "ready"
    assert body["sources"] == {"app": {"state": "following"}}


def test_readyz_degraded_when_directory_missing(tailcast, workdir):
    good = workdir / "good.log"
    good.write_text("")
    missing = workdir / "no-such-dir" / "app.log"
    srv = tailcast(sources=file_sources({"good": good, "app": missing}), wait_ready=False)
    # liveness is not readiness: /healthz stays 200
    assert srv.get("/healthz")[0] == 200
    # the good source gets to following; the missing one stays waiting
    def degraded_with_good_following():
        status, body = srv.get_json("/readyz")
        return (status, body) if body["sources"].get("good", {}).get("state") == "following" else None
    status, body = wait_for(degraded_with_good_following, 10, "source good to be following")
    assert status == 503
    assert body["status"] == "degraded"
    assert body["sources"]["app"]["state"] == "waiting"
    assert isinstance(body["sources"]["app"].get("error"), str) and body["sources"]["app"]["error"]
    assert "error" not in body["sources"]["good"]


def test_api_sources(tailcast, workdir):
    a = workdir / "a.log"
    a.write_text("l1\nl2\nl3\n")
    b = workdir / "b.log"
    b.write_text("")
    srv = tailcast(sources=file_sources({"a": a, "b": b}))
    status, headers, body = srv.get("/api/sources")
    assert status == 200
    assert "json" in headers.get("content-type", "")
    arr = json.loads(body)
    assert isinstance(arr, list) and len(arr) == 2
    by_name = {s["name"]: s for s in arr}
    assert set(by_name) == {"a", "b"}
    for name, path in (("a", a), ("b", b)):
        s = by_name[name]
        assert s["kind"] == "file"
        assert s["state"] == "following"
        assert s["path"] == str(path)
        assert isinstance(s["seq"], int)
    # the last line read: a was loaded with its 3 lines, b has none
    assert by_name["a"]["seq"] == 3
    assert by_name["b"]["seq"] == 0
    append_lines(a, ["l4", "l5"])
    srv.wait_seq("a", 5)
    assert srv.sources()["a"]["seq"] == 5


def test_root_serves_html(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    status, headers, body = srv.get("/")
    assert status == 200
    assert headers.get("content-type", "").startswith("text/html")
    assert re.search(rb"<html|<!doctype html", body, re.I)


def test_unknown_path_is_404(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    srv = tailcast(sources=file_sources({"app": log}))
    assert srv.get("/no/such/thing")[0] == 404


# --------------------------------------------------------------------------- command line


def test_version():
    res = run_bin(["--version"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "tailcast 0.1.0"


def test_check_config_ok(workdir):
    cfg = workdir / "ok.toml"
    cfg.write_text(render_config("127.0.0.1:9", {"heartbeat_ms": 1000}, {"ring_lines": 10},
                                 file_sources({"a": workdir / "a.log", "b": workdir / "b.log"})))
    res = run_bin(["check-config", str(cfg)])
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == f"{cfg}: ok (2 sources)"


def test_check_config_reports_each_bad_line(workdir):
    cfg = workdir / "bad.toml"
    cfg.write_text(
        "[server]\n"                          # 1
        'listen = "127.0.0.1:9"\n'            # 2
        'heartbeat_ms = "fast"\n'             # 3  wrong type
        "\n"                                  # 4
        "[[source]]\n"                        # 5
        'name = "app"\n'                      # 6
        'kind = "file"\n'                     # 7
        f'path = "{workdir}/a.log"\n'         # 8
        "ring_lines = -5\n"                   # 9  out of range
    )
    res = run_bin(["check-config", str(cfg)])
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    problems = _problem_lines(out, cfg)
    assert any(l.startswith(f"{cfg}:3:") and "heartbeat_ms" in l for l in problems), out
    assert any(l.startswith(f"{cfg}:9:") and "ring_lines" in l for l in problems), out
    assert len(problems) == 2, out


def test_check_config_bad_source_name(workdir):
    cfg = workdir / "badname.toml"
    cfg.write_text(
        "[[source]]\n"                        # 1
        'name = "has space"\n'                # 2
        'kind = "file"\n'                     # 3
        'path = "/tmp/x.log"\n'               # 4
    )
    res = run_bin(["check-config", str(cfg)])
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert any(l.startswith(f"{cfg}:2:") for l in _problem_lines(out, cfg)), out


def test_unknown_key_is_named(workdir, free_port):
    cfg = workdir / "unknown.toml"
    cfg.write_text(
        "[server]\n"                                 # 1
        f'listen = "127.0.0.1:{free_port}"\n'        # 2
        "heartbeet_ms = 100\n"                       # 3
        "\n"                                         # 4
        "[[source]]\n"                               # 5
        'name = "app"\n'                             # 6
        'kind = "file"\n'                            # 7
        f'path = "{workdir}/a.log"\n'                # 8
    )
    res = run_bin(["check-config", str(cfg)])
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    problems = _problem_lines(out, cfg)
    assert len(problems) == 1 and problems[0].startswith(f"{cfg}:3:") and "heartbeet_ms" in problems[0], out
    # serving with it fails too, and says why
    res = run_bin(["--config", str(cfg)])
    assert res.returncode != 0
    assert "heartbeet_ms" in res.stderr


def test_unreadable_config(workdir):
    cfg = workdir / "does-not-exist.toml"
    res = run_bin(["--config", str(cfg)])
    assert res.returncode != 0
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, res.stderr
    assert str(cfg) in lines[0]


def test_no_source_exits_2(workdir, free_port):
    cfg = workdir / "nosource.toml"
    cfg.write_text(render_config(f"127.0.0.1:{free_port}"))
    res = run_bin(["--config", str(cfg)])
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip()


def test_file_flag_adds_a_source(tailcast, workdir):
    log = workdir / "cli.log"
    log.write_text("x\n")
    srv = tailcast(sources=(), extra_args=["--file", f"cli={log}", "--log-level", "debug"])
    src = srv.sources()
    assert set(src) == {"cli"}
    assert src["cli"]["path"] == str(log) and src["cli"]["kind"] == "file"


def test_listen_flag_overrides_config(tailcast, workdir):
    log = workdir / "app.log"
    log.write_text("")
    other = find_free_port()
    srv = tailcast(sources=file_sources({"app": log}), start=False)
    srv.extra_args = ["--listen", f"127.0.0.1:{other}"]
    config_port, srv.port = srv.port, other
    srv.start()
    assert http_get(other, "/healthz")[0] == 200
    try:
        status = http_get(config_port, "/healthz", timeout=1)[0]
    except OSError:
        status = None
    assert status is None, "the config's listen address must not be served when --listen is given"


def test_duplicate_source_name(workdir, free_port):
    cfg = workdir / "dup.toml"
    cfg.write_text(render_config(f"127.0.0.1:{free_port}", sources=file_sources({"app": workdir / "a.log"})
                                 + file_sources({"app": workdir / "b.log"})))
    res = run_bin(["--config", str(cfg)])
    assert res.returncode != 0
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{res.stderr}"
    assert "app" in lines[0] and re.search(r"duplicat|already", lines[0], re.I), lines[0]


def test_port_in_use(workdir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        log = workdir / "app.log"
        log.write_text("")
        cfg = workdir / "busy.toml"
        cfg.write_text(render_config(f"127.0.0.1:{port}", sources=file_sources({"app": log})))
        res = run_bin(["--config", str(cfg)])
    assert res.returncode != 0
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{res.stderr}"
    assert str(port) in lines[0], lines[0]


SRC = '[[source]]\nname = "app"\nkind = "file"\npath = "/tmp/app.log"\n'
CONFIG_PROBLEMS = [
    # (id, config text, line of the problem, word the message must contain)
    ("toml-syntax", '[server]\nlisten = "127.0.0.1:9\n' + SRC, 2, None),
    ("bad-listen", '[server]\nlisten = "nowhere"\n' + SRC, 2, "listen"),
    ("slow-consumer-value", '[server]\nslow_consumer = "sometimes"\n' + SRC, 2, "slow_consumer"),
    ("negative-heartbeat", '[server]\nheartbeat_ms = -1\n' + SRC, 2, "heartbeat_ms"),
    ("unknown-table", '[sever]\nlisten = "127.0.0.1:9"\n' + SRC, 1, "sever"),
    ("bad-kind", '[[source]]\nname = "app"\nkind = "pipe"\npath = "/tmp/a"\n', 3, "kind"),
    ("name-too-long", f'[[source]]\nname = "{"n" * 65}"\nkind = "file"\npath = "/tmp/a"\n', 2, "name"),
    ("unknown-source-key", SRC + 'colour = "red"\n', 5, "colour"),
    ("defaults-wrong-type", '[defaults]\nring_lines = "many"\n' + SRC, 2, "ring_lines"),
    ("duplicate-name", SRC + "\n" + SRC, (6, 7), "app"),  # the second [[source]] or its name
]


@pytest.mark.parametrize("text,line,word", [c[1:] for c in CONFIG_PROBLEMS], ids=[c[0] for c in CONFIG_PROBLEMS])
def test_check_config_problem(workdir, text, line, word):
    cfg = workdir / "problem.toml"
    cfg.write_text(text)
    res = run_bin(["check-config", str(cfg)])
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    problems = _problem_lines(out, cfg)
    assert problems, f"no `{cfg}:LINE: message` line in:\n{out}"
    lines = line if isinstance(line, tuple) else (line,)
    assert any(p.startswith(tuple(f"{cfg}:{n}:" for n in lines)) and (word is None or word in p)
               for p in problems), out
