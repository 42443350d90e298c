"""A stream of batches shared with a fork (`forkstream.streamed`), and a command line add
whose hashing is shared so: results in order, the fork's pack sealed before the add names
its objects, failures and deaths of either process seen whole."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import GitRepo, make_repo, process_running

from gitartifacts.core import forked, forkstream
from gitartifacts.core.objecterrors import CorruptObjectError
from gitartifacts.core.workspace.scan import FolderWalk
from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import add as ops_add
from gitartifacts.ops import add_walk

WORK = [(i, [i, i + 1]) for i in range(0, 120, 2)]  # (kept, work)


def _pids(batch: list[int]) -> list[tuple[int, int]]:
    return [(x, os.getpid()) for x in batch]


def _stream(
    fn: Callable[[list[int]], object],
    batches: object = WORK,
    fork: bool = True,
    setup: Callable[[], None] = lambda: None,
    finish: Callable[[], None] = lambda: None,
) -> Iterator[tuple[int, object]]:
    return forkstream.streamed(fn, batches, setup=setup, finish=finish, fork=fork)  # type: ignore[arg-type]


def _slow_pids(batch: list[int]) -> list[tuple[int, int]]:
    time.sleep(0.002)  # long enough that the fork gets its share
    return _pids(batch)


def test_results_come_in_order_each_batch_once_shared_with_a_fork() -> None:
    out = list(_stream(_slow_pids))
    assert [kept for kept, _ in out] == [kept for kept, _ in WORK]
    for (_, result), (_, work) in zip(out, WORK, strict=True):
        assert [x for x, _ in result] == work  # type: ignore[attr-defined]
    pids = {pid for _, result in out for _, pid in result}  # type: ignore[attr-defined]
    assert os.getpid() in pids and len(pids) == 2


def test_a_slow_caller_keeps_the_fork_fed_and_hashes_nothing_itself() -> None:
    """The caller's work on each result (a listing, stat rows) is where the fork ran dry
    when it was fed only between results; now it is topped up before each one, and this
    process does a batch itself only when it has nothing to pass on."""
    ran: list[int] = []
    for _, result in _stream(_pids, [(i, [i]) for i in range(200)]):
        ran.append(result[0][1])  # type: ignore[index]
        time.sleep(0.003)  # the caller's work on a result: the fork's are in by then
    first = next(i for i, pid in enumerate(ran) if pid != os.getpid())
    steady = ran[first + 2 * forkstream.HELD :]  # after the fork got going
    assert len(steady) > 100 and steady.count(os.getpid()) <= 1, ran


def test_empty_work_few_batches_or_no_fork_stay_here(monkeypatch: pytest.MonkeyPatch) -> None:
    few = WORK[: forkstream.START_AFTER]
    empty = [(i, []) for i in range(50)]
    for batches, fork in ((few, True), (empty, True), (WORK, False)):
        out = list(_stream(_pids, batches, fork))
        assert len(out) == len(batches)
        assert {pid for _, result in out for _, pid in result} <= {os.getpid()}  # type: ignore[attr-defined]
    monkeypatch.setattr(forked, "ALLOWED", False)  # the API's process: never forked
    out = list(forkstream.streamed(_slow_pids, WORK, setup=lambda: None, finish=lambda: None))
    assert {pid for _, result in out for _, pid in result} == {os.getpid()}  # type: ignore[attr-defined]


def test_where_no_fork_can_be_made_all_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    fds = len(os.listdir("/proc/self/fd"))
    out = list(_stream(_slow_pids))
    assert len(out) == len(WORK)
    assert {pid for _, result in out for _, pid in result} == {os.getpid()}  # type: ignore[attr-defined]
    assert len(os.listdir("/proc/self/fd")) == fds


def test_setup_runs_in_the_fork_first_and_finish_after_its_last_batch(tmp_path: Path) -> None:
    log = tmp_path / "log"

    def note(what: str) -> Callable[[], None]:
        def write() -> None:
            with log.open("a") as f:
                f.write(f"{what} {os.getpid()}\n")

        return write

    def fn(batch: list[int]) -> list[tuple[int, int]]:
        note(f"batch{batch[0]}")()
        return _slow_pids(batch)

    out = list(_stream(fn, setup=note("setup"), finish=note("finish")))
    child = {pid for _, result in out for _, pid in result} - {os.getpid()}  # type: ignore[attr-defined]
    (pid,) = child
    lines = [line.split() for line in log.read_text().splitlines()]
    theirs = [what for what, p in lines if int(p) == pid]
    assert theirs[0] == "setup" and theirs[-1] == "finish"
    assert theirs.count("finish") == 1 and len(theirs) > 3
    assert all(what.startswith("batch") for what, p in lines if int(p) == os.getpid())


def test_a_failure_in_the_fork_or_its_finish_arrives_whole() -> None:
    parent = os.getpid()

    def fn(batch: list[int]) -> list[int]:
        if os.getpid() != parent:
            raise CorruptObjectError("object sha256:ab is corrupt", "run git artifacts pull")
        time.sleep(0.002)
        return batch

    with pytest.raises(CorruptObjectError) as info:
        list(_stream(fn))
    assert str(info.value) == "object sha256:ab is corrupt (run git artifacts pull)"
    assert info.value.exit_code == 5

    def finish() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        list(_stream(_slow_pids, finish=finish))


def test_a_killed_fork_is_an_error_not_a_silent_half() -> None:
    parent = os.getpid()

    def fn(batch: list[int]) -> list[int]:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.002)
        return batch

    with pytest.raises(GitArtifactsError, match="ended unfinished"):
        list(_stream(fn))


def test_a_failure_here_stops_the_fork_at_once(tmp_path: Path) -> None:
    pid_file = tmp_path / "child"
    parent = os.getpid()
    last_sent = 2 * (forkstream.START_AFTER + forkstream.AHEAD)

    def fn(batch: list[int]) -> list[int]:
        if os.getpid() != parent:
            pid_file.write_text(str(os.getpid()))
            time.sleep(5)
        elif batch[0] > last_sent:
            deadline = time.monotonic() + 2
            while not pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.01)  # the fork is at work on its share
            raise KeyboardInterrupt
        return batch

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        list(_stream(fn))
    assert time.monotonic() - started < 4
    with pytest.raises(ProcessLookupError):  # ended and reaped: no zombie either
        os.kill(int(pid_file.read_text()), 0)


def test_a_stream_left_early_stops_the_fork() -> None:
    stream = _stream(_slow_pids)
    pids: set[int] = set()
    for _, result in stream:
        pids |= {pid for _, pid in result}  # type: ignore[attr-defined]
        if len(pids) == 2:
            break
    stream.close()  # type: ignore[attr-defined]
    (child,) = pids - {os.getpid()}
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_an_orphaned_fork_ends_without_its_finish(tmp_path: Path) -> None:
    script = f"""
