"""The follower across restarts and inode reuse: a saved position is used only for the file it
was saved for; a new file under a known path is read from its start."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import append_lines, assert_continuous, run, wait_for, ws_open


def _first_run(tailcast, log: Path, state: Path, count: int = 300):
    """Starts tailcast with state_dir on an empty log, has it read `count` lines, stops it."""
    log.write_text("")
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}],
                   server={"state_dir": str(state)}, defaults={"rotate_wait_ms": 300})
    append_lines(log, [f"old line {i}" for i in range(1, count + 1)])
    srv.wait_seq("app", count)
    epoch = srv.sources()["app"]["epoch"]
    assert srv.stop() == 0
    assert (state / "positions.json").exists()
    return srv, epoch


async def _resume(srv, since: str, want: int):
    c = await ws_open(srv, f"since={since}")
    await c.until(lambda c: len(c.lines) >= want or c.of_type("dropped"), 15, f"{want} lines or a drop")
    await c.quiet(0.3)
    await c.close()
    return c


def test_restart_after_rename_finishes_the_old_file_and_keeps_the_epoch(tailcast, workdir: Path):
    log, state = workdir / "app.log", workdir / "state"
    srv, epoch = _first_run(tailcast, log, state)
    # While tailcast is down: the app writes a few more lines, logrotate renames, the app goes on.
    append_lines(log, [f"late line {i}" for i in range(1, 11)])
    os.rename(log, workdir / "app.log.1")
    append_lines(log, [f"new line {i}" for i in range(1, 51)])
    srv.start()
    srv.wait_seq("app", 360)
    info = srv.sources()["app"]
    assert info["epoch"] == epoch, "the old file was found: numbering continues in the same epoch"
    assert info["seq"] == 360

    c = run(_resume(srv, f"app:300:{epoch}", 60))
    assert not c.of_type("dropped"), c.of_type("dropped")
    assert c.texts() == [f"late line {i}" for i in range(1, 11)] + [f"new line {i}" for i in range(1, 51)]
    assert_continuous(c.seqs(), first=301)

    async def tail3():
        c = await ws_open(srv, "n=3")
        await c.lines_until(3)
        await c.close()
        return c
    c = run(tail3())
    assert c.texts() == ["new line 48", "new line 49", "new line 50"]
    assert c.seqs() == [358, 359, 360]


def test_restart_after_truncation_starts_a_new_epoch(tailcast, workdir: Path):
    log, state = workdir / "app.log", workdir / "state"
    srv, epoch = _first_run(tailcast, log, state)
    subprocess.run(["truncate", "-s", "0", str(log)], check=True)
    append_lines(log, [f"new line {i}" for i in range(1, 51)])
    srv.start()
    wait_for(lambda: srv.sources()["app"]["seq"] >= 50, 10, "the new lines")
    info = srv.sources()["app"]
    assert info["epoch"] != epoch, "numbering starts again, so the epoch changes"

    c = run(_resume(srv, f"app:300:{epoch}", 50))
    dropped = c.of_type("dropped")
    assert dropped and dropped[0]["reason"] == "restarted", c.msgs[:3]
    assert dropped[0]["epoch"] == epoch
    assert c.texts()[-3:] == ["new line 48", "new line 49", "new line 50"]


def test_restart_after_rename_with_the_old_file_gone_starts_a_new_epoch(tailcast, workdir: Path):
    log, state = workdir / "app.log", workdir / "state"
    srv, epoch = _first_run(tailcast, log, state)
    log.unlink()
    append_lines(log, [f"new line {i}" for i in range(1, 51)])
    srv.start()
    wait_for(lambda: srv.sources()["app"]["seq"] >= 50, 10, "the new lines")
    assert srv.sources()["app"]["epoch"] != epoch
    c = run(_resume(srv, f"app:300:{epoch}", 50))
    assert [d["reason"] for d in c.of_type("dropped")] == ["restarted"]


def test_saved_positions_out_of_range_start_a_new_epoch(tailcast, workdir: Path):
    log, state = workdir / "app.log", workdir / "state"
    srv, epoch = _first_run(tailcast, log, state, count=20)
    positions = json.loads((state / "positions.json").read_text())
    for bad in ({"nextSeq": 2**64 - 1}, {"offset": -5}, {"epoch": "no spaces allowed"}):
        entry = dict(positions["app"], **bad)
        (state / "positions.json").write_text(json.dumps({"app": entry}))
        srv.start()
        info = srv.sources()["app"]
        assert info["state"] == "following", info
        assert info["epoch"] != epoch and info["seq"] == 20, info
        assert "positions.json" in srv.stderr_text()
        assert srv.stop() == 0
    (state / "positions.json").write_text("{not json")
    srv.start()
    assert srv.sources()["app"]["epoch"] != epoch


def test_glob_file_recreated_on_a_reused_inode_is_read_from_its_start(tailcast, workdir: Path):
    logs = workdir / "logs"
    logs.mkdir()
    for name in ("a", "b", "k"):
        append_lines(logs / f"{name}.log", [f"{name} first"])
    srv = tailcast(sources=[{"name": "web", "kind": "file", "path": str(logs / "*.log")}],
                   defaults={"rotate_wait_ms": 200})
    b = logs / "b.log"

    def held_open() -> bool:
        fds = Path(f"/proc/{srv.proc.pid}/fd")
        return any(os.readlink(fds / fd).startswith(str(b)) for fd in os.listdir(fds)
                   if os.path.islink(fds / fd))

    async def go():
        c = await ws_open(srv, "n=10")
        await c.lines_until(3)
        old = [f"b old line {i:02d}" for i in range(9)]
        append_lines(b, old)
        await c.until(lambda c: old[-1] in c.texts(), 10, "b's old lines")
        old_inode = b.stat().st_ino
        b.unlink()
        await c.until(lambda c: "missing" in c.events(), 10, "missing for b.log")
        wait_for(lambda: not held_open(), 10, "tailcast to close the deleted b.log")
        # The file system hands the freed inode to the next new file (ext4, tmpfs): make sure
        # of it with a name the glob does not match, then move it in under the old name.
        new = [f"b new line {i:02d}" for i in range(10)]
        tmp = logs / "b.tmp"
        for _ in range(200):
            append_lines(tmp, new)
            if tmp.stat().st_ino == old_inode:
                break
            tmp.unlink()
        os.rename(tmp, b)
        await c.until(lambda c: new[-1] in c.texts(), 10, "b's new lines")
        await c.quiet(0.3)
        await c.close()
        got = [t for t in c.texts() if t.startswith("b new")]
        assert got == new, f"{len(got)} of 10 lines of the new b.log arrived"
        assert_continuous(c.seqs())

    run(go())


def test_glob_restart_with_state_dir_continues_numbering(tailcast, workdir: Path):
    logs, state = workdir / "logs", workdir / "state"
    logs.mkdir()
    for name in ("a", "b"):
        (logs / f"{name}.log").write_text("")
    srv = tailcast(sources=[{"name": "web", "kind": "file", "path": str(logs / "*.log")}],
                   server={"state_dir": str(state)}, defaults={"rotate_wait_ms": 200})
    append_lines(logs / "a.log", [f"a {i}" for i in range(5)])
    append_lines(logs / "b.log", [f"b {i}" for i in range(5)])
    srv.wait_seq("web", 10)
    epoch = srv.sources()["web"]["epoch"]
    assert srv.stop() == 0
    # While down: both grow, and a new file appears.
    append_lines(logs / "a.log", ["a while down"])
    append_lines(logs / "b.log", ["b while down"])
    append_lines(logs / "c.log", ["c while down"])
    srv.start()
    srv.wait_seq("web", 13)
    info = srv.sources()["web"]
    assert info["epoch"] == epoch

    async def go():
        c = await ws_open(srv, f"since=web:10:{epoch}")
        await c.lines_until(3)
        await c.quiet(0.3)
        await c.close()
        assert not c.of_type("dropped")
        assert sorted(c.texts()) == ["a while down", "b while down", "c while down"]
        assert_continuous(c.seqs(), first=11)

    run(go())
