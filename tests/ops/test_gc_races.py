"""gc racing writers: `add`, `pull` and a run logging a version, each reusing old objects that
nothing named when the gc listed the cache, lose nothing (see core/cachelock).

The two orders that lost objects before are forced first, with the cache's lock held by the
test: a gc that listed an object as garbage and waits to remove it while a writer reuses it
(the writer renews it: the gc keeps it), and a writer that found an object cached and waits
while the object is removed (the writer stores it again). Then loops of real races: old
unreferenced objects in the cache hold exactly the bytes the writer is about to store, a gc
starts, and the writer starts at a random point of the gc's run. After them every version's
objects are in the cache and hash to their names.
"""

from __future__ import annotations

import glob
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import GitRepo, age_files, assert_cache_sound, clone, sha256_hex, stored_objects

from gitartifacts.core import cachelock, sweep
from gitartifacts.errors import CacheError
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import gc_live
from gitartifacts.remote import plan

OLD = 7200.0  # older than the default grace (1h)
FILES = 150  # reused objects per trial
JUNK = 3000  # other old orphans: the gc's removals take long enough to race
TRIALS = 5

_LOG_RUN = """
import sys
import gitartifacts as ga
with ga.init(job_type="train") as run:
    run.log_artifact(sys.argv[1], name="model", type="model")
"""


def _contents(kind: str, trial: int) -> dict[str, str]:
    return {f"f{i}.bin": f"{kind} {trial} {i}\n" for i in range(FILES)}


