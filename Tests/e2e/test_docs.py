"""The shell examples of README.md and docs/*.md, run against the real binary.

Every fenced shell block that runs `curl` against tailcast or runs `tailcast` itself is an
example. Each one is either run here or listed with its reason in SKIP_RULES below; an example
that is neither fails, so a new example in the docs is covered or explicitly skipped.

How an example runs:
- Lines starting with `$ ` are commands; the lines after one, up to the next command, are its
  output as the doc shows it. A block without prompts is a list of commands without output.
- `127.0.0.1:8080` becomes the port of a test server started with the sources the doc names:
  docs/protocol.md's own config block (`app`, `web`, `later`, the last one missing, or
  present when the example shows `"status":"ready"`), README.md's etc/tailcast.toml
  (`dpkg`, `apt`, `alternatives`), with every path moved into a temporary directory.
- `/etc/tailcast/tailcast.toml` becomes packaging/tailcast.toml, the file that the Debian
  package installs there; `$ cat FILE` creates FILE with the output shown; `$ echo $?`
  checks the exit status of the command before it (otherwise it must be 0); `tc.toml`,
  when an example expects "address already in use", is a config that listens on the
  port of a running test server.
- Outputs are compared by shape: JSON by its keys and value types (recursively, lists
  element by element), `curl -i` by status code, header names and body, Prometheus text by
  its series (name and labels, not values), anything else line by line, exactly, where a
  `…` in the doc's line stands for any text; a line that is JSON (NDJSON, or an SSE
  `data: ` line) is compared by shape, and epochs in `SRC:SEQ:EPOCH` positions are ignored.
- A `tailcast ... --listen` example that serves is started, must answer /healthz, and must
  exit 0 on SIGTERM.
- A `tailcast tail` example follows the test server (TAILCAST_URL); unless `echo $?` comes
  next (it ends by itself), it runs until it has printed as many lines as the doc shows, then
  gets SIGINT and must exit 0.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import BIN, REPO, Tailcast, ServerFactory, find_free_port, http_get, require_binary, wait_for

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DOC_PORT = "127.0.0.1:8080"
SYSTEM_CONFIG = Path("/etc/tailcast/tailcast.toml")
SHELL_LANGS = {"", "sh", "shell", "bash", "console"}
STEP_TIMEOUT = 15.0

# (regex, whole block?, reason). The first match skips the example. A rule for the whole block
# looks at every line of the fenced block; the others look at the example's own commands.
SKIP_RULES: list[tuple[str, bool, str]] = [
    (r"(?m)^(\$ )?sudo ", True, "installs or starts the Debian package (sudo); `make deb-test` covers it"),
    (r"https://|--cacert|wss://", False, "needs a server with [tls]"),
    (r"Authorization:|[?&]token=", False, "needs a server with [auth] and a tokens file"),
    (r"--journal|source=journal|journalctl", False, "needs a systemd journal"),
    (r"[?&]follow\b", False, "streams until stopped; Tests/e2e/test_api_lines.py runs follow answers"),
    (r"--token-file|TAILCAST_TOKEN", False, "needs a server with [auth] and a tokens file"),
    (r"tailcast tail\b.*http://\S+\s.*http://", False, "follows two servers; test_tail_client.py merges two"),
]
TAIL_RETRY_NOTICE = re.compile(r"^tailcast tail: cannot connect \(no answer from the server for [0-9.]+s\); retrying for \d+s$")
# A usage synopsis, not an example: placeholders in upper case or optional parts in brackets.
SYNOPSIS = re.compile(r"\[[a-z-]+\]|\[--|\b(FILE|NAME|PATH|HOST|PORT|LEVEL)\b|\(also:")
# The files of docs/protocol.md's config: lines that the examples show (seq 1..5 and 1..2).
PROTOCOL_LOGS = {
    "app": ["2026-11-25 10:00:01 INFO app started",
            "2026-11-25 10:00:02 ERROR db timeout after 5s",
            "2026-11-25 10:00:03 INFO GET /healthcheck 200",
            "2026-11-25 10:00:04 WARN Timeout on /healthcheck",
            "2026-11-25 10:00:05 INFO request done"],
    "web": ["10.0.0.1 GET / 200", "10.0.0.2 GET /healthcheck 200"],
}
PROTOCOL_WAITING = {"later"}   # its directory does not exist in the doc's setup


# --------------------------------------------------------------------------- collecting


@dataclass
class Step:
    line: int
    cmd: str
    output: list[str] = field(default_factory=list)


@dataclass
class Example:
    doc: str          # path relative to the repository
    line: int         # line of the block's first command
    block: str        # the block's text
    steps: list[Step]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _is_tailcast_command(cmd: str) -> bool:
    return bool(re.match(r"(sudo\s+)?tailcast(\s|$)", cmd)) or (
        "curl " in cmd and re.search(r"(127\.0\.0\.1|localhost)(:\d+)?/", cmd) is not None)


def _blocks(path: Path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i + 1
        j = start
        while j < len(lines) and not re.match(rf"^{re.escape(indent)}```\s*$", lines[j]):
            j += 1
        yield lang, start + 1, [l[len(indent):] for l in lines[start:j]]
        i = j + 1


def collect() -> list[Example]:
    examples = []
    for path in DOCS:
        rel = str(path.relative_to(REPO))
        for lang, first, body in _blocks(path):
            if lang not in SHELL_LANGS:
                continue
            steps: list[Step] = []
            if any(l.startswith("$ ") for l in body):
                for n, l in enumerate(body):
                    if l.startswith("$ "):
                        steps.append(Step(first + n, l[2:].strip()))
                    elif steps:
                        steps[-1].output.append(l)
            else:
                steps = [Step(first + n, l.strip()) for n, l in enumerate(body)
                         if l.strip() and not l.lstrip().startswith("#")]
            for s in steps:
                while s.output and not s.output[-1].strip():
                    s.output.pop()
            relevant = [s for s in steps if _is_tailcast_command(s.cmd)]
            if not relevant:
                continue
            block = "\n".join(body)
            if any(l.startswith("$ ") for l in body):
                examples.append(Example(rel, steps[0].line, block, steps))
            else:   # without prompts every command stands alone
                examples += [Example(rel, s.line, block, [s]) for s in relevant]
    return examples


EXAMPLES = collect()


def skip_reason(ex: Example) -> str | None:
    if len(ex.steps) == 1 and SYNOPSIS.search(ex.steps[0].cmd):
        return "a usage synopsis with placeholders, not a runnable example"
    commands = "\n".join(s.cmd for s in ex.steps)
    for pattern, blockwide, reason in SKIP_RULES:
        if re.search(pattern, ex.block if blockwide else commands):
            return reason
    return None


# --------------------------------------------------------------------------- servers


def _write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(l + "\n" for l in lines))


def _protocol_sources(logdir: Path, ready: bool) -> list[dict]:
    """docs/protocol.md's config block, its paths moved under logdir."""
    text = (REPO / "docs" / "protocol.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block, "docs/protocol.md has no ```toml config block for its examples"
    cfg = tomllib.loads(block.group(1))
    sources = []
    for src in cfg["source"]:
        src = dict(src)
        path = logdir / src["path"].lstrip("/")
        src["path"] = str(path)
        if src["name"] not in PROTOCOL_WAITING or ready:
            _write_lines(path, PROTOCOL_LOGS.get(src["name"], ["one line"]))
        sources.append(src)
    return sources


def _readme_sources(logdir: Path) -> list[dict]:
    """etc/tailcast.toml's sources (what README.md's examples serve), paths under logdir."""
    cfg = tomllib.loads((REPO / "etc" / "tailcast.toml").read_text())
    sources = []
    for src in cfg["source"]:
        src = dict(src)
        if src.get("kind") == "file":
            path = logdir / src["path"].lstrip("/")
            _write_lines(path, [f"{src['name']} line 1", f"{src['name']} line 2"])
            src["path"] = str(path)
        sources.append(src)
    return sources


class DocServers:
    """Test servers, started on first use, one per setup the docs describe."""

    def __init__(self, factory: ServerFactory, base: Path):
        self.factory = factory
        self.base = base
        self.running: dict[str, Tailcast] = {}

    def get(self, profile: str) -> Tailcast:
        if profile in self.running:
            return self.running[profile]
        logdir = self.base / profile
        if profile == "readme":
            srv = self.factory(sources=_readme_sources(logdir))
        elif profile in ("protocol", "protocol-ready"):
            ready = profile == "protocol-ready"
            srv = self.factory(sources=_protocol_sources(logdir, ready), wait_ready=ready)
            for name, lines in PROTOCOL_LOGS.items():
                srv.wait_seq(name, len(lines))
            if not ready:
                wait_for(lambda: all(s["state"] == "waiting" for n, s in srv.sources().items()
                                     if n in PROTOCOL_WAITING), 10, "the waiting source to be waiting")
        else:
            raise AssertionError(f"unknown server profile {profile}")
        self.running[profile] = srv
        return srv


@pytest.fixture(scope="module")
def doc_servers(module_tailcast, tmp_path_factory):
    return DocServers(module_tailcast, tmp_path_factory.mktemp("docsrv"))


def _profile(ex: Example, step: Step) -> str:
    if ex.doc == "README.md":
        return "readme"
    return "protocol-ready" if '"status":"ready"' in "\n".join(step.output) else "protocol"


# --------------------------------------------------------------------------- comparing


def _shape(v):
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_shape(x) for x in v]
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return type(v).__name__


def _compare_shape(doc, got, where="$") -> list[str]:
    problems = []
    if isinstance(doc, dict) and isinstance(got, dict):
        if set(doc) != set(got):
            problems.append(f"{where}: keys {sorted(doc)} in the doc, {sorted(got)} from the server")
        for k in set(doc) & set(got):
            problems += _compare_shape(doc[k], got[k], f"{where}.{k}")
    elif isinstance(doc, list) and isinstance(got, list):
        if len(doc) != len(got):
            problems.append(f"{where}: {len(doc)} items in the doc, {len(got)} from the server")
        for n, (a, b) in enumerate(zip(doc, got)):
            problems += _compare_shape(a, b, f"{where}[{n}]")
    elif doc != got:
        problems.append(f"{where}: {doc} in the doc, {got} from the server")
    return problems


def _series(lines: list[str]) -> set[str]:
    out = set()
    for l in lines:
        if not l.strip() or l.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+\S+\s*$", l)
        assert m, f"not a Prometheus sample: {l!r}"
        labels = sorted(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.add(m.group(1) + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}")
    return out


def _http_parts(text: str) -> tuple[int, set[str], str]:
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    names = {l.split(":", 1)[0].strip().lower() for l in lines[1:] if ":" in l}
    return status, names, body.strip()


def compare_output(cmd: str, doc_lines: list[str], got: str) -> list[str]:
    """Problems found comparing what the doc shows with what the command printed."""
    doc = "\n".join(doc_lines).strip()
    got = got.strip()
    if not doc:
        return []
    if doc.startswith("HTTP/"):
        if not got.startswith("HTTP/"):
            return [f"the doc shows an HTTP answer; got {got[:200]!r}"]
        ds, dh, db = _http_parts(doc)
        gs, gh, gb = _http_parts(got)
        problems = []
        if ds != gs:
            problems.append(f"status {ds} in the doc, {gs} from the server")
        if dh != gh:
            problems.append(f"headers {sorted(dh)} in the doc, {sorted(gh)} from the server")
        if db or gb:
            problems += compare_output(cmd, db.splitlines(), gb)
        return problems
    if "/metrics" in cmd:
        d, g = _series(doc.splitlines()), _series(got.splitlines())
        return [] if d == g else [f"series only in the doc: {sorted(d - g)}; only from the server: {sorted(g - d)}"]
    try:
        doc_json = json.loads(doc)
    except ValueError:
        doc_json = None
    if doc_json is not None:
        try:
            got_json = json.loads(got)
        except ValueError:
            return [f"the doc shows JSON; the command printed {got[:300]!r}"]
        return _compare_shape(_shape(doc_json), _shape(got_json))
    d, g = doc.splitlines(), got.splitlines()
    if len(d) != len(g) or not all(_line_matches(a, b) for a, b in zip(d, g)):
        return ["output differs:\n--- doc\n" + "\n".join(d) + "\n--- got\n" + "\n".join(g)]
    return []


_POSITION_EPOCH = re.compile(r"([A-Za-z0-9_.-]+:\d+):[A-Za-z0-9_-]{1,16}\b")


def _json_line(line: str):
    """(prefix, JSON value) of an NDJSON line or an SSE `data: ` line, else (line, None)."""
    prefix, body = ("data: ", line[6:]) if line.startswith("data: ") else ("", line)
    if not body.startswith("{"):
        return line, None
    try:
        return prefix, json.loads(body)
    except ValueError:
        return line, None


def _line_matches(doc: str, got: str) -> bool:
    # In a text line, `…` stands for any text the doc leaves out.
    if re.fullmatch(".*".join(map(re.escape, doc.split("…"))), got):
        return True
    (dp, dj), (gp, gj) = _json_line(doc), _json_line(got)
    if dj is not None and gj is not None:
        return dp == gp and not _compare_shape(_shape(dj), _shape(gj))
    # Resume positions (SSE ids) carry the epoch of the server that answered.
    return _POSITION_EPOCH.sub(r"\1:EPOCH", doc) == _POSITION_EPOCH.sub(r"\1:EPOCH", got)


# --------------------------------------------------------------------------- running


def _shell_env(bindir: Path) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/bin:/bin')}"
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "*"
    return env


def _serve(cmd: str, scratch: Path, env: dict) -> None:
    """A `tailcast ... --listen HOST:PORT` example: it serves, answers /healthz, exits 0 on SIGTERM."""
    if SYSTEM_CONFIG.exists():
        pytest.skip(f"{SYSTEM_CONFIG} exists and would be served too")
    port = find_free_port()
    cmd = cmd.replace(DOC_PORT, f"127.0.0.1:{port}")
    for path in re.findall(r"=(/\S+)", cmd):   # --file NAME=/abs/path: a file of our own
        local = scratch / path.lstrip("/")
        _write_lines(local, ["served by the doc example"])
        cmd = cmd.replace(f"={path}", f"={local}")
    errlog = scratch / "serve.log"
    with open(errlog, "wb") as err:
        proc = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=scratch, env=env,
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        wait_for(lambda: proc.poll() is None and http_get(port, "/healthz", timeout=1)[0] == 200,
                 20, f"{cmd!r} to answer /healthz")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        assert code == 0, f"{cmd!r} exited {code} after SIGTERM; log:\n{errlog.read_text()}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _handles_sigint(pid: int) -> bool:
    """Whether the process ignores or catches SIGINT (/proc/PID/status SigIgn, SigCgt)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    masks = dict(l.split(":\t", 1) for l in status.splitlines() if l.startswith(("SigIgn", "SigCgt")))
    return any(int(m.strip(), 16) & (1 << (signal.SIGINT - 1)) for m in masks.values())


def _follow(cmd: str, lines: int, scratch: Path, env: dict) -> tuple[int, str]:
    """Runs a following `tailcast tail` until it printed `lines` lines (or STEP_TIMEOUT), then
    sends SIGINT; returns (exit code, what it printed on stdout and stderr)."""
    proc = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=scratch, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    got = bytearray()
    os.set_blocking(proc.stdout.fileno(), False)
    deadline = time.monotonic() + STEP_TIMEOUT

    def read() -> bool:
        try:
            chunk = proc.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            got.extend(chunk)
        return got.count(b"\n") >= lines or proc.poll() is not None

    try:
        # SIGINT only once the client handles it (as a user's Ctrl-C would find it).
        while not (read() and _handles_sigint(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
        os.set_blocking(proc.stdout.fileno(), True)
        got.extend(proc.stdout.read() or b"")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, got.decode(errors="replace")


def _busy_config(path: Path, port: int, scratch: Path) -> None:
    log = scratch / "busy.log"
    _write_lines(log, ["x"])
    path.write_text(f'[server]\nlisten = "127.0.0.1:{port}"\n\n'
                    f'[[source]]\nname = "app"\nkind = "file"\npath = "{log}"\n')


def run_example(ex: Example, doc_servers: DocServers, scratch: Path) -> None:
    require_binary()
    bindir = scratch / ".bin"
    bindir.mkdir()
    (bindir / "tailcast").symlink_to(BIN)
    env = _shell_env(bindir)
    if any(re.search(r"(^|\s)etc/", s.cmd) for s in ex.steps):
        (scratch / "etc").symlink_to(REPO / "etc")
    last_code: int | None = None
    last_cmd = ""
    checked = True
    for step in ex.steps:
        cmd, output = step.cmd, step.output
        where = f"{ex.doc}:{step.line}: `{cmd}`"
        if cmd == "echo $?":
            assert last_code is not None, f"{where}: no command before it"
            assert [str(last_code)] == [l.strip() for l in output], \
                f"{where}: `{last_cmd}` exited {last_code}; the doc says {output}"
            checked = True
            continue
        if not checked:
            assert last_code == 0, f"{ex.doc}: `{last_cmd}` exited {last_code}"
        m = re.fullmatch(r"cat (\S+)", cmd)
        if m:   # the doc shows a file: create it
            (scratch / m.group(1)).write_text("\n".join(output) + "\n")
            last_code, last_cmd, checked = 0, cmd, True
            continue
        if not _is_tailcast_command(cmd):
            pytest.fail(f"{where}: the doc test cannot run this command; run it in test_docs.py "
                        f"or add a SKIP_RULES entry with the reason")
        if cmd.startswith("tailcast") and "--listen" in cmd and not output:
            _serve(cmd, scratch, env)
            last_code, last_cmd, checked = 0, cmd, True
            continue
        if cmd == "tailcast" and SYSTEM_CONFIG.exists():
            pytest.skip(f"{ex.id}: {SYSTEM_CONFIG} exists, so `tailcast` alone would serve it")

        subst: dict[str, str] = {"/etc/tailcast/tailcast.toml": str(REPO / "packaging" / "tailcast.toml")}
        if "curl " in cmd:
            srv = doc_servers.get(_profile(ex, step))
            subst[DOC_PORT] = f"127.0.0.1:{srv.port}"
            subst["localhost:8080"] = f"localhost:{srv.port}"
        if any("address already in use" in l for l in output):
            busy = doc_servers.get("protocol")
            cfg = re.search(r"--config (\S+)", cmd)
            assert cfg, f"{where}: expected --config FILE"
            _busy_config(scratch / cfg.group(1), busy.port, scratch)
            subst[DOC_PORT] = f"127.0.0.1:{busy.port}"
        for a, b in subst.items():
            cmd = cmd.replace(a, b)
            output = [l.replace(a, b) for l in output]

        if cmd.startswith("tailcast tail"):
            srv = doc_servers.get(_profile(ex, step))
            step_env = dict(env, TAILCAST_URL=f"http://127.0.0.1:{srv.port}")
            output = [l.replace(DOC_PORT, f"127.0.0.1:{srv.port}") for l in output]
            index = ex.steps.index(step)
            ends = index + 1 < len(ex.steps) and ex.steps[index + 1].cmd == "echo $?"
            if not ends:
                code, printed = _follow(cmd, len([l for l in output if l.strip()]), scratch, step_env)
                assert code == 0, f"{where}: exited {code} on SIGINT; printed:\n{printed}"
                problems = compare_output(cmd, output, printed)
                assert not problems, f"{where}:\n" + "\n".join(problems)
                last_code, last_cmd, checked = code, cmd, True
                continue
            res = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=scratch, env=step_env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, timeout=STEP_TIMEOUT)
            last_code, last_cmd, checked = res.returncode, cmd, False
            # swift-websocket's client sometimes loses an `error` the server sends right after the
            # upgrade; `tailcast tail` then says so once on stderr and retries (docs/tail.md,
            # "When things go wrong"). That notice is the only line tolerated beyond the doc's.
            printed = "".join(l for l in res.stdout.splitlines(keepends=True) if not TAIL_RETRY_NOTICE.match(l))
            problems = compare_output(cmd, output, printed)
            assert not problems, f"{where}:\n" + "\n".join(problems)
            continue

        res = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=scratch, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=STEP_TIMEOUT)
        last_code, last_cmd, checked = res.returncode, cmd, False
        if cmd.startswith("tailcast --version") or cmd.startswith("tailcast --help"):
            assert res.stdout.strip(), f"{where}: printed nothing"
        problems = compare_output(cmd, output, res.stdout)
        assert not problems, f"{where}:\n" + "\n".join(problems)
    if not checked:
        assert last_code == 0, f"{ex.doc}: `{last_cmd}` exited {last_code}; output checked above"


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_doc_example(ex: Example, doc_servers, tmp_path):
    reason = skip_reason(ex)
    if reason:
        pytest.skip(f"{ex.id}: {reason}")
    run_example(ex, doc_servers, tmp_path)


def test_examples_were_found():
    """The collector still sees the docs' examples (a broken collector would pass vacuously)."""
    ids = {e.id.split(":")[0] for e in EXAMPLES}
    assert {"README.md", "docs/protocol.md", "docs/configuration.md"} <= ids, ids
    assert sum("curl " in s.cmd for e in EXAMPLES for s in e.steps) >= 6


def test_metrics_table_matches_server(doc_servers):
    """docs/protocol.md's /metrics table lists exactly the metric families the server exports."""
    text = (REPO / "docs" / "protocol.md").read_text()
    section = text.split("### `GET /metrics`", 1)[1].split("\n## ", 1)[0]
    # The families a node on a bus adds are documented under their own heading (a single
    # node, as here, does not export them; test_cluster.py checks them on a bus).
    section, on_bus = section.split("#### On a bus", 1)
    assert all(n.startswith("tailcast_bus_") for n in re.findall(r"^\| `(tailcast_[a-z_]+)", on_bus, re.M))
    documented = set(re.findall(r"^\| `(tailcast_[a-z_]+)", section, re.M))
    srv = doc_servers.get("protocol")
    exported = {n for n in srv.metrics().types if n.startswith("tailcast_")}
    assert documented == exported, (
        f"exported but not in docs/protocol.md's metrics table: {sorted(exported - documented)}; "
        f"documented but not exported: {sorted(documented - exported)}")
