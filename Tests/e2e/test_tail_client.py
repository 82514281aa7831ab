"""`tailcast tail`, the terminal client, driven as a user runs it: under a pseudo-terminal
(colours, highlighted matches) and piped (plain text, NDJSON), against real servers: exit codes,
reconnect across a server restart with no gap and no duplicate, several servers, tokens."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import BIN, append_lines, file_sources, find_free_port, require_binary, run_bin, wait_for

ESC = "\x1b"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class TailProc:
    """A running `tailcast tail`: stdout through a pty (`tty=True`) or a pipe; both streams are
    collected by threads so the test can wait for conditions with deadlines."""

    def __init__(self, args: list[str], tty: bool = False, env: dict | None = None):
        require_binary()
        environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TAILCAST_TOKEN")}
        environment["TERM"] = "xterm-256color"
        environment.update(env or {})
        self._out = bytearray()
        self._err = bytearray()
        self._lock = threading.Lock()
        if tty:
            master, slave = pty.openpty()
            self.proc = subprocess.Popen([BIN, "tail", *args], stdin=subprocess.DEVNULL, stdout=slave,
                                         stderr=subprocess.PIPE, env=environment)
            os.close(slave)
            out_reader = lambda: self._read_fd(master, self._out)  # noqa: E731
        else:
            self.proc = subprocess.Popen([BIN, "tail", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=environment)
            out_reader = lambda: self._read_fd(self.proc.stdout.fileno(), self._out)  # noqa: E731
        self._threads = [threading.Thread(target=out_reader, daemon=True),
                         threading.Thread(target=lambda: self._read_fd(self.proc.stderr.fileno(), self._err), daemon=True)]
        for t in self._threads:
            t.start()

    def _read_fd(self, fd: int, into: bytearray) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the pty's other side is closed
                break
            if not chunk:
                break
            with self._lock:
                into.extend(chunk)

    @property
    def out(self) -> str:
        with self._lock:
            return self._out.decode(errors="replace").replace("\r\n", "\n")

    @property
    def err(self) -> str:
        with self._lock:
            return self._err.decode(errors="replace")

    def out_lines(self) -> list[str]:
        text = self.out
        return text.split("\n")[:-1] if text else []

    def wait_out(self, pred, timeout: float = 15.0, what: str = "output"):
        try:
            return wait_for(lambda: pred(self.out), timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nstdout:\n{self.out[-2000:]}\nstderr:\n{self.err[-2000:]}") from None

    def wait_exit(self, timeout: float = 15.0) -> int:
        code = self.proc.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=5)
        return code

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.wait_exit()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def tails():
    started: list[TailProc] = []

    def start(args: list[str], **kw) -> TailProc:
        p = TailProc(args, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()


def url(srv) -> str:
    return f"http://127.0.0.1:{srv.port}"


@pytest.fixture
def two_sources(tailcast, workdir: Path):
    app, web = workdir / "app.log", workdir / "web.log"
    append_lines(app, ["app boot"])
    append_lines(web, ["web boot"])
    srv = tailcast(sources=file_sources({"app": app, "web": web}))
    srv.logs = {"app": app, "web": web}
    return srv


# --------------------------------------------------------------------------- terminal vs pipe


def test_colours_and_highlighted_matches_only_on_a_terminal(two_sources, tails):
    srv = two_sources
    on_tty = tails([url(srv), "error", "-i"], tty=True)
    piped = tails([url(srv), "error", "-i"])
    no_color = tails([url(srv), "error", "-i"], tty=True, env={"NO_COLOR": "1"})
    flag = tails([url(srv), "error", "-i", "--no-color"], tty=True)
    for p in (on_tty, piped, no_color, flag):
        p.wait_out(lambda o: True, 1, "start")
    wait_for(lambda: srv.metrics().value("tailcast_connections") >= 4, 15, "four clients connected")
    append_lines(srv.logs["app"], ["disk ERROR on sda", "all fine"])
    append_lines(srv.logs["web"], ["GET /x error 500"])

    on_tty.wait_out(lambda o: "500" in o and "sda" in o, what="both matches on the terminal")
    text = on_tty.out
    # grep --color style: the source in magenta, the separator in cyan, the match in bold red.
    assert f"{ESC}[35mapp{ESC}[0m{ESC}[36m:{ESC}[0mdisk {ESC}[1;31mERROR{ESC}[0m on sda\n" in text
    assert f"{ESC}[35mweb{ESC}[0m{ESC}[36m:{ESC}[0mGET /x {ESC}[1;31merror{ESC}[0m 500\n" in text
    assert "all fine" not in text

    for p in (piped, no_color, flag):
        p.wait_out(lambda o: "500" in o and "sda" in o, what="both matches, plain")
        assert ESC not in p.out, f"colour codes in plain output: {p.out!r}"
        assert "app:disk ERROR on sda\n" in p.out and "web:GET /x error 500\n" in p.out
    for p in (on_tty, piped, no_color, flag):
        assert p.err == "" or "tailcast tail" in p.err


def test_control_characters_in_a_line_cannot_drive_the_terminal(tailcast, workdir: Path, tails):
    log = workdir / "app.log"
    append_lines(log, ["seed"])
    srv = tailcast(sources=file_sources({"app": log}))
    on_tty = tails([url(srv), "-n", "0"], tty=True)
    piped = tails([url(srv), "-n", "0"])
    wait_for(lambda: srv.metrics().value("tailcast_connections") >= 2, 15, "two clients connected")
    append_lines(log, ["title \x1b]0;pwned\x07 end"])
    on_tty.wait_out(lambda o: "end" in o, what="the line")
    assert "title ^[]0;pwned^G end\n" in on_tty.out
    piped.wait_out(lambda o: "end" in o, what="the line, piped")
    assert "title \x1b]0;pwned\x07 end\n" in piped.out, "piped output keeps the bytes"


def test_json_prints_the_servers_line_objects(two_sources, tails):
    srv = two_sources
    p = tails([url(srv), "--json", "-n", "5", "boot|fail"])
    p.wait_out(lambda o: o.count("\n") >= 2, what="the replayed lines")
    append_lines(srv.logs["app"], ["a fail here"])
    p.wait_out(lambda o: "a fail here" in o, what="the live line")
    objects = [json.loads(line) for line in p.out_lines()]
    assert {o["text"] for o in objects} == {"app boot", "web boot", "a fail here"}
    live = next(o for o in objects if o["text"] == "a fail here")
    assert live["source"] == "app" and live["seq"] == 2 and live["matches"] == [[2, 6]] and "ts" in live
    assert p.err == ""


def test_context_lines_are_marked_like_grep(tailcast, workdir: Path, tails):
    log = workdir / "app.log"
    append_lines(log, ["seed"])
    srv = tailcast(sources=file_sources({"app": log}))
    p = tails([url(srv), "-n", "0", "-B", "1", "--source", "app", "MATCH"])
    wait_for(lambda: srv.metrics().value("tailcast_connections") >= 1, 15, "client connected")
    append_lines(log, ["one", "two", "MATCH a", "three", "four", "MATCH b"])
    p.wait_out(lambda o: "MATCH b" in o, what="both matches")
    lines = p.out_lines()
    # One source: no prefix, as grep over one file; context lines have none to mark, so the
    # group separator shows where lines were skipped.
    assert lines == ["two", "MATCH a", "--", "four", "MATCH b"], lines


# --------------------------------------------------------------------------- exit codes


def test_sigint_exits_0(two_sources, tails):
    p = tails([url(two_sources)], tty=True)
    p.wait_out(lambda o: "boot" in o, what="the replayed lines")
    assert p.interrupt() == 0


def test_bad_query_exits_2_with_the_servers_message(two_sources, tails):
    p = tails([url(two_sources), "-A", "5000"])
    assert p.wait_exit() == 2
    assert "A must be a whole number from 0 to 1000" in p.err, p.err
    assert p.out == ""
    p = tails([url(two_sources), "(unclosed"])
    assert p.wait_exit() == 2
    assert ": q: " in p.err, p.err
    p = tails([url(two_sources), "--source", "nope"])
    assert p.wait_exit() == 2
    assert "unknown source" in p.err and "source" in p.err, p.err


def test_nothing_listening_exits_1_after_the_retry_window(tails):
    port = find_free_port()
    started = time.monotonic()
    p = tails([f"http://127.0.0.1:{port}", "--retry", "2"])
    assert p.wait_exit(timeout=15) == 1
    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 8.0, f"gave up after {elapsed:.1f}s"
    assert "cannot connect" in p.err and "connection refused" in p.err and "2s" in p.err, p.err
    assert p.err.count("\n") == 2, f"one notice, one final message: {p.err!r}"


def test_bad_url_is_a_usage_error():
    r = run_bin(["tail", "http://127.0.0.1:99999"])
    assert r.returncode != 0 and "port" in r.stderr


# --------------------------------------------------------------------------- reconnect


def test_reconnect_across_a_restart_with_state_dir_loses_and_repeats_nothing(tailcast, workdir: Path, tails):
    log = workdir / "app.log"
    append_lines(log, ["old line"])
    srv = tailcast(sources=file_sources({"app": log}), server={"state_dir": str(workdir / "state")})
    p = tails([url(srv), "-n", "0", "--json"])
    wait_for(lambda: srv.metrics().value("tailcast_connections") >= 1, 15, "client connected")
    before = [f"before {i}" for i in range(20)]
    during = [f"during {i}" for i in range(20)]
    after = [f"after {i}" for i in range(20)]
    append_lines(log, before)
    p.wait_out(lambda o: "before 19" in o, what="the lines before the restart")

    srv.signal(signal.SIGTERM)
    assert srv.wait_exit() == 0
    append_lines(log, during)  # written while the server is down
    srv.start()
    append_lines(log, after)
    p.wait_out(lambda o: "after 19" in o, timeout=20, what="every line after the restart")

    objects = [json.loads(line) for line in p.out_lines()]
    assert [o["text"] for o in objects] == before + during + after
    seqs = [o["seq"] for o in objects]
    assert seqs == list(range(seqs[0], seqs[0] + 60)), seqs
    assert "connection lost" in p.err and "connected; resuming" in p.err, p.err
    assert "restarted" not in p.err, "the epoch was kept"


def test_restart_without_state_is_reported_on_stderr(tailcast, workdir: Path, tails):
    log = workdir / "app.log"
    append_lines(log, ["seed"])
    srv = tailcast(sources=file_sources({"app": log}))
    p = tails([url(srv), "-n", "0"])
    wait_for(lambda: srv.metrics().value("tailcast_connections") >= 1, 15, "client connected")
    append_lines(log, ["first"])
    p.wait_out(lambda o: "first" in o, what="the first line")
    srv.stop()
    srv.start()
    wait_for(lambda: "restarted without saved state" in p.err, 20, "the restart notice on stderr")
    append_lines(log, ["second"])
    p.wait_out(lambda o: "second" in o, what="a line after the restart")
    assert "restarted" not in p.out


# --------------------------------------------------------------------------- several servers, tokens


def test_two_servers_merge_into_one_stream_with_prefixes(tailcast, workdir: Path, tails):
    servers = []
    for name in ("one", "two"):
        log = workdir / f"{name}.log"
        append_lines(log, [f"{name} seed"])
        srv = tailcast(sources=file_sources({"app": log}))
        srv.log = log
        servers.append(srv)
    p = tails([url(servers[0]), url(servers[1]), "-n", "0"])
    wait_for(lambda: all(s.metrics().value("tailcast_connections") >= 1 for s in servers), 15, "both connected")
    append_lines(servers[0].log, ["hello from one"])
    append_lines(servers[1].log, ["hello from two"])
    p.wait_out(lambda o: "from one" in o and "from two" in o, what="a line from each server")
    assert sorted(p.out_lines()) == sorted([f"127.0.0.1:{servers[0].port}:app:hello from one",
                                            f"127.0.0.1:{servers[1].port}:app:hello from two"])


def test_token_from_the_environment_or_a_file(tailcast, workdir: Path, tails):
    log = workdir / "app.log"
    append_lines(log, ["secret line"])
    token = "tk-" + os.urandom(16).hex()
    tokens = workdir / "tokens"
    tokens.write_text(token + "\n")
    srv = tailcast(sources=file_sources({"app": log}), start=False)
    srv.config_path.write_text(srv.config_path.read_text() + f'\n[auth]\ntokens_file = "{tokens}"\n')
    srv.start()

    by_env = tails([url(srv)], env={"TAILCAST_TOKEN": token})
    by_env.wait_out(lambda o: "secret line" in o, what="lines with the token from TAILCAST_TOKEN")
    token_file = workdir / "my-token"
    token_file.write_text(token + "\n")
    by_file = tails([url(srv), "--token-file", str(token_file)])
    by_file.wait_out(lambda o: "secret line" in o, what="lines with the token from --token-file")

    without = tails([url(srv)])
    assert without.wait_exit() == 2
    assert "unauthorized" in without.err and without.out == ""
    wrong = tails([url(srv)], env={"TAILCAST_TOKEN": "wrong-token-000000"})
    assert wrong.wait_exit() == 2


def test_help_leads_with_the_three_commands_a_new_user_needs():
    r = run_bin(["--help"])
    assert r.returncode == 0
    head = r.stdout.split("USAGE")[0]
    for command, example in (("serve", "tailcast --file"), ("check-config", "tailcast check-config "),
                             ("tail", "tailcast tail ")):
        assert re.search(rf"^\s+{command}\s", head, re.M), f"{command} missing before USAGE:\n{head}"
        assert example in head
    t = run_bin(["tail", "--help"])
    assert "TAILCAST_TOKEN" in t.stdout and "--retry" in t.stdout and "default 15" in t.stdout


def test_file_events_go_to_stderr_never_to_stdout(tailcast, workdir: Path, tails):
    log = workdir / "app.log"
    append_lines(log, ["seed one", "seed two"])
    srv = tailcast(sources=file_sources({"app": log}))
    p = tails([url(srv), "-n", "0"])
    wait_for(lambda: srv.metrics().value("tailcast_connections") >= 1, 15, "client connected")
    log.write_text("")  # `> app.log`: truncated in place
    append_lines(log, ["after truncation"])
    p.wait_out(lambda o: "after truncation" in o, what="the line after the truncation")
    wait_for(lambda: "app: truncated" in p.err, 10, "the truncated event on stderr")
    assert p.out_lines() == ["after truncation"]


def test_a_token_file_that_is_not_a_token_is_refused_at_once(workdir: Path, tails):
    big = workdir / "big"
    big.write_text("x" * 5000)
    for path in (str(big), "/dev/zero", str(workdir / "missing")):
        p = tails(["--token-file", path, f"http://127.0.0.1:{find_free_port()}"])
        assert p.wait_exit(timeout=10) == 2
        assert "--token-file" in p.err, p.err
