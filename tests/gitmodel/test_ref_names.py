"""W&B names in refs: one reversible escaping of the '.'s git refuses, names valid before
unchanged, and components from a remote that encode no name ignored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import GitRepo, clone, make_repo
from hypothesis import given
from hypothesis import strategies as st

from gitartifacts.gitmodel import refs
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.versions import histories

REFUSED_BY_GIT = [".hidden", "a..b", "x.lock", "...", ".lock", "x..lock"]
# The grammar names had before: a letter or digit first, no '..', no '.' or '.lock' at the end.
OLD_NAME = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z").filter(
    lambda n: ".." not in n and not n.endswith((".", ".lock"))
)
WANDB_NAME = st.from_regex(r"\A[A-Za-z0-9_.-]{1,128}\Z").filter(lambda n: n not in (".", ".."))


def check_ref_format(ref: str) -> bool:
    return subprocess.run(["git", "check-ref-format", ref], check=False).returncode == 0


@pytest.mark.parametrize("name", REFUSED_BY_GIT)
def test_a_name_git_refuses_is_escaped_into_a_valid_ref_and_read_back(name: str) -> None:
    ref = refs.version_ref(name, 3)
    assert check_ref_format(ref)
    assert not check_ref_format(f"refs/tags/artifacts/{name}/v3")  # why it is escaped
    assert refs.parse_ref(ref) == (name, "v3")
    assert refs.parse_ref(refs.alias_ref(name, "best")) == (name, "best")


@pytest.mark.parametrize("name", ["-x", "_private", "--"])
def test_a_name_git_takes_is_its_own_component(name: str) -> None:
    assert refs.version_ref(name, 0) == f"refs/tags/artifacts/{name}/v0"
    assert check_ref_format(refs.version_ref(name, 0))


def test_a_trailing_dot_is_escaped_too() -> None:
    """Git takes `a./v0`, but Windows drops a file name's trailing dot: as loose ref files
    `a./v0` and `a/v0` would be one file."""
    assert refs.version_ref("a.", 0) == "refs/tags/artifacts/a%2E/v0"
    assert refs.parse_ref("refs/tags/artifacts/a%2E/v0") == ("a.", "v0")
    assert refs.parse_ref("refs/tags/artifacts/a./v0") is None


def test_the_escaping_of_each_refused_dot() -> None:
    assert refs.name_component(".hidden") == "%2Ehidden"
    assert refs.name_component("a..b") == "a.%2Eb"
    assert refs.name_component("a.") == "a%2E"
    assert refs.name_component("x.lock") == "x%2Elock"
    assert refs.name_component("-x") == "-x"
    assert refs.name_component("a.b.locked") == "a.b.locked"


@given(OLD_NAME, st.integers(0, 10**6))
def test_every_name_valid_before_is_its_own_ref_component(name: str, n: int) -> None:
    assert refs.version_ref(name, n) == f"refs/tags/artifacts/{name}/v{n}"
    assert refs.parse_ref(f"refs/tags/artifacts/{name}/v{n}") == (name, f"v{n}")


@given(WANDB_NAME)
def test_every_wandb_name_round_trips_through_its_component(name: str) -> None:
    component = refs.name_component(name)
    assert refs.parse_name_component(component) == name
    assert not component.startswith(".") and ".." not in component
    assert not component.endswith((".", ".lock"))


HOSTILE = ["%2E%2E", "%2E", "a%2Fb", "%41", "a%2Eb", "%2e%2e", "a%", "a%2", "..", ".x", "a b"]


@pytest.mark.parametrize("component", HOSTILE)
def test_a_component_that_encodes_no_name_canonically_is_no_artifact(component: str) -> None:
    assert refs.parse_name_component(component) is None
    assert refs.parse_ref(f"refs/tags/artifacts/{component}/v0") is None


def test_a_nested_component_is_no_artifact() -> None:
    assert refs.parse_ref("refs/tags/artifacts/a/b/v0") is None
    assert refs.parse_ref("refs/tags/artifacts/%2E%2E/%2E%2E/v0") is None


def test_refs_written_in_the_earlier_grammar_are_read_unchanged(bikes: GitRepo) -> None:
    """`bikes` as the earlier grammar wrote it: plain `refs/tags/artifacts/<name>/<label>`."""
    v0 = bikes.tag_commit("artifacts/bikes/v0")
    bikes.git("update-ref", "refs/tags/artifacts/bikes/best", v0)
    h = histories(Project.open(bikes.root))["bikes"]
    assert (h.versions, h.aliases["best"]) == ({0: v0}, v0)
    assert "v0" in bikes.ga("log", "bikes").stdout
    bikes.ga("alias", "bikes:v0", "prod")
    assert bikes.tag_commit("artifacts/bikes/prod") == v0


@pytest.mark.slow
def test_escaped_names_travel_through_a_remote_and_hostile_refs_are_ignored(
    tmp_path: Path, origin: Path
) -> None:
    seed = make_repo(tmp_path / "seed")
    seed.git("remote", "add", "origin", str(origin))
    seed.git("push", "-q", "origin", "main")
    a, b = clone(origin, tmp_path / "a"), clone(origin, tmp_path / "b")
    for r in (a, b):
        r.ga("init")
    a.write({"hidden/x.txt": "x"})
    a.ga("add", "hidden", "--name", ".hidden", "--type", "reference model")
    a.commit("hidden", ".artifacts", ".gitignore")
    a.ga("push")
    assert "refs/tags/artifacts/%2Ehidden/v0" in a.git("ls-remote", "origin")
    # Refs no version of the tool writes, pushed straight to the remote.
    commit = a.tag_commit("artifacts/%2Ehidden/v0")
    for bad in ("%2E%2E", "%41", "a%2Fb", "a%2Eb"):
        a.git("push", "-q", "origin", f"{commit}:refs/tags/artifacts/{bad}/v0")
    b.git("pull", "-q", "origin", "main")
    b.ga("fetch")
    listed = b.ga_json("ls")
    assert [row["name"] for row in listed] == [".hidden"]
    b.ga("get", ".hidden:v0", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "x.txt").read_text() == "x"
    assert not (tmp_path / "..").joinpath("v0").exists()
