"""gc of a remote cache: only what the git remote's published refs name survives, after a grace
period; a push racing a gc loses nothing."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from helpers import (
    GitRepo,
    age_files,
    clone,
    file_digests,
    packed_objects,
    sha256_hex,
    stderr_error_line,
)
from servers import Bucket

from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import gc_remote

WEEK = 8 * 86400


def _published(origin: Path, tmp_path: Path) -> GitRepo:
    """alice: `ds` v0 (a.bin = A) and v1 (a.bin = B), both pushed to folder remote `store`."""
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.ga("init")
    repo.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    repo.write({"data/ds/a.bin": b"A" * 100, "data/ds/b.bin": b"same"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0", ".")
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")
    repo.write({"data/ds/a.bin": b"B" * 100})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v1", ".")
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")
    return repo


def _remote_objects(store: Path) -> set[str]:
    loose = {p.parent.name + p.name for p in (store / "sha256").glob("*/*") if len(p.name) == 62}
    return loose | packed_objects(store)


def _orphan(store: Path, data: bytes, age: float) -> str:
    h = sha256_hex(data)
    path = store / "sha256" / h[:2] / h[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (time.time() - age,) * 2)
    return h


def test_remote_gc_keeps_what_the_published_refs_name(origin: Path, tmp_path: Path) -> None:
    alice = _published(origin, tmp_path)
    store = tmp_path / "store"
    age_files(store, WEEK)  # loose objects and packs
    old = _orphan(store, b"orphan, old", WEEK)
    young = _orphan(store, b"orphan, young", 60)
    alice.git("tag", "-d", "artifacts/ds/v0")  # only here: the remote still publishes v0
    before = _remote_objects(store)
    dry = alice.ga_json("gc", "--remote", "store", "--dry-run")
    assert (dry["removed"], dry["remote"], dry["dry_run"]) == (1, "store", True)
    assert _remote_objects(store) == before
    assert "removed 1 object" in alice.ga("gc", "--remote", "store").stdout
    assert _remote_objects(store) == before - {old}
    assert young in _remote_objects(store) and sha256_hex(b"A" * 100) in _remote_objects(store)
    # v0 deleted: its content goes; v1's stays and a fresh clone gets it byte-exact.
    project = Project.open(alice.root)
    done = gc_remote.collect_remote(project, "store", gone={("ds", 0)})
    project.close()
    assert done.removed == 1 and sha256_hex(b"A" * 100) not in _remote_objects(store)
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    alice.write({"data/ds/a.bin": b"A" * 100})  # v0's content again: pushed again in full
    alice.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    alice.commit("ds v2", ".")
    alice.ga("push")
    assert sha256_hex(b"A" * 100) in _remote_objects(store)


def test_remote_gc_of_an_unknown_remote_is_one_line(origin: Path, tmp_path: Path) -> None:
    alice = _published(origin, tmp_path)
    store = tmp_path / "store"
    _orphan(store, b"orphan", WEEK)
    before = _remote_objects(store)
    proc = alice.ga("gc", "--remote", "nope", rc=2)
    assert (
        stderr_error_line(proc) == "error: no remote named 'nope' (see git artifacts remote list)"
    )
    proc = alice.ga("gc", "--remote", "store", "--grace", "-5d", rc=2)
    assert "is not a duration" in stderr_error_line(proc)
    assert _remote_objects(store) == before


@pytest.mark.slow
def test_a_push_racing_a_remote_gc_loses_nothing(origin: Path, tmp_path: Path) -> None:
    alice = _published(origin, tmp_path)
    store = tmp_path / "store"
    orphans = {_orphan(store, f"orphan {i}".encode(), WEEK) for i in range(200)}
    gcs = [
        subprocess.Popen(
            ["git", "artifacts", "gc", "--remote", "store", "--grace", "1h"],
            cwd=alice.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    ]
    for i in range(3):
        alice.write({f"data/ds/new{i}.bin": os.urandom(5000)})
        alice.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
        alice.commit(f"ds v{i + 2}", ".")
        alice.git("push", "-q", "origin", "main")
        gcs.append(
            subprocess.Popen(
                ["git", "artifacts", "gc", "--remote", "store", "--grace", "1h"],
                cwd=alice.root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        # A push that overlaps a removing gc may fail (the remote's identity changed): again.
        if alice.ga("push", rc=None).returncode != 0:
            alice.ga("push")
    for proc in gcs:
        proc.wait(timeout=120)
    alice.ga("push")
    alice.ga("gc", "--remote", "store", "--grace", "1h")
    assert not orphans & _remote_objects(store)
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    for n in range(5):
        bob.ga("get", f"ds:v{n}", "-o", str(tmp_path / f"v{n}"))


@pytest.mark.slow
def test_remote_gc_on_s3_removes_old_unnamed_objects_only(
    origin: Path, tmp_path: Path, s3_bucket: Bucket
) -> None:
    alice = clone(origin, tmp_path / "alice")
    alice.commit("initial")
    alice.ga("init")
    url = f"{s3_bucket.url}/cache"
    alice.ga("remote", "add", "s3", url, "--default", "--endpoint-url", s3_bucket.endpoint)
    alice.write({"data/ds/a.bin": b"kept"})
    alice.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    alice.commit("ds v0", ".")
    alice.git("push", "-q", "origin", "main")
    alice.ga("push")
    h = sha256_hex(b"stray")
    s3_bucket.fs.pipe(f"{s3_bucket.name}/cache/sha256/{h[:2]}/{h[2:]}", b"stray")
    # Just written: younger than any grace but none.
    assert alice.ga_json("gc", "--remote", "s3")["removed"] == 0
    assert alice.ga_json("gc", "--remote", "s3", "--grace", "0s")["removed"] == 1
    s3_bucket.fs.invalidate_cache()
    left = {p.rsplit("/", 2)[1] + p.rsplit("/", 1)[1] for p in s3_bucket.fs.find(url)}
    assert h not in left and sha256_hex(b"kept") in left
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert (bob.root / "data/ds/a.bin").read_bytes() == b"kept"
