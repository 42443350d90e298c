"""`lifecycle.gone`, what the garbage collector reads: deleted and expired versions of every
artifact, from the tags and the notes; damaged lines from other clones delete nothing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Iterator

import pytest
from helpers import GitRepo

from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import lifecycle
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.versions import histories, summaries


def commit_version(repo: GitRepo, name: str, text: str, *add: str, date: str = "") -> None:
    repo.write({f"data/{name}/f.txt": text})
    repo.ga("add", f"data/{name}", "--name", name, "--type", "dataset", *add)
    env = {**os.environ, **({"GIT_COMMITTER_DATE": date} if date else {})}
    subprocess.run(["git", "commit", "-q", "-m", text], cwd=repo.root, env=env, check=True)


@pytest.fixture
def project(repo: GitRepo) -> Iterator[Project]:
    commit_version(repo, "ds", "a\n", "--ttl", "1w", date="2021-03-01T00:00:00Z")  # expired
    commit_version(repo, "ds", "b\n", "--ttl", "30d")  # not yet
    commit_version(repo, "ds", "c\n")
    commit_version(repo, "other", "x\n")
    commit_version(repo, "other", "y\n")
    repo.ga("status")  # tags the versions
    p = Project.open(repo.root)
    yield p
    p.close()


def test_gone_names_deleted_and_expired_versions_of_every_artifact(project: Project) -> None:
    expired_on = dt.datetime(2021, 3, 8, tzinfo=dt.timezone.utc)  # a week after its commit
    assert lifecycle.gone(project) == {
        ("ds", 0): lifecycle.Gone("expired", expired_on, None, digest(project, "ds", 0))
    }
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    h = histories(project)["other"]
    assert lifecycle.delete(project, h, 0, delete_aliases=False) == []
    gone = lifecycle.gone(project)
    assert sorted(gone) == [("ds", 0), ("other", 0)]
    deleted = gone[("other", 0)]
    assert deleted.reason == "deleted" and deleted.when >= before
    assert deleted.who is not None
    assert deleted.digest == digest(project, "other", 0) != digest(project, "other", 1)


def test_a_version_with_aliases_is_kept_unless_they_go_with_it(project: Project) -> None:
    h = histories(project)["ds"]
    with pytest.raises(UsageError, match=r"it has aliases \(latest\)"):
        lifecycle.delete(project, h, 2, delete_aliases=False)
    assert ("ds", 2) not in lifecycle.gone(project)
    assert lifecycle.delete(project, h, 2, delete_aliases=True) == ["latest"]
    project.repo.refs_moved()
    assert "latest" not in histories(project)["ds"].aliases
    assert lifecycle.gone(project)[("ds", 2)].reason == "deleted"


def test_damaged_or_foreign_delete_lines_delete_nothing(project: Project) -> None:
    h = histories(project)["ds"]
    commit = h.versions[1]
    good = {"ev": "delete", "name": "ds", "version": "v1", "digest": digest(project, "ds", 1)}
    run_notes.append(
        project.repo,
        commit,
        [
            {**good, "t": "yesterday", "who": "x"},  # not a time
            {**good, "t": 5, "who": 7},  # not a user
            {**good, "digest": "sha256:" + "0" * 64, "t": 5, "who": "x"},  # other content
            {**good, "name": "other", "t": 5, "who": "x"},  # another artifact
        ],
    )
    assert ("ds", 1) not in lifecycle.gone(project)


def test_durations() -> None:
    assert lifecycle.ttl_seconds("2w") == 14 * 86400
    assert lifecycle.ttl_text(36 * 3600) == "36h" and lifecycle.ttl_text(14 * 86400) == "2w"
    for bad in ("banana", "0d", "-5d", "5 d", "5y"):
        with pytest.raises(UsageError, match="invalid ttl"):
            lifecycle.ttl_seconds(bad)
    with pytest.raises(UsageError, match="has to be positive"):
        lifecycle.ttl_text(0)


def digest(project: Project, name: str, n: int) -> str:
    commit = histories(project)[name].versions[n]
    s = summaries(project, name, [commit])[commit]
    assert s is not None
    return s.digest
