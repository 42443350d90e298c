"""The git plumbing's configuration and ref snapshots against real git answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gitartifacts.gitmodel.repo import Repo


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


def _commit(root: Path, message: str) -> str:
    _git(
        root,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
    )
    return _git(root, "rev-parse", "HEAD")


def test_ref_snapshot_matches_for_each_ref_and_sees_our_own_writes(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    a = _commit(tmp_path, "a")
    b = _commit(tmp_path, "b")
    for ref in (
        "refs/tags/artifacts/ds/v0",
        "refs/tags/artifacts/ds/latest",
        "refs/tags/artifacts/ds-2/v0",
        "refs/tags/artifactsX/v0",  # not under refs/tags/artifacts: for-each-ref agrees
        "refs/artifacts/remotes/origin/tags/ds/v0",
        "refs/notes/artifacts",
        "refs/tags/other",
    ):
        _git(tmp_path, "update-ref", ref, a)
    repo = Repo.find(tmp_path)
    prefixes = [
        ("refs/tags/artifacts",),
        ("refs/tags/artifacts/ds/",),
        ("refs/tags/artifacts/ds",),
        ("refs/tags/artifacts/ds/v0",),
        ("refs/artifacts/remotes/origin/tags/", "refs/tags/artifacts"),
        ("refs/notes/artifacts", "refs/notes/remotes/origin/artifacts"),
        ("refs/tags",),  # wider than a snapshot: asked of git itself
    ]
    with repo.ref_snapshot():
        for p in prefixes:
            assert repo.refs(*p) == Repo.find(tmp_path).refs(*p), p
        assert repo.head() == b

        # A change behind the repo's back is not seen within the snapshot...
        _git(tmp_path, "update-ref", "refs/tags/artifacts/ds/v1", b)
        assert "refs/tags/artifacts/ds/v1" not in repo.refs("refs/tags/artifacts")
        # ...but anything that may move a ref through the repo renews it.
        repo.update_refs([("refs/tags/artifacts/ds/latest", b, None)])
        seen = repo.refs("refs/tags/artifacts/ds")
        assert seen["refs/tags/artifacts/ds/v1"] == b
        assert seen["refs/tags/artifacts/ds/latest"] == b
        assert repo.ok("tag", "plain")
        assert repo.head() == b
        c = _commit(tmp_path, "c")
        assert repo.head() == b  # still the snapshot's
        repo.refs_moved()
        assert repo.head() == c
    # Outside a snapshot every read asks git.
    _git(tmp_path, "update-ref", "-d", "refs/tags/artifacts/ds/v1")
    assert "refs/tags/artifacts/ds/v1" not in repo.refs("refs/tags/artifacts")
    d = _commit(tmp_path, "d")
    assert repo.head() == d
