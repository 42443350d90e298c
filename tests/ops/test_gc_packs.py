"""gc of a remote's packs: a mostly dead pack is repacked keeping every live object, a dead
one is removed (index first), a pack with no index goes once old; the grace period and
--dry-run hold as for loose objects."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import GitRepo, clone, file_digests

from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import gc_remote
from gitartifacts.remote import packs
from gitartifacts.remote.store import RemoteStore

FILES = 40


def _version(repo: GitRepo, files: dict[str, str], message: str) -> None:
    repo.write(files)
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit(message, ".")
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")


def _packs(store: Path) -> dict[str, int]:
    """Pack name -> number of objects its index lists."""
    remote = RemoteStore(str(store))
    return {i.pack: i.count for i in remote.packs.view().indexes}


def _gc(repo: GitRepo, gone: set[tuple[str, int]], **kw: object) -> gc_remote.GcResult:
    project = Project.open(repo.root)
    try:
        return gc_remote.collect_remote(project, "store", gone=gone, **kw)  # type: ignore[arg-type]
    finally:
        project.close()


@pytest.mark.slow
def test_gc_repacks_a_mostly_dead_pack_and_drops_a_dead_one(origin: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    alice = clone(origin, tmp_path / "alice")
    alice.commit("initial")
    alice.ga("init")
    alice.ga("remote", "add", "store", str(store), "--default")
    v0 = {f"data/ds/f{i:02}.txt": f"v0 file {i}\n" * 20 for i in range(FILES)}
    _version(alice, v0, "v0")
    (first,) = _packs(store)
    # v1 keeps 8 of v0's files: their pack is 20% live once v0 is deleted.
    v1 = {f"data/ds/f{i:02}.txt": f"v1 file {i}\n" * 20 for i in range(8, FILES)}
    _version(alice, v1, "v1")
    assert len(_packs(store)) == 2

    young = _gc(alice, {("ds", 0)})  # the default grace: every pack is young
    assert young.removed == 0 and len(_packs(store)) == 2
    dry = _gc(alice, {("ds", 0)}, grace=0, dry_run=True)
    assert (dry.removed, dry.dry_run) == (FILES - 8, True) and len(_packs(store)) == 2
    done = _gc(alice, {("ds", 0)}, grace=0)
    assert done.removed == FILES - 8
    after = _packs(store)
    assert first not in after and sorted(after.values()) == [8, FILES - 8]
    assert not (store / "packs" / f"{first}.pack").exists()
    kept = {p.name for p in (alice.root / ".git/artifacts/packidx").glob("*/*.idx")}
    assert f"{first}.idx" not in kept and kept & {f"{n}.idx" for n in after}
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")

    # v2 replaces every file: once v1 is deleted too, both packs hold nothing live.
    v2 = {f"data/ds/f{i:02}.txt": f"v2 file {i}\n" * 20 for i in range(FILES)}
    _version(alice, v2, "v2")
    done = _gc(alice, {("ds", 0), ("ds", 1)}, grace=0)
    assert done.removed == FILES and len(_packs(store)) == 1
    assert len(list((store / "packs").iterdir())) == 2  # the one pack left and its index
    carol = clone(origin, tmp_path / "carol")
    carol.ga("pull")
    assert file_digests(carol.root / "data") == file_digests(alice.root / "data")


@pytest.mark.slow
def test_gc_removes_an_old_pack_with_no_index_and_keeps_a_young_one(
    origin: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    alice = clone(origin, tmp_path / "alice")
    alice.commit("initial")
    alice.ga("init")
    alice.ga("remote", "add", "store", str(store), "--default")
    _version(alice, {f"data/ds/f{i}.txt": f"file {i}" for i in range(10)}, "v0")
    old, young = store / "packs" / f"{'a' * 64}.pack", store / "packs" / f"{'b' * 64}.pack"
    for stray in (old, young):
        stray.write_bytes(b"half of a pack whose upload was killed")
    os.utime(old, (time.time() - 8 * 86400,) * 2)
    _gc(alice, set())
    assert not old.exists() and young.exists()
    assert len(packs.list_packs(RemoteStore(str(store))).indexes) == 1  # alice's pack stays