import os, signal, time
from pathlib import Path
from gitartifacts.core import forkstream
parent = os.getpid()
def fn(batch):
    if os.getpid() == parent and batch[0] > 40:
        os.kill(parent, signal.SIGKILL)
    time.sleep(0.01)
    return batch
def finish():
    Path({str(tmp_path)!r}, "finished").touch()
def setup():
    Path({str(tmp_path)!r}, str(os.getpid())).touch()
work = [(i, [i]) for i in range(200)]
for _ in forkstream.streamed(fn, work, setup=setup, finish=finish, fork=True):
    pass
"""
    proc = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    (child,) = [p for p in tmp_path.iterdir() if p.name.isdigit()]
    while process_running(int(child.name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_running(int(child.name))
    assert not (tmp_path / "finished").exists()


# ---------------------------------------------------------------- a command line add

MANY = {f"data/many/d{i % 7}/f{i:04}.txt": f"small file {i}\n" for i in range(4000)}


def test_a_command_line_add_shares_its_hashing_and_names_what_the_api_names(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write(MANY)
    repo.ga("add", "data/many", "--name", "many", "--type", "dataset")
    packs = sorted((repo.cache / "packs").glob("*.idx"))
    assert len(packs) == 2  # one written by each process, both sealed before the manifest
    # The same files added through the API (one process) give the same manifest.
    api = make_repo(tmp_path / "api")
    api.write(MANY)
    ops_add.add(Project.open(api.root), [str(api.root / "data/many")], name="many", type="dataset")
    assert api.manifest_text("many") == repo.manifest_text("many")
    repo.ga("verify", "many")


def test_a_first_add_records_the_stat_data_a_walk_finds(repo: GitRepo) -> None:
    """The first add stats each file as it reads it, in either process: the stat cache and
    the work tree's fingerprint must be exactly what a stat walk gives."""
    repo.write(MANY)
    repo.ga("add", "data/many", "--name", "many", "--type", "dataset")
    base = repo.root / "data/many"
    walk = FolderWalk(str(base), sorted(os.listdir(base)), "data/many")
    expected = {
        f"data/many/{folder}/{name}" if folder else f"data/many/{name}": (ino, mt, size, ct)
        for folder, rows in walk
        for name, ino, mt, size, ct in rows
    }
    with sqlite3.connect(repo.root / ".git/artifacts/state.db") as db:
        rows = db.execute("SELECT path, ino, mtime_ns, size, ctime_ns FROM hashes").fetchall()
        (fingerprint,) = db.execute("SELECT fingerprint FROM snapshots").fetchone()
    assert {path: tuple(key) for path, *key in rows} == expected
    assert fingerprint == walk.fingerprint


def test_a_bad_name_among_thousands_refuses_the_add_before_anything_is_stored(
    repo: GitRepo,
) -> None:
    repo.write(MANY | {"data/many/d3/bad\\name.txt": "x"})
    before = sorted(p for p in repo.cache.rglob("*") if p.is_file())
    proc = repo.ga("add", "data/many", "--name", "many", "--type", "dataset", rc=2)
    assert "invalid file name under data/many 'd3/bad\\\\name.txt'" in proc.stderr
    assert sorted(p for p in repo.cache.rglob("*") if p.is_file()) == before
    assert not (repo.root / ".artifacts/many.yaml").exists()


@pytest.mark.parametrize(("mean", "packs"), [(64 * 1024, 2), (1024, 1)])
def test_only_many_small_files_are_hashed_on_two_processes(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, mean: int, packs: int
) -> None:
    """Fewer or larger files keep the stat walk and the threads (a names-only walk cannot
    cut batches by bytes, and large files keep threads busy)."""
    monkeypatch.setattr(forked, "ALLOWED", True)
    monkeypatch.setattr(forked, "CAN_FORK", True)
    monkeypatch.setattr(add_walk, "SHARED_MEAN", mean)
    files = {f"data/many/d{i % 3}/f{i:04}.bin": bytes([i % 251]) * 2000 for i in range(3000)}
    repo.write(files)
    ops_add.add(Project.open(repo.root), [str(repo.root / "data/many")], name="many", type="x")
    assert len(list((repo.cache / "packs").glob("*.idx"))) == packs
    repo.ga("verify", "many")
