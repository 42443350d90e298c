"""Versions recorded as commits made with plumbing (gitmodel/logged.py): off the branch,
numbered with compare-and-swap, found by tag, renumbered on publish, aliases converging."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import GitRepo, clone, make_repo, sha

from gitartifacts.core import manifest as mf
from gitartifacts.errors import GitArtifactsError, UsageError
from gitartifacts.gitmodel import logged
from gitartifacts.gitmodel.project import Project


def manifest(text: str, name: str = "model", type: str = "model") -> mf.Manifest:
    return mf.build(name, type, {"w.bin": mf.Entry(sha(text.encode()), len(text))})


def untouched(repo: GitRepo) -> tuple[str, ...]:
    """What logging must never change: HEAD, the branch, the index, the work tree's status."""
    return (
        repo.head(),
        repo.git("symbolic-ref", "HEAD"),
        repo.git("ls-files", "-s"),
        repo.git("status", "--porcelain", "--untracked-files=all"),
    )


def visible(repo: GitRepo) -> tuple[str, str]:
    """Every ref and the whole status: a failed log leaves both as they were."""
    return repo.git("for-each-ref"), repo.git("status", "--porcelain", "--untracked-files=all")


# ---------------------------------------------------------------- one writer


def test_a_version_is_a_commit_on_its_parent_holding_the_manifest(repo: GitRepo) -> None:
    before = untouched(repo)
    project = Project.open(repo.root)
    m = manifest("one")
    done = logged.log_version(project, m, repo.head(), ["best"])
    assert (done.version, done.new) == (0, True)
    assert untouched(repo) == before
    assert repo.tag_commit("artifacts/model/v0") == done.commit
    assert repo.git("rev-parse", f"{done.commit}^").strip() == repo.head()
    assert repo.git("show", f"{done.commit}:.artifacts/model.yaml") == mf.dumps(m)
    assert repo.git("diff", "--name-only", repo.head(), done.commit).split() == [
        ".artifacts/model.yaml"
    ]
    for alias in ("latest", "best"):
        assert repo.tag_commit(f"artifacts/model/{alias}") == done.commit
    events = repo.git("notes", "--ref=refs/notes/artifacts", "show", done.commit)
    assert '"alias":"best"' in events and '"alias":"latest"' in events


def test_in_a_repository_without_commits_the_version_is_a_root_commit(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "empty")
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main")
    done = logged.log_version(Project.open(repo.root), manifest("one"), None)
    assert repo.git("rev-list", "--parents", "-n1", done.commit).split() == [done.commit]
    assert repo.git("ls-tree", "-r", "--name-only", done.commit).split() == [
        ".artifacts/model.yaml"
    ]
    assert repo.git("rev-parse", "--verify", "-q", "HEAD", check=False) == ""


def test_same_content_is_that_version_and_moves_only_the_named_aliases(repo: GitRepo) -> None:
    project = Project.open(repo.root)
    first = logged.log_version(project, manifest("one"), repo.head())
    second = logged.log_version(project, manifest("two"), repo.head())
    again = logged.log_version(project, manifest("one"), repo.head(), ["best"])
    assert (again.version, again.commit, again.new) == (0, first.commit, False)
    assert repo.tag_commit("artifacts/model/best") == first.commit
    assert repo.tag_commit("artifacts/model/latest") == second.commit  # not named: stays
    logged.log_version(project, manifest("one"), repo.head(), ["latest"])
    assert repo.tag_commit("artifacts/model/latest") == first.commit


def test_an_explicit_latest_is_one_update_with_the_new_version(repo: GitRepo) -> None:
    project = Project.open(repo.root)
    done = logged.log_version(project, manifest("one"), repo.head(), ["latest", "best", "latest"])
    events = repo.git("notes", "--ref=refs/notes/artifacts", "show", done.commit)
    assert events.count('"alias":"latest"') == 1 and events.count('"alias":"best"') == 1


def test_sync_neither_retags_logged_versions_and_the_branch_flow_numbers_on(
    repo: GitRepo,
) -> None:
    project = Project.open(repo.root)
    done = logged.log_version(project, manifest("one"), repo.head())
    refs = repo.git("for-each-ref", "refs/tags")
    repo.ga("status")
    assert repo.git("for-each-ref", "refs/tags") == refs
    repo.write({"data/w.bin": "two"})
    repo.ga("add", "data", "--name", "model")  # the type comes from the logged version
    repo.commit("model on the branch")
    repo.ga("status")
    assert repo.tag_commit("artifacts/model/v0") == done.commit
    assert repo.tag_commit("artifacts/model/v1") == repo.head()


# ---------------------------------------------------------------- bad input


def test_an_invalid_alias_or_another_type_is_refused_and_nothing_is_written(
    repo: GitRepo,
) -> None:
    project = Project.open(repo.root)
    logged.log_version(project, manifest("one"), repo.head())
    before = visible(repo)
    for aliases in (["v3"], ["a/b"], ["ok", "bad:alias"]):
        with pytest.raises(UsageError):
            logged.log_version(project, manifest("two"), repo.head(), aliases)
    with pytest.raises(UsageError, match="is of type 'model', not 'dataset'"):
        logged.log_version(project, manifest("two", type="dataset"), repo.head())
    assert visible(repo) == before


