"""Writes into the workspace and into `get` folders: committed symlinks never redirect a write,
delete or rename (`--force` included); `get` never destroys bytes saved nowhere; every file
appears whole. Real repositories, symlinks committed through git, installed hooks, real
`git checkout`, `git merge`, `git clone`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import GitRepo, clone, file_digests, sha, stderr_error_line, tree_state

PWN = "#!/bin/sh\necho pwned\n"

# layout -> (symlink committed, where it points, the file written, what is `add`ed)
LAYOUTS = {
    # a component of the artifact's `path: lnk/sub` is a link out of the repository
    "path-link": ("lnk", "OUTSIDE", "lnk/sub/pwn.txt", "lnk/sub/pwn.txt"),
    # the same into .git: `path: g/hooks`, the entry would become .git/hooks/pre-commit
    "git-link": ("g", ".git", "g/hooks/pre-commit", "g/hooks/pre-commit"),
    # a folder inside the artifact's own tops (`path: data2`) is a link out of the repository
    "nested-link": ("data2/x/sub", "OUTSIDE", "data2/x/sub/pre-commit", "data2/x"),
}


def git_proc(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo.root, capture_output=True, text=True)


def outside_folder(tmp_path: Path) -> Path:
    """A user's folder outside the repository: one file saved nowhere, one whose bytes the
    cache holds (a checkout deletes such a file without --force if it thinks it is its own)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "thesis.tex").write_text("three years of work\n")
    (outside / "saved.txt").write_text(PWN)
    return outside


def commit_evil(repo: GitRepo, layout: str, outside: Path) -> None:
    """Commit on the current branch an artifact whose data folder is then replaced by a
    committed symlink (what a stranger's pull request can hold)."""
    link, target, written, added = LAYOUTS[layout]
    repo.write({written: PWN})
    repo.ga("add", added, "--name", "evil", "--type", "dataset")
    shutil.rmtree(repo.root / link)
    os.symlink(str(outside) if target == "OUTSIDE" else target, repo.root / link)
    repo.git("add", "-f", "--", link, ".artifacts", ".gitignore")
    repo.commit("evil")
    assert (repo.root / link).is_symlink()


def evil_branch(repo: GitRepo, layout: str, outside: Path) -> None:
    """Branch `evil` holds the attack; the work tree is back on main, without it."""
    repo.git("checkout", "-q", "-b", "evil")
    commit_evil(repo, layout, outside)
    repo.git("checkout", "-q", "main")
    assert not (repo.root / LAYOUTS[layout][0]).exists()


def untouched(repo: GitRepo, outside: Path, before: dict[str, str]) -> None:
    assert tree_state(outside) == before, "a file outside the repository changed"
    assert not (repo.root / ".git/hooks/pre-commit").exists(), ".git/hooks was written"


VERBS = ["git checkout", "git merge", "checkout", "checkout --force"]


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.slow
def test_a_committed_symlink_never_redirects_a_write_or_delete(
    repo: GitRepo, tmp_path: Path, layout: str, verb: str
) -> None:
    outside = outside_folder(tmp_path)
    evil_branch(repo, layout, outside)
    before = tree_state(outside)
    if verb.startswith("git "):
        repo.ga("install-hooks")
        proc = git_proc(repo, *(["checkout", "-q", "evil"] if verb == "git checkout" else []))
        if verb == "git merge":
            proc = git_proc(repo, "merge", "-q", "--no-edit", "evil")
        assert proc.returncode == 0, proc.stderr  # git's own work is done; ours is refused
        assert "symlink" in proc.stderr and "evil was not updated" in proc.stderr, proc.stderr
    else:
        repo.git("checkout", "-q", "evil")
        err = stderr_error_line(repo.ga(*verb.split(), rc=None))
        assert "symlink" in err and LAYOUTS[layout][0] in err, err
    untouched(repo, outside, before)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.slow
def test_pull_of_a_clone_with_a_committed_symlink_writes_nothing_outside(
    tmp_path: Path, layout: str
) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    outside = outside_folder(tmp_path)
    attacker = clone(origin, tmp_path / "attacker")
    attacker.commit("initial")
    attacker.ga("init")
    commit_evil(attacker, layout, outside)
    attacker.git("push", "-q", "origin", "main")
    attacker.ga("push")
    shutil.rmtree(attacker.root)
    before = tree_state(outside)
    victim = clone(origin, tmp_path / "victim")
    for force in ([], ["--force"]):
        err = stderr_error_line(victim.ga("pull", *force, rc=None))
        assert "symlink" in err, err
        untouched(victim, outside, before)


# ---------------------------------------------------------------- get and download


