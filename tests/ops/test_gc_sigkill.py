"""gc killed with SIGKILL at random points, local and on a folder remote: no referenced object
is lost, and a rerun completes. The long loops are marked `sigkill` (trials from
GITARTIFACTS_TRIALS, default 50); a short variant runs with the slow tests.

The repository (and the folder remote) with its orphans is set up once per test; each trial
kills a gc in a fresh copy of it, after a delay drawn from how long a whole gc of that copy
takes, so the kills fall anywhere from deciding to the last removal."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    age_files,
    clone,
    copy_repo,
    kill_group_after,
    packed_objects,
    sha256_hex,
)

from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import gc_live
from gitartifacts.remote import plan

OLD = 7200.0
WEEK = 8 * 86400.0
ORPHANS = 3000  # enough that removing them takes a while to be killed in


def _repo(origin: Path, tmp_path: Path) -> GitRepo:
    """Three versions of `ds` (200 files, most shared) pushed to folder remote `store`."""
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.ga("init")
    repo.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    repo.write({f"data/ds/f{i}.bin": f"file {i}" for i in range(200)})
    for v in range(3):
        repo.write({"data/ds/changing.bin": f"version {v}"})
        repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
        repo.commit(f"ds v{v}", ".")
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")
    return repo


def _referenced(repo: GitRepo) -> set[str]:
    """Hex names of every object the versions need, computed before any gc."""
    project = Project.open(repo.root)
    refs = project.repo.refs("refs/tags")
    manifests = plan.parse(project, gc_live.manifest_specs(project, refs))
    keep = gc_live.live_objects(project, manifests).keep
    project.close()
    return {d[7:] for d in keep}


def _objects(root: Path) -> set[str]:
    """Loose objects, and on a folder remote those in its packs."""
    loose = {p.parent.name + p.name for p in (root / "sha256").glob("*/*") if len(p.name) == 62}
    return loose | packed_objects(root)


def _orphans(root: Path, trial: int, n: int, age: float) -> set[str]:
    out = set()
    for i in range(n):
        data = f"orphan {trial} {i}".encode()
        h = sha256_hex(data)
        path = root / "sha256" / h[:2] / h[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (time.time() - age,) * 2)
        out.add(h)
    return out


def _trials(repo: GitRepo, root: Path, args: list[str], trials: int, age: float) -> int:
    """Kill `git artifacts gc ARGS` at random points, each time in a fresh copy of `repo`
    (and of `root`, the cache gc works on, when it is outside the repository); after each
    kill every referenced object is still in `root` and a rerun removes every orphan. How
    many trials were cut while removing (some orphans gone, some left)."""
    needed = _referenced(repo)
    orphans = _orphans(root, 0, ORPHANS, age)
    pristine = repo.root.parent / f"pristine-{root.name}"
    copy_repo(repo.root, pristine)
    outside = not root.is_relative_to(repo.root)
    if outside:
        copy_repo(root, root.parent / f"pristine-{root.name}-store")
    duration = _timed_gc(repo, args)
    rng = random.Random(19)
    cut = 0
    for trial in range(trials):
        _restore(pristine, repo.root)
        if outside:
            _restore(root.parent / f"pristine-{root.name}-store", root)
        kill_group_after(["git", "artifacts", "gc", *args], repo.root, rng.uniform(0, duration))
        left = _objects(root)
        assert needed <= left, f"trial {trial}: referenced objects lost"
        cut += bool(orphans & left) and bool(orphans - left)
        repo.ga("gc", *args)
        left = _objects(root)
        assert needed <= left and not orphans & left, f"trial {trial}: the rerun did not complete"
    return cut


def _timed_gc(repo: GitRepo, args: list[str]) -> float:
    """Seconds a whole gc takes in a copy of `repo` as set up (it removes every orphan)."""
    start = time.monotonic()
    repo.ga("gc", *args)
    return time.monotonic() - start


def _restore(pristine: Path, dest: Path) -> None:
    shutil.rmtree(dest)
    copy_repo(pristine, dest)


def _local(repo: GitRepo, trials: int) -> int:
    age_files(repo.cache, OLD)
    return _trials(repo, repo.cache, [], trials, OLD)


def _remote(repo: GitRepo, store: Path, trials: int) -> int:
    age_files(store, WEEK)  # loose objects and packs
    cut = _trials(repo, store, ["--remote", "store"], trials, WEEK)
    # The remote still serves every version: a push works, and a fresh clone gets them all.
    repo.ga("push")
    bob = clone(Path(repo.git("config", "remote.origin.url").strip()), repo.root.parent / "bob")
    for v in range(3):
        bob.ga("get", f"ds:v{v}", "-o", str(repo.root.parent / f"v{v}"))
        assert (repo.root.parent / f"v{v}/changing.bin").read_text() == f"version {v}"
    return cut


@pytest.mark.slow
def test_a_killed_gc_loses_nothing_and_a_rerun_completes(origin: Path, tmp_path: Path) -> None:
    repo = _repo(origin, tmp_path)
    _local(repo, 2)
    _remote(repo, tmp_path / "store", 2)


@pytest.mark.sigkill
@pytest.mark.parametrize("where", ["local", "remote"])
def test_sigkill_loop_gc(where: str, origin: Path, tmp_path: Path) -> None:
    trials = int(os.environ.get("GITARTIFACTS_TRIALS", "50"))
    repo = _repo(origin, tmp_path)
    start = time.monotonic()
    cut = _local(repo, trials) if where == "local" else _remote(repo, tmp_path / "store", trials)
    took = time.monotonic() - start
    print(f"gc {where}: {trials} trials in {took:.0f} s, {cut} killed while removing")
