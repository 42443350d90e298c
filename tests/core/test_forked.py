"""Work shared with a forked process (`forked.shared_map`), and a command line checkout whose
writes are shared so: every file and stat-cache row arrives, and a failure in the fork's
share reaches the user whole."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import GitRepo, process_running, sha, stderr_error_line

from gitartifacts.core import forked
from gitartifacts.core.objecterrors import CorruptObjectError
from gitartifacts.core.workspace.scan import FolderWalk
from gitartifacts.errors import GitArtifactsError

BATCHES = [list(range(i, i + 3)) for i in range(0, 60, 3)]


def _run(fn, batches=BATCHES, fork=True):  # type: ignore[no-untyped-def]
    seen: list[list[int]] = []
    out = list(forked.shared_map(fn, batches, done=seen.append, fork=fork))
    return out, seen


def _slow(batch: list[int]) -> list[tuple[int, int]]:
    time.sleep(0.01)  # long enough for the fork to start and take batches too
    return [(x, os.getpid()) for x in batch]


def test_every_batch_runs_once_shared_between_this_process_and_a_fork() -> None:
    out, seen = _run(_slow)
    assert sorted(x for rows in out for x, _ in rows) == list(range(60))
    pids = {pid for rows in out for _, pid in rows}
    assert os.getpid() in pids and len(pids) == 2  # half of it ran in another process
    assert sorted(map(tuple, seen)) == sorted(map(tuple, BATCHES))  # the bar saw each once


def test_the_process_with_more_to_do_besides_takes_fewer_batches() -> None:
    parent = os.getpid()

    def fn(batch: list[int]) -> list[int]:
        time.sleep(0.04 if os.getpid() == parent else 0.004)  # the parent also records
        return [os.getpid()] * len(batch)

    out, _ = _run(fn)
    pids = [rows[0] for rows in out]
    assert len(pids) == len(BATCHES)
    assert pids.count(parent) <= len(BATCHES) // 4  # a fixed half would be 10 of 20


def test_few_batches_or_no_fork_stay_in_this_process() -> None:
    for batches, fork in ((BATCHES[: forked.MIN_BATCHES - 1], True), (BATCHES, False)):
        out, seen = _run(lambda batch: [os.getpid()] * len(batch), batches, fork)
        assert {pid for rows in out for pid in rows} == {os.getpid()}
        assert len(seen) == len(batches)


def test_where_no_fork_can_be_made_every_batch_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")  # EAGAIN: ulimit -u

    monkeypatch.setattr(os, "fork", refused)
    fds = len(os.listdir("/proc/self/fd"))
    out, seen = _run(lambda batch: [(x, os.getpid()) for x in batch])
    assert sorted(x for rows in out for x, _ in rows) == list(range(60))
    assert {pid for rows in out for _, pid in rows} == {os.getpid()} and len(seen) == 20
    assert len(os.listdir("/proc/self/fd")) == fds  # the pipe and file made for it closed


def test_the_fork_is_only_made_where_the_command_line_allowed_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(forked, "ALLOWED", False)
    out = forked.shared_map(lambda b: [os.getpid()], BATCHES, done=lambda b: None)
    assert {pid for rows in out for pid in rows} == {os.getpid()}
    monkeypatch.setattr(forked, "ALLOWED", True)
    monkeypatch.setattr(forked, "CAN_FORK", True)
    out = forked.shared_map(_slow, BATCHES, done=lambda b: None)
    assert len({pid for rows in out for _, pid in rows}) == 2


def test_a_failure_in_the_fork_arrives_whole_before_this_process_ends_its_share() -> None:
    parent = os.getpid()
    ran_here: list[int] = []

    def fn(batch: list[int]) -> list[int]:
        if os.getpid() != parent:
            raise CorruptObjectError("object sha256:ab is corrupt", "run git artifacts pull")
        ran_here.append(batch[0])
        time.sleep(0.05)
        return batch

    with pytest.raises(CorruptObjectError) as info:
        _run(fn)
    assert str(info.value) == "object sha256:ab is corrupt (run git artifacts pull)"
    assert info.value.exit_code == 5
    assert len(ran_here) < len(BATCHES[0::2])  # seen as soon as the fork ended


def test_an_exception_that_does_not_pickle_arrives_as_its_text() -> None:
    parent = os.getpid()

    class Odd(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(f"odd {a} {b}")

    def fn(batch: list[int]) -> list[int]:
        if os.getpid() != parent:
            raise Odd(1, 2)
        time.sleep(0.01)
        return batch

    with pytest.raises(OSError, match="Odd: odd 1 2"):
        _run(fn)


def test_a_killed_fork_is_an_error_not_a_silent_half() -> None:
    parent = os.getpid()

    def fn(batch: list[int]) -> list[int]:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01)
        return batch

    with pytest.raises(GitArtifactsError, match="ended unfinished"):
        _run(fn)


def test_a_failure_here_stops_the_fork_at_once(tmp_path: Path) -> None:
    parent = os.getpid()
    pid_file = tmp_path / "child"

    def fn(batch: list[int]) -> list[int]:
        if os.getpid() == parent:
            time.sleep(0.2)  # the fork has started its share
            raise KeyboardInterrupt
        pid_file.write_text(str(os.getpid()))
        time.sleep(5)
        return batch

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _run(fn)
    assert time.monotonic() - started < 4
    with pytest.raises(ProcessLookupError):  # ended and reaped: no zombie either
        os.kill(int(pid_file.read_text()), 0)


def test_a_fork_whose_parent_is_killed_outright_stops_after_its_batch(tmp_path: Path) -> None:
    script = f"""
