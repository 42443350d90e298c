"""Checkout of a listing-form version, folder by folder: into an empty tree, switching between
versions that differ in a few folders (only those are written), refused over unsaved edits
with nothing changed, and with --force."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    Template,
    age_files,
    assert_unchanged,
    copy_repo,
    file_digests,
    make_repo,
)

# Over the manifest's inline limit (1000 entries): the entries go into listing objects.
V0 = {f"data/ds/f{d:02}/x{i:03}.txt": f"v0 {d} {i}\n" for d in range(10) for i in range(101)}
V1 = {
    **{p: b for p, b in V0.items() if p != "data/ds/f05/x000.txt"},
    "data/ds/f03/x001.txt": "v1 changed\n",
    "data/ds/f07/x002.txt": "v1 changed too\n",
    "data/ds/f10/new.txt": "a new folder\n",
}
CHANGED = {"f03/x001.txt", "f07/x002.txt", "f05/x000.txt", "f10/new.txt"}


def build(root: Path) -> GitRepo:
    """ds v0 (V0) and v1 (V1: two files changed, one deleted, a folder added), committed;
    the work tree holds v1."""
    repo = make_repo(root)
    repo.write(V0)
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("v0", ".")
    os.unlink(repo.root / "data/ds/f05/x000.txt")
    repo.write({p: V1[p] for p in ("data/ds/f03/x001.txt", "data/ds/f07/x002.txt")})
    repo.write({"data/ds/f10/new.txt": V1["data/ds/f10/new.txt"]})
    age_files(repo.root / "data")
    repo.ga("add", "--name", "ds")
    repo.commit("v1", ".")
    repo.ga("status")
    return repo


@pytest.fixture
def big(tmp_path: Path, template: Template) -> GitRepo:
    return copy_repo(template("listing-checkout", build), tmp_path / "repo")


def contents(repo: GitRepo) -> dict[str, str]:
    base = repo.root / "data"
    return {
        str(p.relative_to(repo.root)): p.read_text(encoding="utf-8")
        for p in base.rglob("*")
        if p.is_file()
    }


def inodes(repo: GitRepo) -> dict[str, int]:
    base = repo.root / "data/ds"
    return {str(p.relative_to(base)): p.stat().st_ino for p in base.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_fresh_checkout_of_a_listing_writes_every_file(big: GitRepo) -> None:
    assert "listing" in big.manifest("ds") and "entries" not in big.manifest("ds")
    shutil.rmtree(big.root / "data")
    big.ga("checkout", "ds")
    assert contents(big) == V1
    assert "up to date" in big.ga("status", "ds").stdout


@pytest.mark.slow
def test_switch_writes_only_the_folders_that_differ(big: GitRepo) -> None:
    before = inodes(big)
    big.ga("checkout", "ds:v0")
    assert contents(big) == V0
    after = inodes(big)
    assert not (big.root / "data/ds/f10").exists()  # emptied by the switch: removed
    same = {p for p in before if p not in CHANGED}
    assert {p: after[p] for p in same} == {p: before[p] for p in same}
    assert after["f03/x001.txt"] != before["f03/x001.txt"]
    big.ga("checkout", "ds:v1")
    assert contents(big) == V1
    assert "up to date" in big.ga("status", "ds").stdout


@pytest.mark.slow
def test_unsaved_edit_refuses_the_switch_and_changes_nothing(big: GitRepo) -> None:
    big.write({"data/ds/f03/x001.txt": "edited, not saved\n", "data/ds/f10/mine.txt": "mine\n"})
    snap = big.snapshot()
    proc = big.ga("checkout", "ds:v0", rc=None)
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: would overwrite or delete local changes")
    assert "data/ds/f03/x001.txt" in err[0] and "data/ds/f10/mine.txt" in err[0]
    assert_unchanged(snap, big.snapshot())


@pytest.mark.slow
def test_force_replaces_unsaved_edits(big: GitRepo) -> None:
    big.write({"data/ds/f03/x001.txt": "edited, not saved\n"})
    os.unlink(big.root / "data/ds/f01/x005.txt")
    big.ga("checkout", "--force", "ds:v0")
    assert contents(big) == V0
    assert len(file_digests(big.root / "data/ds")) == len(V0)
    status = big.ga("status", "ds").stdout.splitlines()
    assert status == ["ds (dataset, v0):", "  manifest staged, not committed (git commit it)"]


def test_a_checkout_from_a_whole_cache_asks_nothing_and_one_missing_object_is_fetched(
    big: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitartifacts.gitmodel.project import Project
    from gitartifacts.ops import checkout as ops_checkout
    from gitartifacts.remote import transfer

    big.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    big.ga("push")
    want = file_digests(big.root / "data")
    asked: list[list[str]] = []
    fetch_for = transfer.fetch_for

    def noting(project: Project, manifests: list, **kw: object) -> object:
        asked.append([m.name for m in manifests])
        return fetch_for(project, manifests, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(transfer, "fetch_for", noting)
    shutil.rmtree(big.root / "data")
    project = Project.open(big.root)
    try:
        ops_checkout.checkout(project)
        assert asked == [[]]  # no walk over the version's objects to find what is missing
        assert file_digests(big.root / "data") == want
        # One object gone from the cache (evicted): the checkout fetches it, then writes.
        os.unlink(big.root / "data/ds/f03/x001.txt")
        m = project.read_manifest("ds")
        assert m is not None
        _drop(project, project.load_entries(m)["f03/x001.txt"].digest)
        ops_checkout.checkout(project)
        assert asked[1:] == [[], ["ds"]]
        assert file_digests(big.root / "data") == want
    finally:
        project.close()


def _drop(project: object, digest: str) -> None:
    """Take one object out of the local cache, loose or packed (its pack goes whole)."""
    cache = project.cache  # type: ignore[attr-defined]
    where = cache.packs.find(digest)
    if where is None:
        os.unlink(cache.spath(digest))
        return
    for path in (cache.packs.index_path(where.pack), cache.packs.pack_path(where.pack)):
        os.unlink(path)
    cache.packs.forget(where.pack)
    assert cache.missing([digest]) == [digest]
