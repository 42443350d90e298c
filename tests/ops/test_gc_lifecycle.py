"""gc honours deletions and expiry: a deleted version's content goes from the local cache at
once, and from a remote cache only once the deletion is published."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GitRepo, age_files, cache_objects, clone, packed_objects, sha256_hex

WEEK = 8 * 86400


def _remote_objects(store: Path) -> set[str]:
    loose = {p.parent.name + p.name for p in (store / "sha256").glob("*/*") if len(p.name) == 62}
    return loose | packed_objects(store)


def test_local_gc_collects_a_deleted_version_and_keeps_the_rest(repo: GitRepo) -> None:
    repo.write({"data/ds/a.txt": "old", "data/ds/b.txt": "same"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0", ".artifacts")
    repo.write({"data/ds/a.txt": "new"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v1", ".artifacts")
    age_files(repo.cache, 7200)
    assert repo.ga_json("gc", "--dry-run")["removed"] == 0  # v0 still exists: its bytes stay
    repo.ga("delete", "ds:v0")
    assert repo.ga_json("gc")["removed"] == 1
    left = set(cache_objects(repo.cache))
    assert sha256_hex(b"old") not in left
    assert {sha256_hex(b"new"), sha256_hex(b"same")} <= left
    out = repo.root.parent / "out"
    repo.ga("get", "ds:v1", "-o", str(out))
    assert (out / "a.txt").read_text() == "new"


@pytest.mark.slow
def test_remote_gc_collects_a_deletion_only_once_it_is_published(
    origin: Path, tmp_path: Path
) -> None:
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.ga("init")
    store = tmp_path / "store"
    repo.ga("remote", "add", "store", str(store), "--default")
    for n, data in enumerate((b"A" * 100, b"B" * 100)):
        repo.write({"data/ds/a.bin": data, "data/ds/b.bin": b"same"})
        repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
        repo.commit(f"ds v{n}", ".")
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")
    age_files(store, WEEK)
    repo.ga("delete", "ds:v0")
    repo.ga("gc", "--remote", "store")
    assert sha256_hex(b"A" * 100) in _remote_objects(store)  # the deletion is only ours so far
    repo.ga("push")  # publishes the deletion with the notes
    repo.ga("gc", "--remote", "store")
    left = _remote_objects(store)
    assert sha256_hex(b"A" * 100) not in left
    assert {sha256_hex(b"B" * 100), sha256_hex(b"same")} <= left
    fresh = clone(origin, tmp_path / "bob")
    fresh.ga("init")
    fresh.ga("remote", "add", "store", str(store), "--default", "--local", "-f")
    fresh.ga("pull")
    assert (fresh.root / "data/ds/a.bin").read_bytes() == b"B" * 100
    assert "deleted" in fresh.ga("get", "ds:v0", "-o", str(tmp_path / "x"), rc=None).stderr


def test_local_gc_keeps_what_run_records_name(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gitartifacts as ga

    monkeypatch.chdir(repo.root)
    with ga.init(job_type="train") as run:
        for step in range(3):
            run.log({"loss": 1.0 / (step + 1)})
        run_id = run.id
    age_files(repo.cache, 7200)
    history = ga.Api(repo.root).run(run_id)._history
    removed = repo.ga_json("gc", "--grace", "0s")
    assert isinstance(history, str) and history.startswith("sha256:")
    assert history[7:] in set(cache_objects(repo.cache)), removed
    rows = ga.Api(repo.root).run(run_id).history(pandas=False)
    assert [round(r["loss"], 3) for r in rows] == [1.0, 0.5, 0.333]
