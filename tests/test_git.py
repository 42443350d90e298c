"""The git plumbing's configuration snapshot against real `git config` answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gitartifacts.git import Repo


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_config_reads_agree_with_git_and_see_writes(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    repo = Repo.find(tmp_path)
    repo.run("config", "artifacts.remote.MyStore.url", "/a")
    repo.run("config", "--add", "artifacts.remote.MyStore.url", "/b")  # the last one wins
    repo.run("remote", "add", "origin", "/somewhere/origin.git")
    repo.run("remote", "add", "backup", "/elsewhere.git")

    assert repo.config_get("artifacts.remote.MyStore.url") == "/b"
    assert repo.config_get("Artifacts.remote.MyStore.URL") == "/b"  # as git: names fold case
    assert repo.config_get("artifacts.remote.mystore.url") is None  # subsections do not
    assert repo.config_get("remote.origin.url") == _git(
        tmp_path, "config", "--get", "remote.origin.url"
    )
    assert repo.remotes() == _git(tmp_path, "remote").split()
    assert repo.config_get_regexp(r"^remote\..*\.url$") == {
        "remote.origin.url": "/somewhere/origin.git",
        "remote.backup.url": "/elsewhere.git",
    }

    # A write by any path through git is seen by the next read.
    repo.config_set("artifacts.cache", "/tmp/cache")
    assert repo.config_get("artifacts.cache") == "/tmp/cache"
    repo.run("config", "--unset", "artifacts.cache")
    assert repo.config_get("artifacts.cache") is None
    repo.run("remote", "remove", "backup")
    assert repo.remotes() == ["origin"]


def test_config_bool_reads_git_booleans(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    repo = Repo.find(tmp_path)
    assert repo.config_bool("artifacts.directWrites") is False  # unset
    for value, expect in [("true", True), ("Yes", True), ("on", True), ("1", True)]:
        repo.config_set("artifacts.directWrites", value)
        assert repo.config_bool("artifacts.directWrites") is expect, value
    for value in ("false", "no", "off", "0"):
        repo.config_set("artifacts.directWrites", value)
        assert repo.config_bool("artifacts.directWrites") is False, value