def _plant(cache: Path, contents: list[str]) -> set[str]:
    """Old objects nobody names holding `contents`; their hex names."""
    out = set()
    for text in contents:
        h = sha256_hex(text.encode())
        path = cache / "sha256" / h[:2] / h[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        os.chmod(path, 0o444)
        os.utime(path, (time.time() - OLD,) * 2)
        out.add(h)
    return out


def _needed(repo: GitRepo) -> set[str]:
    """Hex names of every object the version tags and the work tree's manifests need."""
    project = Project.open(repo.root)
    refs = project.repo.refs("refs/tags", "refs/heads")
    manifests = plan.parse(project, gc_live.manifest_specs(project, refs))
    keep = gc_live.live_objects(project, manifests).keep
    project.close()
    return {d[7:] for d in keep}


def _cached(repo: GitRepo) -> set[str]:
    return set(stored_objects(repo.cache))


def _gc_duration(repo: GitRepo) -> float:
    _plant(repo.cache, [f"junk timing {i}" for i in range(JUNK)])
    start = time.monotonic()
    repo.ga("gc")
    return time.monotonic() - start


def _race(repo: GitRepo, writer: Callable[[int], None], seed: int) -> None:
    """TRIALS times: a gc (default grace) and `writer(trial)` started at a random point of
    it; afterwards every object a version needs is in the cache."""
    rng = random.Random(seed)
    duration = _gc_duration(repo)
    for trial in range(TRIALS):
        _plant(repo.cache, [f"junk {trial} {i}" for i in range(JUNK)])
        gc = subprocess.Popen(
            ["git", "artifacts", "gc"],
            cwd=repo.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        writer(trial)
        _, err = gc.communicate(timeout=120)
        assert gc.returncode == 0, err
        lost = _needed(repo) - _cached(repo)
        assert not lost, f"trial {trial}: {len(lost)} objects a version needs were removed"
    assert_cache_sound(repo.cache)


def _waiting_on(cache: Path, deadline: float = 60.0) -> None:
    """Return once another process waits for the cache's lock: it holds the cache's folder
    open (the lock is an flock on it), which nothing else does, while the test holds the
    lock against it."""
    target = os.path.realpath(cache)
    me = f"/proc/{os.getpid()}/"
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for fd in glob.glob("/proc/[0-9]*/fd/*"):
            try:
                if not fd.startswith(me) and os.readlink(fd) == target:
                    return
            except OSError:
                continue  # gone meanwhile, or not ours to read
        time.sleep(0.05)
    raise AssertionError("nothing came to wait for the cache's lock")


def _add_files(repo: GitRepo, kind: str) -> tuple[dict[str, str], set[str]]:
    files = _contents(kind, 0)
    repo.write({f"data/ds/{k}": v for k, v in files.items()})
    return files, _plant(repo.cache, list(files.values()))


def test_a_gc_that_listed_an_object_keeps_it_once_an_add_reused_it(repo: GitRepo) -> None:
    _, reused = _add_files(repo, "listed")
    with cachelock.held(repo.cache, exclusive=False):
        gc = subprocess.Popen(["git", "artifacts", "gc", "--json"], cwd=repo.root, stdout=-1)
        _waiting_on(repo.cache)  # listed: the objects are garbage to it, it waits to remove
        repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    out, _ = gc.communicate(timeout=60)
    assert gc.returncode == 0
    assert reused <= _cached(repo)
    assert b'"removed": 0' in out
    repo.ga("verify", "ds")


def test_an_add_stores_again_an_object_a_gc_removed_after_the_add_found_it(
    repo: GitRepo,
) -> None:
    _, reused = _add_files(repo, "removed")
    with cachelock.held(repo.cache, exclusive=True):
        add = subprocess.Popen(
            ["git", "artifacts", "add", "data/ds", "--name", "ds", "--type", "dataset"],
            cwd=repo.root,
        )
        _waiting_on(repo.cache)  # hashed: it found every object cached, it waits to renew
        for h in reused:
            assert sweep.remove(str(repo.cache), "sha256:" + h)
    assert add.wait(timeout=60) == 0
    assert reused <= _cached(repo)
    repo.ga("verify", "ds")


def test_a_fetch_downloads_again_an_object_a_gc_removed_meanwhile(
    origin: Path, tmp_path: Path
) -> None:
    alice, bob = _pair(origin, tmp_path)
    files = _contents("fetch", 0)
    _bob_pushes(bob, files, 0)
    reused = _plant(alice.cache, list(files.values()))
    alice.git("pull", "-q", "--ff-only")
    with cachelock.held(alice.cache, exclusive=True):
        pull = subprocess.Popen(["git", "artifacts", "pull"], cwd=alice.root)
        _waiting_on(alice.cache)
        for h in reused:
            assert sweep.remove(str(alice.cache), "sha256:" + h)
    assert pull.wait(timeout=60) == 0
    assert reused <= _cached(alice)
    alice.ga("verify", "ds")


def test_a_run_logging_a_version_stores_again_an_object_a_gc_removed(repo: GitRepo) -> None:
    script = repo.root.parent / "log_run.py"
    script.write_text(_LOG_RUN)
    out = repo.root.parent / "out"
    out.mkdir()
    files = _contents("logged", 0)
    for k, v in files.items():
        (out / k).write_text(v)
    reused = _plant(repo.cache, list(files.values()))
    with cachelock.held(repo.cache, exclusive=True):
        run = subprocess.Popen([sys.executable, str(script), str(out)], cwd=repo.root)
        _waiting_on(repo.cache)
        for h in reused:
            assert sweep.remove(str(repo.cache), "sha256:" + h)
    assert run.wait(timeout=60) == 0
    assert reused <= _cached(repo) and reused <= _needed(repo)


def test_a_wait_for_the_cache_lock_ends_at_its_deadline_with_one_line(repo: GitRepo) -> None:
    with cachelock.held(repo.cache, exclusive=True):
        t0 = time.monotonic()
        with (
            pytest.raises(CacheError) as err,
            cachelock.held(repo.cache, exclusive=False, wait=0.3),
        ):
            pytest.fail("the lock was taken while another holder had it")
        assert 0.3 <= time.monotonic() - t0 < 5
    assert "\n" not in str(err.value) and "stayed locked for 0 s" in str(err.value)
    with cachelock.held(repo.cache, exclusive=False, wait=0.3):
        pass  # free again once released


@pytest.mark.slow
def test_gc_racing_add_loses_nothing(repo: GitRepo) -> None:
    def add(trial: int) -> None:
        files = _contents("add", trial)
        _plant(repo.cache, list(files.values()))
        repo.write({f"data/ds/{k}": v for k, v in files.items()})
        repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
        repo.commit(f"ds {trial}", ".")

    _race(repo, add, 1)
    repo.ga("status")  # tags the last commit's version
    assert len([t for t in repo.tags() if t.startswith("artifacts/ds/v")]) == TRIALS
    repo.ga("verify", "ds")


@pytest.mark.slow
def test_gc_racing_pull_loses_nothing(origin: Path, tmp_path: Path) -> None:
    alice, bob = _pair(origin, tmp_path)

    def pull(trial: int) -> None:
        files = _contents("pull", trial)
        _bob_pushes(bob, files, trial)
        _plant(alice.cache, list(files.values()))
        alice.git("pull", "-q", "--ff-only")
        alice.ga("pull")
        got = {p.name: p.read_text() for p in (alice.root / "data/ds").iterdir()}
        assert got == files

    _race(alice, pull, 2)
    alice.ga("verify", "ds")


@pytest.mark.slow
def test_gc_racing_a_run_logging_a_version_loses_nothing(repo: GitRepo) -> None:
    script = repo.root.parent / "log_run.py"
    script.write_text(_LOG_RUN)
    age_files(repo.cache, OLD)

    def log(trial: int) -> None:
        files = _contents("run", trial)
        out = repo.root.parent / f"out{trial}"
        out.mkdir()
        for k, v in files.items():
            (out / k).write_text(v)
        _plant(repo.cache, list(files.values()))
        proc = subprocess.run(
            [sys.executable, str(script), str(out)],
            cwd=repo.root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr

    _race(repo, log, 3)
    assert len([t for t in repo.tags() if t.startswith("artifacts/model/v")]) == TRIALS


def _pair(origin: Path, tmp_path: Path) -> tuple[GitRepo, GitRepo]:
    """alice and bob, clones of `origin` sharing folder remote `store`."""
    bob = clone(origin, tmp_path / "bob")
    bob.commit("initial")
    bob.ga("init")
    bob.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    bob.commit("init", ".")
    bob.git("push", "-q", "origin", "main")
    alice = clone(origin, tmp_path / "alice")
    alice.ga("status")  # makes the cache folder
    alice.cache.mkdir(parents=True, exist_ok=True)
    return alice, bob


def _bob_pushes(bob: GitRepo, files: dict[str, str], trial: int) -> None:
    bob.write({f"data/ds/{k}": v for k, v in files.items()})
    bob.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    bob.commit(f"ds {trial}", ".")
    bob.git("push", "-q", "origin", "main")
    bob.ga("push")
