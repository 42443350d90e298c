"""TTL, end to end: measured from the version's commit, an expired version is a one-line error,
`ls --expiring` lists what goes soon, a registry link disables it, bad durations are one line."""

from __future__ import annotations

import os
import subprocess

import pytest
from helpers import GitRepo, assert_unchanged, lines, stderr_error_line


def version(repo: GitRepo, text: str, *add: str, date: str | None = None) -> None:
    """ds with f.txt holding `text`, added and committed (at committer time `date`)."""
    repo.write({"data/ds/f.txt": text})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset", *add)
    env = {**os.environ, **({"GIT_COMMITTER_DATE": date} if date else {})}
    subprocess.run(["git", "commit", "-q", "-m", text], cwd=repo.root, env=env, check=True)
    repo.ga("status")  # any command tags the committed version


@pytest.mark.slow
def test_an_expired_version_is_an_error_and_ls_expiring_lists_what_goes_soon(
    repo: GitRepo,
) -> None:
    version(repo, "old\n", "--ttl", "30d", date="2020-01-01T00:00:00Z")
    version(repo, "soon\n", "--ttl", "5d")
    version(repo, "kept\n", "--ttl", "60d")
    err = stderr_error_line(repo.ga("get", "ds:v0", rc=None))
    assert err.startswith("error: ds:v0 expired on 2020-01-31T00:00:00+00:00 (")
    assert [v["version"] for v in repo.ga_json("log", "ds")] == ["v2", "v1"]
    assert {v["version"]: v["gone"] for v in repo.ga_json("log", "ds", "--all")}["v0"] == (
        "expired"
    )
    soon = repo.ga_json("ls", "--expiring", "7d")
    assert [(r["name"], r["version"], r["ttl"]) for r in soon] == [("ds", "v1", "5d")]
    assert lines(repo.ga("ls", "--expiring", "1d").stdout) == ["no version expires within 1d"]
    repo.ga("edit", "ds:v2", "--ttl", "1d")  # edited later: still from the version's commit
    assert [r["version"] for r in repo.ga_json("ls", "--expiring", "7d")] == ["v2", "v1"]
    repo.ga("edit", "ds:v2", "--ttl", "none")
    assert [r["version"] for r in repo.ga_json("ls", "--expiring", "7d")] == ["v1"]


@pytest.mark.slow
def test_bad_durations_and_a_ttl_on_a_linked_version_are_one_line_and_write_nothing(
    repo: GitRepo,
) -> None:
    version(repo, "a\n", "--ttl", "5d")
    assert [r["version"] for r in repo.ga_json("ls", "--expiring", "7d")] == ["v0"]
    repo.ga("link", "ds:v0", "reg")
    assert repo.ga_json("ls", "--expiring", "7d") == []  # linking disables the TTL
    before = repo.snapshot()
    for args in (
        ["edit", "ds:v0", "--ttl", "banana"],
        ["ls", "--expiring", "banana"],
        ["add", "data/ds", "--name", "ds", "--ttl", "banana"],
        ["edit", "ds:v0", "--ttl", "-5d"],
    ):
        stderr_error_line(repo.ga(*args, rc=None))
    err = stderr_error_line(repo.ga("edit", "ds:v0", "--ttl", "30m", rc=None))
    assert "Cannot set TTL for link artifact" in err
    assert_unchanged(before, repo.snapshot())
