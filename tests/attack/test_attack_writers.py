"""Writers under contention and on held locks: concurrent `add`s in one repository, an
explicit `latest` alias, stale git lock files, and an `add` that would move an artifact.

Every case drives the real `git artifacts` command or the Python API in a real process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import VENV_BIN, GitRepo, bikes_files, ga_run, stderr_error_line

PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable


def py(repo: GitRepo, code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run Python API code in its own process inside the repository."""
    return subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code)],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def every_verb_works(repo: GitRepo, name: str, tmp: Path) -> None:
    """ls, log, status, show, get, runs and Api().artifact all answer (no RecursionError)."""
    for args in (
        ("ls",),
        ("log", name),
        ("status",),
        ("show", f"{name}:latest"),
        ("get", f"{name}:latest", "-o", str(tmp / "got")),
        ("runs",),
    ):
        proc = repo.ga(*args, rc=None)
        assert proc.returncode == 0, f"{args}: {proc.stderr[-2000:]}"
        assert "RecursionError" not in proc.stderr
    proc = py(repo, f"import gitartifacts as ga; print(ga.Api().artifact('{name}:latest').version)")
    assert proc.returncode == 0, proc.stderr[-2000:]


# ---------------------------------------------------------------- point 12: `latest`


@pytest.mark.slow
def test_add_with_alias_latest_then_commit_leaves_every_verb_working(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write(bikes_files())
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset", "--alias", "latest")
    repo.commit("bikes v0")
    every_verb_works(repo, "bikes", tmp_path)
    assert len(repo.ga_json("log", "bikes")) == 1
    assert repo.tag_commit("artifacts/bikes/latest") == repo.tag_commit("artifacts/bikes/v0")


@pytest.mark.slow
def test_log_artifact_with_latest_and_best_ap50_as_in_the_seeds(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write({"model.pt": "weights v1\n"})
    proc = py(
        repo,
        """
        import gitartifacts as ga
        with ga.init(job_type="train") as run:
            a = ga.Artifact("bike-model", type="model")
            a.add_file("model.pt")
            run.log_artifact(a, aliases=["latest", "best-ap50"])
        print(ga.Api().artifact("bike-model:best-ap50").version)
        """,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["v0"]
    every_verb_works(repo, "bike-model", tmp_path)
    v0 = repo.tag_commit("artifacts/bike-model/v0")
    assert repo.tag_commit("artifacts/bike-model/latest") == v0
    assert repo.tag_commit("artifacts/bike-model/best-ap50") == v0


@pytest.mark.slow
def test_a_pending_latest_left_by_an_older_version_no_longer_wedges_the_repository(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Repositories wedged before the fix (a pending `latest` in state.db) heal by themselves."""
    repo.write(bikes_files())
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset", "--alias", "best")
    db = sqlite3.connect(repo.root / ".git" / "artifacts" / "state.db")
    with db:
        digest = db.execute("SELECT digest FROM pending_aliases WHERE alias = 'best'").fetchone()[0]
        db.execute("INSERT INTO pending_aliases VALUES ('bikes', ?, 'latest')", (digest,))
    db.close()
    repo.commit("bikes v0")
    every_verb_works(repo, "bikes", tmp_path)
    assert repo.tag_commit("artifacts/bikes/best") == repo.tag_commit("artifacts/bikes/v0")


@pytest.mark.slow
def test_alias_latest_by_hand_is_refused_off_the_newest_and_accepted_on_it(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img9.txt": "bike 9\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes")
    bikes.commit("bikes v1")
    bikes.ga("status")
    before = bikes.git("for-each-ref")
    line = stderr_error_line(bikes.ga("alias", "bikes:v0", "latest", rc=None))
    assert "'latest' is kept by the tool" in line and "(v1)" in line
    assert bikes.git("for-each-ref") == before
    assert "bikes:latest -> v1" in bikes.ga("alias", "bikes:v1", "latest").stdout
    assert bikes.git("for-each-ref") == before


# ---------------------------------------------------------------- point 12: stale lock files


LOCK_ENV = {"GITARTIFACTS_LOCK_TIMEOUT": "1"}


@pytest.mark.slow
def test_a_stale_notes_lock_refuses_an_alias_move_at_once_and_moves_nothing(
    bikes: GitRepo,
) -> None:
    lock = bikes.root / ".git" / "refs" / "notes" / "artifacts.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.touch()
    before = bikes.git("for-each-ref")
    start = time.monotonic()
    proc = ga_run(bikes, "alias", "bikes:v0", "production", env=LOCK_ENV, timeout=30)
    elapsed = time.monotonic() - start
    line = stderr_error_line(proc)
    assert str(lock) in line and "held by another process or left by a killed one" in line
    assert "remove it if no git process is running" in line
    assert elapsed < 15
    assert bikes.git("for-each-ref") == before  # neither the alias nor its event half-done
    lock.unlink()
    ga_run(bikes, "alias", "bikes:v0", "production", env=LOCK_ENV).check_returncode()
    notes = bikes.git("notes", "--ref=refs/notes/artifacts", "show", bikes.head())
    assert '"alias":"production"' in notes


@pytest.mark.slow
def test_ga_init_names_a_stale_notes_lock_fast(bikes: GitRepo) -> None:
    lock = bikes.root / ".git" / "refs" / "notes" / "artifacts.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.touch()
    start = time.monotonic()
    proc = subprocess.run(
        [PYTHON, "-c", "import gitartifacts as ga; ga.init(job_type='train')"],
        cwd=bikes.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **LOCK_ENV},
        timeout=30,
    )
    assert proc.returncode != 0
    assert time.monotonic() - start < 15
    last = proc.stderr.strip().splitlines()[-1]
    assert str(lock) in last and "held by another process or left by a killed one" in last


@pytest.mark.slow
def test_a_stale_tag_lock_gives_one_line_naming_it_instead_of_a_recursion(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img9.txt": "bike 9\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes")
    bikes.commit("bikes v1")
    lock = bikes.root / ".git" / "refs" / "tags" / "artifacts" / "bikes" / "latest.lock"
    lock.touch()
    start = time.monotonic()
    line = stderr_error_line(ga_run(bikes, "ls", env=LOCK_ENV, timeout=30))
    assert time.monotonic() - start < 15
    assert str(lock) in line and "remove it if no git process is running" in line
    assert "artifacts/bikes/v1" not in bikes.tags()  # nothing half-tagged
    lock.unlink()
    ga_run(bikes, "ls", env=LOCK_ENV).check_returncode()
    assert "artifacts/bikes/v1" in bikes.tags()


@pytest.mark.slow
def test_add_waits_for_an_index_lock_that_comes_free_and_names_one_that_does_not(
    repo: GitRepo,
) -> None:
    repo.write(bikes_files())
    lock = repo.root / ".git" / "index.lock"
    lock.touch()
    threading.Timer(1.0, lock.unlink).start()
    ga_run(
        repo,
        "add",
        "data/bikes",
        "--name",
        "bikes",
        "--type",
        "dataset",
        env={"GITARTIFACTS_LOCK_TIMEOUT": "20"},
    ).check_returncode()
    assert ".artifacts/bikes.yaml" in repo.staged()
    repo.write({"data/cars/a.txt": "car\n"})
    lock.touch()
    line = stderr_error_line(
        ga_run(repo, "add", "data/cars", "--name", "cars", "--type", "dataset", env=LOCK_ENV)
    )
    assert str(lock) in line and "remove it if no git process is running" in line
    assert not (repo.root / ".artifacts/cars.yaml").exists()  # a refused add leaves no manifest


# ---------------------------------------------------------------- point 9: concurrent adds


@pytest.mark.slow
def test_eight_processes_doing_96_adds_lose_no_ignore_line_and_no_add(repo: GitRepo) -> None:
    procs, per = 8, 12
    files: dict[str, str] = {}
    for p in range(procs):
        for j in range(per):
            for k in range(3):
                files[f"data/p{p}/d{j}/f{k}.txt"] = f"{p} {j} {k}\n"
    repo.write(files)

    def worker(p: int) -> list[str]:
        failures = []
        for j in range(per):
            proc = repo.ga(
                "add", f"data/p{p}/d{j}", "--name", f"a{p}-{j}", "--type", "dataset", rc=None
            )
            if proc.returncode != 0:
                failures.append(proc.stderr.strip())
        return failures

    with ThreadPoolExecutor(procs) as pool:
        failures = [f for fs in pool.map(worker, range(procs)) for f in fs]
    assert failures == [], f"{len(failures)} of {procs * per} adds failed: {failures[:3]}"
    ignored = set((repo.root / ".gitignore").read_text().splitlines())
    missing = [
        f"/data/p{p}/d{j}/"
        for p in range(procs)
        for j in range(per)
        if f"/data/p{p}/d{j}/" not in ignored
    ]
    assert missing == []
    repo.git("add", "-A")
    staged = repo.staged()
    assert [s for s in staged if s.startswith("data/")] == []
    assert len([s for s in staged if s.startswith(".artifacts/")]) == procs * per


# ---------------------------------------------------------------- point 11: add from inside


@pytest.fixture
def split(repo: GitRepo) -> GitRepo:
    """Artifact `bikes` at path `data/bikes` with folders train/ (3 files) and val/ (2)."""
    repo.write(
        {
            **{f"data/bikes/train/{i}.txt": f"t{i}\n" for i in range(3)},
            **{f"data/bikes/val/{i}.txt": f"v{i}\n" for i in range(2)},
        }
    )
    repo.ga("add", "data/bikes/train", "data/bikes/val", "--name", "bikes", "--type", "dataset")
    repo.commit("bikes v0")
    repo.ga("status")  # tags v0
    return repo


@pytest.mark.parametrize(
    ("cwd", "paths", "what"),
    [
        ("data/bikes/train", ["."], "would drop data/bikes/val (2 files)"),
        ("data", ["."], "would move it to data/"),
        ("data/bikes/train", ["0.txt", "1.txt"], "would move it to data/bikes/train/"),
        (".", ["data/bikes/train"], "would drop data/bikes/val (2 files)"),
        ("data/bikes", ["val"], "would drop data/bikes/train (3 files)"),
    ],
)
@pytest.mark.slow
def test_add_that_would_move_or_shrink_an_artifact_is_refused_without_force(
    split: GitRepo, cwd: str, paths: list[str], what: str
) -> None:
    before = split.snapshot()
    line = stderr_error_line(
        split.ga("add", *paths, "--name", "bikes", rc=None, cwd=split.root / cwd)
    )
    assert what in line and "--force" in line
    after = split.snapshot()
    for part in ("status", "index", "artifacts", "gitignore", "refs"):
        assert after[part] == before[part], part
    split.ga("add", *paths, "--name", "bikes", "--force", cwd=split.root / cwd)
    assert split.manifest_text("bikes").encode() != before["artifacts"]["bikes.yaml"]


@pytest.mark.slow
def test_re_adding_the_same_folders_or_more_needs_no_force(split: GitRepo) -> None:
    split.write({"data/bikes/test/0.txt": "x\n"})
    split.ga("add", "data/bikes/train", "data/bikes/val", "--name", "bikes", cwd=split.root)
    split.ga("add", "train", "val", "test", "--name", "bikes", cwd=split.root / "data" / "bikes")
    assert split.manifest("bikes")["files"] == 6
    split.ga("add", "--name", "bikes", cwd=split.root / "data" / "bikes" / "train")
    # The folder itself, named from inside it: the same entries, no move.
    split.ga("add", ".", "--name", "bikes", cwd=split.root / "data" / "bikes")
    assert split.manifest("bikes")["files"] == 6
