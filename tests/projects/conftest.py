"""Repository A ("vision"), which publishes `bike-model` v0 and v1 to a bare origin and a
folder remote, and repository B, which will use it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from helpers import GitRepo, Template, clone, copy_repo


class Vision(NamedTuple):
    a: GitRepo  # the work tree that logged the versions
    origin: Path  # A's bare origin: the URL B adds
    store: Path  # A's folder remote


class World(NamedTuple):
    vision: Vision
    b: GitRepo  # a repository of its own, published to b_origin
    b_origin: Path


MODEL_V0 = b"weights zero\n"
MODEL_V1 = b"weights one, better\n"


def build_world(root: Path) -> World:
    """A (clone of A.git, folder remote `store`, bike-model v0 and v1 published) and B."""
    root.mkdir(parents=True, exist_ok=True)
    for bare in ("A.git", "B.git"):
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(root / bare)], check=True)
    a = clone(root / "A.git", root / "A")
    a.commit("initial")
    a.ga("init")
    (root / "store").mkdir()
    a.ga("remote", "add", "store", str(root / "store"), "--default")
    for data, message in ((MODEL_V0, "bike-model v0"), (MODEL_V1, "bike-model v1")):
        a.write({"model/bike.bin": data})
        a.ga("add", "model", "--name", "bike-model", "--type", "model")
        a.commit(message, ".")
    a.git("push", "-q", "origin", "main")
    a.ga("push")
    b = clone(root / "B.git", root / "B")
    b.commit("initial")
    b.ga("init")
    b.commit("init artifacts", ".")
    b.git("push", "-q", "origin", "main")
    return World(Vision(a, root / "A.git", root / "store"), b, root / "B.git")


@pytest.fixture
def world(tmp_path: Path, template: Template) -> World:
    """A, shared by the tests of a session (read only: a test that changes A builds its own
    with `build_world`), and a fresh copy of B and its origin."""
    src = template("projects-world", lambda root: build_world(root).b).parent
    b = copy_repo(src / "B", tmp_path / "B")
    copy_repo(src / "B.git", tmp_path / "B.git")
    b.git("remote", "set-url", "origin", str(tmp_path / "B.git"))
    a = GitRepo(src / "A")
    return World(Vision(a, src / "A.git", src / "store"), b, tmp_path / "B.git")
