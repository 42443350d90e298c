"""`git artifacts delete`, end to end: a deletion is an event in the notes, the version tag
stays, clones honour it after fetch, and bad input is one line that writes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import GitRepo, assert_unchanged, clone, lines, stderr_error_line


def versions(repo: GitRepo, name: str, *extra: str) -> list[str]:
    return [v["version"] for v in repo.ga_json("log", name, *extra)]


def three_versions(repo: GitRepo) -> None:
    """ds v0, v1, v2 (the last is `latest`), each added and committed."""
    for i in range(3):
        repo.write({"data/ds/f.txt": f"version {i}\n"})
        repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
        repo.commit(f"ds v{i}")
    repo.ga("status")  # any command tags the committed version


@pytest.mark.slow
def test_delete_marks_the_version_keeps_the_tag_and_log_and_ls_skip_it(repo: GitRepo) -> None:
    three_versions(repo)
    tags = repo.tags()
    out = repo.ga("delete", "ds:v1").stdout
    assert lines(out) == ["deleted ds:v1"]
    assert repo.tags() == tags  # the number is never used again
    assert versions(repo, "ds") == ["v2", "v0"]
    marked = {v["version"]: v["gone"] for v in repo.ga_json("log", "ds", "--all")}
    assert marked == {"v2": None, "v1": "deleted", "v0": None}
    assert "v1 [deleted]" in repo.ga("log", "ds", "--all").stdout
    err = stderr_error_line(repo.ga("show", "ds:v1", rc=None))
    assert err.startswith("error: ds:v1 was deleted on 20") and " by " in err
    assert repo.ga_json("show", "ds:latest")["version"] == "v2"
    # The next version takes the next number: v1 is never used again.
    repo.write({"data/ds/f.txt": "version 3\n"})
    repo.ga("add", "data/ds", "--name", "ds")
    repo.commit("ds v3")
    assert versions(repo, "ds") == ["v3", "v2", "v0"]


@pytest.mark.slow
def test_a_version_with_aliases_is_refused_unless_delete_aliases(repo: GitRepo) -> None:
    three_versions(repo)
    repo.ga("alias", "ds:v0", "best")
    before = repo.snapshot()
    for spec in ("ds:v2", "ds:v0", "ds:latest"):
        err = stderr_error_line(repo.ga("delete", spec, rc=None))
        assert "it has aliases" in err and "delete_aliases=True" in err
    assert_unchanged(before, repo.snapshot())
    out = repo.ga("delete", "ds:v2", "ds:v0", "--delete-aliases").stdout
    assert lines(out) == [
        "deleted ds:v2 (aliases removed: latest)",
        "deleted ds:v0 (aliases removed: best)",
    ]
    assert "artifacts/ds/latest" not in repo.tags() and "artifacts/ds/best" not in repo.tags()
    # `latest` and the bare name fall back to the newest version still there.
    assert repo.ga_json("show", "ds:latest")["version"] == "v1"
    assert repo.ga_json("ls")[0]["latest"] == "v1"


@pytest.mark.slow
def test_dry_run_and_bad_input_change_nothing(repo: GitRepo) -> None:
    three_versions(repo)
    before = repo.snapshot()
    out = repo.ga("delete", "ds:v0", "ds:v2", "--dry-run", "--delete-aliases").stdout
    assert lines(out) == ["would delete ds:v0", "would delete ds:v2 (aliases removed: latest)"]
    for args in (
        ["delete"],
        ["delete", "ds:v0", "ds:v9"],  # one bad spec: nothing deleted
        ["delete", "nosuch:v0"],
        ["delete", "ds:v0", "ds"],  # the work tree's manifest is not named as a version
        ["delete", "../x:v0"],
    ):
        stderr_error_line(repo.ga(*args, rc=None))
    assert_unchanged(before, repo.snapshot())
    repo.ga("delete", "ds:v0")
    before = repo.snapshot()
    err = stderr_error_line(repo.ga("delete", "ds:v0", rc=None))
    assert "ds:v0 was deleted on" in err
    assert_unchanged(before, repo.snapshot())


@pytest.mark.slow
def test_a_deletion_pushed_from_one_clone_is_honoured_by_another_and_never_comes_back(
    origin: Path, tmp_path: Path
) -> None:
    alice = clone(origin, tmp_path / "alice")
    alice.commit("initial")
    alice.ga("init")
    three_versions(alice)
    alice.git("push", "-q", "origin", "main")
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("fetch")
    assert versions(bob, "ds") == ["v2", "v1", "v0"]
    alice.ga("delete", "ds:v1")
    alice.ga("push")
    bob.ga("fetch")
    assert versions(bob, "ds") == ["v2", "v0"]
    assert "was deleted on" in stderr_error_line(bob.ga("get", "ds:v1", rc=None))
    # bob's push of what he has (the tag included) does not bring v1 back anywhere.
    bob.write({"data/ds/f.txt": "bob\n"})
    bob.ga("add", "data/ds", "--name", "ds")
    bob.commit("ds from bob")
    bob.git("push", "-q", "origin", "main")
    bob.ga("push")
    alice.ga("fetch")
    assert versions(alice, "ds") == ["v3", "v2", "v0"]
    carol = clone(origin, tmp_path / "carol")
    carol.ga("fetch")
    assert versions(carol, "ds") == ["v3", "v2", "v0"]
    assert os.path.exists(carol.root / ".git")