def test_a_failure_between_the_commit_and_the_tag_leaves_no_version(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version tag's lock held (as by a process killed mid-write): the commit object
    stays unreachable, and no tag, alias or event appears."""
    project = Project.open(repo.root)
    logged.log_version(project, manifest("one"), repo.head())
    before = visible(repo)
    lock = repo.root / ".git" / "refs" / "tags" / "artifacts" / "model" / "v1.lock"
    lock.write_text("")
    monkeypatch.setenv("GITARTIFACTS_LOCK_TIMEOUT", "0.3")
    with pytest.raises(GitArtifactsError) as err:
        logged.log_version(project, manifest("two"), repo.head(), ["best"])
    assert "\n" not in str(err.value) and "v1.lock" in str(err.value)
    assert visible(repo) == before
    lock.unlink()
    assert logged.log_version(project, manifest("two"), repo.head()).version == 1


KILLED = textwrap.dedent(
    """
    import os, signal
    from gitartifacts.core import manifest as mf
    from gitartifacts.gitmodel import logged, notes
    from gitartifacts.gitmodel.project import Project

    def die(*args, **kwargs):  # the process dies after the commit object, before any ref
        os.kill(os.getpid(), signal.SIGKILL)

    notes.write = die
    p = Project.open(".")
    m = mf.build("model", "model", {"w.bin": mf.Entry("sha256:" + "1" * 64, 1)})
    logged.log_version(p, m, p.repo.head(), ["best"])
    """
)


def test_a_process_killed_between_the_commit_and_the_tag_leaves_no_version(
    repo: GitRepo,
) -> None:
    project = Project.open(repo.root)
    logged.log_version(project, manifest("one"), repo.head())
    before = visible(repo)
    proc = subprocess.run([sys.executable, "-c", KILLED], cwd=repo.root, check=False)
    assert proc.returncode == -9
    assert visible(repo) == before
    assert not list((repo.root / ".git" / "artifacts").glob("index-*"))  # no index left
    assert [v["version"] for v in repo.ga_json("log", "model")] == ["v0"]


# ---------------------------------------------------------------- many writers

WRITER = textwrap.dedent(
    """
    import sys
    from gitartifacts.core import manifest as mf
    from gitartifacts.gitmodel import logged
    from gitartifacts.gitmodel.project import Project

    p = Project.open(".")
    text = sys.argv[1]
    m = mf.build("model", "model", {"w.bin": mf.Entry("sha256:" + "0" * 63 + text, 1)})
    print(logged.log_version(p, m, p.repo.head(), ["best"]).version)
    """
)


@pytest.mark.slow
def test_concurrent_writers_in_one_clone_take_distinct_numbers(repo: GitRepo) -> None:
    contents = [str(i) for i in range(6)] + ["a", "a", "a"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, c], cwd=repo.root, stdout=subprocess.PIPE, text=True
        )
        for c in contents
    ]
    printed = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(set(printed)) == sorted(f"{n}" for n in range(7))
    assert len({printed[6], printed[7], printed[8]}) == 1  # one content, one version
    log = repo.ga_json("log", "model")
    assert sorted(int(v["version"][1:]) for v in log) == list(range(7))
    assert len({v["digest"] for v in log}) == 7
    assert repo.git("status", "--porcelain") == ""


LOG = "import gitartifacts as ga, sys\nart = ga.Artifact('model', 'model')\n" + (
    "with art.new_file('w.bin') as f: f.write(sys.argv[1])\n"
    "art.save(sys.argv[2:])\nprint(art.version)\n"
)


def _log(repo: GitRepo, text: str, *aliases: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", LOG, text, *aliases],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.slow
def test_a_logged_version_is_renumbered_on_publish_and_the_later_alias_move_wins(
    tmp_path: Path, origin: Path
) -> None:
    seed = make_repo(tmp_path / "seed")
    seed.git("remote", "add", "origin", str(origin))
    seed.git("push", "-q", "origin", "main")
    a, b = clone(origin, tmp_path / "a"), clone(origin, tmp_path / "b")
    for r in (a, b):
        r.ga("init")
    assert _log(a, "from a", "best") == "v0"
    assert _log(b, "from b") == "v0"
    commit_b = b.tag_commit("artifacts/model/v0")
    _log(b, "from b", "best")  # b moves `best` later than a did
    b.ga("push")
    a.ga("push")  # b published v0 first: a's v0 becomes v1
    a.ga("fetch")
    b.ga("fetch")
    for r in (a, b):
        assert r.tag_commit("artifacts/model/v0") == commit_b
        assert r.tag_commit("artifacts/model/best") == commit_b
    assert a.tag_commit("artifacts/model/v1") == b.tag_commit("artifacts/model/v1")
    assert a.git("show", "refs/tags/artifacts/model/v1:.artifacts/model.yaml").count("w.bin") == 1
    out = tmp_path / "v1"
    b.ga("get", "model:v1", "-o", str(out))
    assert (out / "w.bin").read_text() == "from a"