import os, signal, time
from pathlib import Path
from gitartifacts.core import forked
from gitartifacts.core.workspace.scan import FolderWalk
parent = os.getpid()
def fn(batch):
    if os.getpid() == parent:
        time.sleep(0.3)
        os.kill(parent, signal.SIGKILL)
    Path({str(tmp_path)!r}, f"{{os.getpid()}}-{{batch[0]}}").touch()
    time.sleep(0.1)
    return batch
list(forked.shared_map(fn, [[i] for i in range(40)], done=lambda b: None, fork=True))
"""
    proc = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(1.5)
    done = list(tmp_path.iterdir())
    child = {p.name.split("-")[0] for p in done}
    assert len(child) == 1 and 2 <= len(done) <= 5, done  # started, then stopped within a batch
    assert not process_running(int(child.pop()))


# ---------------------------------------------------------------- a command line checkout

MANY = {f"data/many/f{i:04}.txt": f"small file {i}\n" for i in range(3000)}


def _pack_holding(repo: GitRepo, data: bytes) -> Path:
    """The pack holding `data` (an add on two processes writes a pack in each)."""
    (pack,) = [p for p in (repo.cache / "packs").glob("*.pack") if data in p.read_bytes()]
    return pack


@pytest.fixture
def many(repo: GitRepo) -> GitRepo:
    repo.write(MANY)
    repo.ga("add", "data/many", "--name", "many", "--type", "dataset")
    repo.commit("many v0")
    return repo


def test_a_checkout_of_thousands_of_files_writes_each_and_records_its_stat(
    many: GitRepo,
) -> None:
    for rel in MANY:
        (many.root / rel).unlink()
    many.ga("checkout", "many:v0")
    assert {
        f"data/many/{p.name}": p.read_text() for p in (many.root / "data/many").iterdir()
    } == MANY
    with sqlite3.connect(many.root / ".git/artifacts/state.db") as db:
        rows = db.execute("SELECT path, digest FROM hashes WHERE path LIKE 'data/many/%'")
        recorded = dict(rows.fetchall())
    assert recorded == {rel: sha(text.encode()) for rel, text in MANY.items()}


def test_a_checkout_into_a_new_folder_records_the_fingerprint_a_walk_finds(repo: GitRepo) -> None:
    """Into a folder that was not there, the fingerprint comes from the stat data the two
    processes took as they wrote: it must be exactly what a stat walk gives, folder order
    and name order included ("b-c" sorts before "b/", "B" before "a"), ignored files out."""
    files = {f"data/t/d{i % 13}/f{i:04}.txt": f"file {i}\n" for i in range(3000)}
    files |= {"data/t/b-c": "1", "data/t/b/x": "2", "data/t/B": "3", "data/t/é/y": "4"}
    files |= {"data/t/d1/skip.tmp": "5"}
    repo.write(files)
    repo.ga("add", "data/t", "--name", "t", "--type", "dataset")
    repo.commit("t v0")
    (repo.root / ".artifactignore").write_text("*.tmp\n")
    shutil.rmtree(repo.root / "data/t")
    repo.ga("checkout", "t")
    base = repo.root / "data/t"
    tops = sorted(os.listdir(base))
    walk = FolderWalk(str(base), tops, "data/t", lambda rel: rel.endswith(".tmp"))
    rows = [row for _, rs in walk for row in rs]
    assert len(rows) == len(files) - 1
    with sqlite3.connect(repo.root / ".git/artifacts/state.db") as db:
        (fingerprint,) = db.execute("SELECT fingerprint FROM snapshots").fetchone()
    assert fingerprint == walk.fingerprint
    assert repo.ga_json("status", "t")[0]["clean"] is True


def test_a_corrupt_object_in_the_forks_share_fails_the_checkout_naming_it(
    many: GitRepo,
) -> None:
    # Batches of 256 files in name order, taken in turn: the second is the first the fork
    # takes (this process would fail the same way on it).
    bad = "data/many/f0300.txt"
    pack = _pack_holding(many, MANY[bad].encode())
    data = bytearray(pack.read_bytes())
    at = data.find(MANY[bad].encode())
    data[at] ^= 0x20
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    for rel in MANY:
        (many.root / rel).unlink()
    proc = many.ga("checkout", "many:v0", rc=5)
    line = stderr_error_line(proc)
    assert line.startswith("error: ") and sha(MANY[bad].encode()) in line, line
    assert not (many.root / bad).exists()
    assert not [p for p in (many.root / "data/many").iterdir() if p.name.startswith(".")]
