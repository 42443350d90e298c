"""Transfers in batches: a listing-form artifact pushed and pulled across many batches, a
listing known on the remote skipping its folder, a push stopped between batches resumed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers import GitRepo, clone, file_digests

from gitartifacts.core.objects import SMALL
from gitartifacts.remote import walk

FOLDERS = "abcdefghijkl"
PER_FOLDER = 100  # 1,200 files: more than an inline manifest holds, so a listing
BATCH = "100"
BIG = SMALL + 1  # sent loose, so it is a file of its own in the local cache


def _files() -> dict[str, bytes]:
    out = {
        f"data/ds/{f}/{i:03}.txt": f"{f} {i}\n".encode() * (i % 5 + 1)
        for f in FOLDERS
        for i in range(PER_FOLDER)
    }
    out["data/ds/a/big.bin"] = b"B" * BIG
    return out


@pytest.fixture
def alice(origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.setenv(walk.BATCH_ENV, BATCH)
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.write(_files())
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds", ".")
    repo.git("push", "-q", "origin", "main")
    return repo


def _uploaded(out: str) -> int:
    return int(out.split(": ", 1)[1].split(" object", 1)[0])


@pytest.mark.slow
def test_a_listing_artifact_crosses_many_batches_both_ways(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    # 1,201 files and 13 listing objects, in batches of 100.
    assert _uploaded(alice.ga("push").stdout) == 1201 + 13
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    # One file changed: its content and the two listing objects on its path are new;
    # the other eleven folders are skipped by their listing objects, unread.
    alice.write({"data/ds/c/007.txt": b"changed\n"})
    alice.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    alice.commit("ds v1", ".")
    assert _uploaded(alice.ga("push").stdout) == 3
    alice.git("push", "-q", "origin", "main")
    bob.git("pull", "-q", "origin", "main")
    bob.ga("pull")
    assert (bob.root / "data/ds/c/007.txt").read_bytes() == b"changed\n"


@pytest.mark.slow
def test_a_push_stopped_between_batches_resumes_and_publishes_only_when_complete(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    # Folder a is walked last: its big file, gone from the cache, stops the push there.
    big = alice.cache / "sha256" / _shard(b"B" * BIG)
    saved = big.read_bytes()
    big.unlink()
    failed = alice.ga("push", rc=None)
    assert failed.returncode != 0
    assert "not in the local cache" in failed.stderr
    assert alice.git("ls-remote", "--tags", "origin") == ""  # no version published
    big.write_bytes(saved)
    # The batches sent before the stop count as pushed: only the rest goes now.
    resumed = _uploaded(alice.ga("push").stdout)
    assert 0 < resumed < 1201 + 13
    assert alice.git("ls-remote", "--tags", "origin") != ""
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")


def _shard(content: bytes) -> str:
    hex_ = hashlib.sha256(content).hexdigest()
    return f"{hex_[:2]}/{hex_[2:]}"
