"""Fixtures: an isolated git environment and real repositories in temporary folders.

Building a repository takes several `git artifacts` runs, so each worker builds every kind
once (a template) and each test gets its own full copy of it (work tree and .git alike).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import (
    VENV_BIN,
    Builder,
    GitRepo,
    Template,
    build_bikes,
    build_repo,
    copy_repo,
)

pytest_plugins = ["servers"]  # real S3, GCS and HTTP servers on 127.0.0.1


def _set_git_env(mp: pytest.MonkeyPatch, home: Path) -> None:
    gitconfig = home / "gitconfig"
    gitconfig.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        mp.setenv(f"GIT_{who}_NAME", "Test Engineer")
        mp.setenv(f"GIT_{who}_EMAIL", "test@example.com")
    for var in ("GITARTIFACTS_CACHE", "GITARTIFACTS_DIR", "GIT_DIR", "GIT_WORK_TREE"):
        mp.delenv(var, raising=False)
    mp.setenv("PATH", str(VENV_BIN) + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture(autouse=True)
def git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate git from the machine's configuration; put this venv's `git-artifacts` first."""
    _set_git_env(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    """`template(key, builder)`: a repository built once per worker, to be copied."""
    built: dict[str, Path] = {}
    mp = pytest.MonkeyPatch()
    _set_git_env(mp, tmp_path_factory.mktemp("template-home"))

    def get(key: str, builder: Builder) -> Path:
        if key not in built:
            built[key] = builder(tmp_path_factory.mktemp("template") / key).root
        return built[key]

    yield get
    mp.undo()


@pytest.fixture
def repo(tmp_path: Path, template: Template) -> GitRepo:
    """A git repository with `git artifacts init` done and committed."""
    return copy_repo(template("repo", build_repo), tmp_path / "repo")


@pytest.fixture
def bikes(tmp_path: Path, template: Template) -> GitRepo:
    """A repository with artifact `bikes` (path `data`, entries `bikes/...`: the earlier layout)
    committed as v0."""
    return copy_repo(template("bikes", build_bikes), tmp_path / "repo")


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """An empty bare repository to clone and push to."""
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    return bare
