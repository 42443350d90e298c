"""status and checkout say what to run next, and never advise what would lose data: a fresh
clone, a fetch without a checkout, missing files, an old version checked out. Real clones of
a real bare repository, the real `git artifacts` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GitRepo, clone, lines

SAVE = "save with git artifacts add"


@pytest.fixture
def alice(origin: Path, tmp_path: Path) -> GitRepo:
    """A clone with artifact `ds` at v0 (f1) and v1 (f1, f2), pushed (content to the
    origin's own cache folder)."""
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.ga("init")
    repo.write({"data/ds/f1.txt": "one\n"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0")
    repo.write({"data/ds/f2.txt": "two\n"})
    repo.ga("add", "data/ds", "--name", "ds")
    repo.commit("ds v1")
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")
    return repo


@pytest.mark.slow
def test_a_fresh_clone_is_told_to_pull_then_to_checkout_never_to_save(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    bob = clone(origin, tmp_path / "bob")
    out = bob.ga("status").stdout
    assert lines(out)[0] == "ds (dataset, v1):"
    assert "  content not in cache: 2 objects (get it with git artifacts pull ds)" in out
    assert SAVE not in out
    bob.ga("fetch")  # the content is here now, the files not yet: as a stopped checkout
    out = bob.ga("status").stdout
    assert "  (restore the missing files with git artifacts checkout ds)" in out
    assert SAVE not in out and "content not in cache" not in out
    bob.ga("checkout", "ds")
    assert bob.ga("status").stdout == "ds (dataset, v1): up to date\n"


@pytest.mark.slow
def test_missing_files_are_restored_edits_are_saved_or_discarded(alice: GitRepo) -> None:
    def hints() -> list[str]:
        return [ln.strip() for ln in lines(alice.ga("status").stdout)[1:]]

    (alice.root / "data/ds/f1.txt").unlink()
    assert hints() == [
        "deleted: data/ds/f1.txt",
        "(restore the missing files with git artifacts checkout ds)",
    ]
    alice.write({"data/ds/f2.txt": "changed\n"})
    assert hints()[-2:] == [
        "(save with git artifacts add --name ds, which also records the missing files as removed)",
        "(discard the changes to its files with git artifacts checkout ds --force)",
    ]
    alice.ga("checkout", "ds", "--force")  # the hint works as said
    alice.write({"data/ds/f3.txt": "three\n"})
    assert hints() == [
        "added: data/ds/f3.txt",
        "(save with git artifacts add --name ds)",
    ]


@pytest.mark.slow
def test_a_new_unversioned_manifest_names_the_latest_version(alice: GitRepo, repo: GitRepo) -> None:
    alice.write({"data/ds/f3.txt": "three\n"})
    alice.ga("add", "data/ds", "--name", "ds")
    out = alice.ga("status").stdout
    assert lines(out)[0] == "ds (dataset, not a version yet; latest v1):"
    assert "no version yet" not in out
    repo.write({"data/x/a.txt": "a"})
    repo.ga("add", "data/x", "--name", "x", "--type", "dataset")
    assert lines(repo.ga("status").stdout)[0] == "x (dataset, no version yet):"


@pytest.mark.slow
def test_checkout_of_an_old_version_says_the_manifest_pins_it_and_how_to_go_back(
    alice: GitRepo, tmp_path: Path
) -> None:
    out = alice.ga("checkout", "ds:v0").stdout
    assert lines(out) == [
        "ds (v0) at data/ds/f1.txt: 0 written, 1 removed",
        "  .artifacts/ds.yaml now pins v0 (staged: commit it to keep v0 on this branch)",
        "  to go back to v1: git artifacts checkout ds:v1",
        "  to look at a version without changing the branch: git artifacts get ds:v0 -o DIR",
    ]
    assert alice.staged() == [".artifacts/ds.yaml"]
    # Back as said: the branch's manifest and files are HEAD's again, and no note is left.
    assert lines(alice.ga("checkout", "ds:v1").stdout) == [
        "ds (v1) at data/ds: 1 written, 0 removed"
    ]
    assert alice.staged() == []
    alice.ga("get", "ds:v0", "-o", str(tmp_path / "old"))
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["f1.txt"]
    assert alice.ga("status").stdout == "ds (dataset, v1): up to date\n"
