"""The config file is TOML 1.0: the forms the spec allows are served, its errors name FILE:LINE."""

from __future__ import annotations

import re
import socket
import tomllib
from pathlib import Path

from conftest import REPO, find_free_port, run_bin, Tailcast


def _toml_blocks(path: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", path.read_text(), re.S)


def test_every_toml_block_in_the_docs_is_accepted(tmp_path):
    """Each ```toml block of docs/configuration.md passes check-config, and Python's own TOML
    1.0 parser (tomllib) agrees it is TOML."""
    blocks = _toml_blocks(REPO / "docs" / "configuration.md")
    assert len(blocks) >= 3
    for n, block in enumerate(blocks):
        tomllib.loads(block)
        cfg = tmp_path / f"block{n}.toml"
        cfg.write_text(block)
        res = run_bin(["check-config", str(cfg)])
        assert res.returncode == 0, f"block {n}:\n{block}\n{res.stderr}"


def test_a_config_in_toml_1_0_forms_is_served(tmp_path):
    """Dotted keys, hex, a multi-line string, inline tables in an array, and a multi-line
    array with comments: the server starts with them and serves what they say."""
    app, web = tmp_path / "app.log", tmp_path / "web.log"
    app.write_text("a1\na2\n")
    web.write_text("w1\n")
    port = find_free_port()
    text = f"""
server.listen = '127.0.0.1:{port}'
server.allowed_hosts = [
  "logs.example.com",   # a comment inside the array
  'localhost',
]
defaults.ring_lines = 0x186A0
source = [
  {{ name = "app", kind = "file", path = \"\"\"{app}\"\"\" }},
  {{ name = "web", kind = "file", path = '{web}', initial_lines = 0o1 }},
]
"""
    assert tomllib.loads(text)["defaults"]["ring_lines"] == 100_000
    cfg = tmp_path / "tc.toml"
    cfg.write_text(text)
    assert run_bin(["check-config", str(cfg)]).returncode == 0
    tc = Tailcast(tmp_path, port, cfg, []).start()
    try:
        sources = tc.sources()
        assert set(sources) == {"app", "web"}
        assert sources["app"]["path"] == str(app)
        tc.wait_seq("app", 2)
        tc.wait_seq("web", 1)
    finally:
        assert tc.stop() == 0


def test_toml_errors_name_file_and_line(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("""server.listen = "127.0.0.1:8080"
[server]
ring = 0x
[[source]]
name = "a"
kind = "file"
path = "/a"
name = "b"
source = [ { name = "c", kind = "file", path = "/c", } ]
""")
    res = run_bin(["check-config", str(cfg)])
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert lines[0] == f"{cfg}:2: table [server] is already defined by dotted keys on line 1"
    assert lines[1].startswith(f"{cfg}:3: bad value for ring: 0x is not a valid hexadecimal integer")
    assert lines[2] == f"{cfg}:8: key name is defined twice (first on line 5)"
    assert lines[3].startswith(f"{cfg}:9: bad value for source: an inline table takes no comma after its last")
    assert len(lines) == 4, res.stderr


def test_check_config_sums_up_a_cluster_node_without_contacting_the_bus(tmp_path):
    """[cluster]: check-config prints one line about the node and never connects to the bus
    (a listener on the bus's port sees no connection); bad values and a viewer's local source
    are errors with FILE:LINE; an agent-only node may listen off loopback without [auth]."""
    bus = socket.socket()
    bus.bind(("127.0.0.1", 0))
    bus.listen(8)
    port = bus.getsockname()[1]
    try:
        cfg = tmp_path / "node.toml"
        cfg.write_text(f"""[server]
listen = "0.0.0.0:8080"

[cluster]
nats = ["nats://127.0.0.1:{port}", "127.0.0.1:{port}"]
host = "web-1"
role = "agent"

[[source]]
name = "app"
kind = "file"
path = "/var/log/app.log"
""")
        res = run_bin(["check-config", str(cfg)])
        assert res.returncode == 0, res.stderr
        assert res.stdout.splitlines() == [
            f"{cfg}: ok (1 source)",
            f"cluster: role agent, host web-1, stream TAILCAST, bus nats://127.0.0.1:{port},nats://127.0.0.1:{port}",
        ]
        bus.setblocking(False)
        try:
            bus.accept()
            raise AssertionError("check-config connected to the bus")
        except BlockingIOError:
            pass
    finally:
        bus.close()

    bad = tmp_path / "viewer.toml"
    bad.write_text("""[cluster]
nats = "http://127.0.0.1:4222"
role = "viewer"

[[source]]
name = "app"
kind = "file"
path = "/var/log/app.log"
""")
    res = run_bin(["check-config", str(bad)])
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert lines[0].startswith(f"{bad}:2: nats holds bus URLs") and '"http://127.0.0.1:4222"' in lines[0], lines
    assert lines[1].startswith(f"{bad}:5: a viewer-only node"), lines
    assert len(lines) == 2, res.stderr