@pytest.mark.parametrize(
    "mine",
    [
        {"bikes/img0.txt": "my own edit\n"},  # a changed file of the artifact
        {"bikes/labels": "a file where the version has a folder\n"},
        {"bikes/img1.txt/thesis.tex": "a folder where the version has a file\n"},
    ],
    ids=["changed-file", "file-for-folder", "folder-for-file"],
)
@pytest.mark.slow
def test_get_never_destroys_files_saved_nowhere(
    bikes: GitRepo, tmp_path: Path, mine: dict[str, str]
) -> None:
    out = tmp_path / "mydir"
    for rel, text in mine.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    before = tree_state(out)
    err = stderr_error_line(bikes.ga("get", "bikes:v0", "-o", str(out), rc=None))
    assert "--force" in err and str(out) in err, err
    assert tree_state(out) == before
    bikes.ga("get", "bikes:v0", "-o", str(out), "--force")
    assert file_digests(out) == file_digests(bikes.root / "data")


@pytest.mark.slow
def test_get_restores_a_changed_file_whose_bytes_the_cache_holds(
    bikes: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "mydir"
    bikes.ga("get", "bikes:v0", "-o", str(out))
    (out / "bikes/img0.txt").unlink()
    shutil.copy(bikes.root / "data/bikes/img1.txt", out / "bikes/img0.txt")  # saved bytes
    assert bikes.ga_json("get", "bikes:v0", "-o", str(out))["written"] == 1
    assert file_digests(out) == file_digests(bikes.root / "data")


def test_download_refuses_to_replace_a_file_saved_nowhere(bikes: GitRepo, tmp_path: Path) -> None:
    out = tmp_path / "dl"
    (out / "bikes").mkdir(parents=True)
    (out / "bikes/img0.txt").write_text("mine\n")
    script = (
        "import sys, gitartifacts as ga\n"
        "from gitartifacts.errors import ConflictError\n"
        "a = ga.Api().artifact('bikes:v0')\n"
        "try:\n    a.download(sys.argv[1])\nexcept ConflictError as e:\n    print('refused', e)\n"
    )
    proc = subprocess.run(
        ["python", "-c", script, str(out)], cwd=bikes.root, capture_output=True, text=True
    )
    assert proc.stdout.startswith("refused"), proc.stdout + proc.stderr
    assert (out / "bikes/img0.txt").read_text() == "mine\n"


@pytest.mark.slow
def test_checkout_never_overwrites_an_ignored_file_saved_nowhere(repo: GitRepo) -> None:
    repo.write({"data/ds/a.txt": "a\n"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0")
    repo.write({"data/ds/notes.tmp": "version 1 notes\n"})
    repo.ga("add", "data/ds", "--name", "ds")
    repo.commit("ds v1")
    repo.ga("checkout", "ds:v0")
    (repo.root / ".artifactignore").write_text("*.tmp\n")
    repo.write({"data/ds/notes.tmp": "my unsaved notes\n"})
    err = stderr_error_line(repo.ga("checkout", "ds:v1", rc=None))
    assert "data/ds/notes.tmp" in err, err
    assert (repo.root / "data/ds/notes.tmp").read_text() == "my unsaved notes\n"


# ---------------------------------------------------------------- files appear whole


@pytest.mark.slow
def test_a_checkout_writes_under_temporary_names_and_sweeps_those_of_dead_runs(
    bikes: GitRepo,
) -> None:
    data = bikes.root / "data/bikes"
    shutil.rmtree(data)
    # What a killed checkout leaves: torn temporary files of a process that is gone.
    pid = _dead_pid()
    (data / "labels").mkdir(parents=True)
    stale = [data / f".ga-tmp-0123456789ab-{pid}-7", data / f"labels/.ga-tmp-0123456789ab-{pid}-8"]
    for p in stale:
        p.write_text("torn")
    mine = data / ".ga-tmp-notes"  # not of our form: not ours to remove
    mine.write_text("keep")
    bikes.ga("checkout", "bikes")
    assert not any(p.exists() for p in stale)
    assert mine.read_text() == "keep"
    got = file_digests(bikes.root / "data")
    assert got.pop("bikes/.ga-tmp-notes") == sha(b"keep")
    assert bikes.ga_json("status")[0]["clean"] is True


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_symlinked_manifest_folder_is_never_written_through(
    repo: GitRepo, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo.write({"data/bikes/a.txt": "a\n"})
    shutil.rmtree(repo.root / ".artifacts", ignore_errors=True)
    os.symlink(outside, repo.root / ".artifacts")
    r = repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset", rc=None)
    assert stderr_error_line(r).startswith("error: .artifacts is a symlink")
    assert list(outside.iterdir()) == []
