"""Versions and aliases as git tags, and resolving `name:spec`."""

from __future__ import annotations

import subprocess

import pytest
from helpers import GitRepo, age_files, bikes_files, stderr_error_line
from hypothesis import given, settings
from hypothesis import strategies as st

from gitartifacts.core import manifest as mf
from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel import refs
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import inspect as ops_inspect

ALLOWED = st.sampled_from(list("abcXYZ019_.-"))
ACCEPTED_NAMES = st.text(
    ALLOWED | st.sampled_from(["\n", "/", ":", " ", "ä", "@", "{"]), min_size=1, max_size=12
).filter(lambda s: _accepted(s))


def _accepted(name: str) -> bool:
    try:
        mf.validate_name(name)
    except GitArtifactsError:
        return False
    return True


# ---------------------------------------------------------------- tag grammar (pure)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,30}", fullmatch=True), st.integers(0, 10**6))
@pytest.mark.slow
def test_version_and_alias_refs_parse_back(name: str, n: int) -> None:
    if ".." not in name and not name.endswith((".", ".lock")):  # else escaped (test_ref_names)
        assert refs.version_ref(name, n) == f"refs/tags/artifacts/{name}/v{n}"
    assert refs.parse_ref(refs.version_ref(name, n)) == (name, f"v{n}")
    assert refs.parse_ref(refs.alias_ref(name, "best-ap50")) == (name, "best-ap50")


@pytest.mark.parametrize(
    "ref",
    ["refs/tags/v1", "refs/heads/artifacts/x/v1", "refs/tags/artifacts/", "refs/tags/artifacts/x"],
)
def test_refs_outside_the_grammar_are_not_artifact_tags(ref: str) -> None:
    assert refs.parse_ref(ref) is None


@settings(max_examples=40, deadline=None)
@given(ACCEPTED_NAMES)
def test_every_accepted_name_makes_a_valid_git_tag(name: str) -> None:
    for ref in (refs.version_ref(name, 3), refs.alias_ref(name, "latest")):
        proc = subprocess.run(["git", "check-ref-format", ref], capture_output=True, check=False)
        assert proc.returncode == 0, f"{ref!r} is not a valid git ref"


@pytest.mark.parametrize("alias", ["v0", "v1", "v12", "v01", "v007"])
def test_aliases_that_look_like_versions_are_refused(alias: str) -> None:
    with pytest.raises(GitArtifactsError):
        mf.validate_alias(alias)


@pytest.mark.parametrize("alias", ["best", "best-ap50", "production", "V1", "v1x", "x.v1"])
def test_ordinary_aliases_are_accepted(alias: str) -> None:
    assert mf.validate_alias(alias) == alias


@pytest.mark.parametrize("alias", ["a/b", "a:b", "bad alias", "", "-x", "best\n"])
def test_aliases_that_are_not_ref_components_are_refused(alias: str) -> None:
    with pytest.raises(GitArtifactsError):
        mf.validate_alias(alias)


# ---------------------------------------------------------------- version tags


@pytest.mark.slow
def test_plain_git_commit_gets_its_version_tag_on_the_next_command(repo: GitRepo) -> None:
    repo.write(bikes_files())
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset")
    assert repo.tags() == []
    head = repo.commit("bikes")
    repo.ga("ls")
    assert repo.tags() == ["artifacts/bikes/latest", "artifacts/bikes/v0"]
    assert repo.tag_commit("artifacts/bikes/v0") == head
    assert repo.tag_commit("artifacts/bikes/latest") == head


@pytest.mark.slow
def test_version_tag_is_on_the_first_commit_holding_the_digest(repo: GitRepo) -> None:
    repo.write(bikes_files())
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset")
    first = repo.commit("bikes v0")
    repo.write({"notes.txt": "unrelated"})
    repo.commit("unrelated", "notes.txt")
    repo.ga("add", "data/bikes", "--name", "bikes", "--description", "same bytes, new words")
    repo.commit("describe bikes")
    repo.ga("status")
    assert repo.tags() == ["artifacts/bikes/latest", "artifacts/bikes/v0"]
    assert repo.tag_commit("artifacts/bikes/v0") == first


@pytest.mark.slow
def test_re_adding_identical_content_says_unchanged_and_makes_no_version(bikes: GitRepo) -> None:
    before = bikes.git("for-each-ref", "refs/tags")
    out = bikes.ga("add", "data/bikes", "--name", "bikes").stdout
    assert "unchanged, still v0" in out
    out = bikes.ga("add", "--name", "bikes").stdout
    assert "unchanged, still v0" in out
    bikes.commit("nothing new")
    bikes.ga("ls")
    assert bikes.git("for-each-ref", "refs/tags") == before
    assert bikes.git("status", "--porcelain") == ""


@pytest.mark.slow
def test_changed_content_becomes_the_next_version_and_latest_moves(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img0.txt": "a new bike\n"})
    out = bikes.ga("add", "data/bikes", "--name", "bikes").stdout
    assert "v1" in out
    v1 = bikes.commit("bikes v1")
    bikes.ga("ls")
    assert "artifacts/bikes/v1" in bikes.tags()
    assert bikes.tag_commit("artifacts/bikes/v1") == v1
    assert bikes.tag_commit("artifacts/bikes/latest") == v1
    log = bikes.ga_json("log", "bikes")
    assert [r["version"] for r in log] == ["v1", "v0"]
    assert log[0]["aliases"] == ["latest"] and log[1]["aliases"] == []
    assert log[0]["commit"] == v1


@pytest.mark.slow
def test_metadata_only_change_makes_no_new_version(bikes: GitRepo) -> None:
    out = bikes.ga("add", "data/bikes", "--name", "bikes", "--metadata", "classes=12").stdout
    assert "unchanged, still v0" in out
    bikes.commit("metadata")
    bikes.ga("ls")
    assert "artifacts/bikes/v1" not in bikes.tags()
    shown = bikes.ga_json("show", "bikes:latest")
    assert shown["version"] == "v0"
    assert bikes.ga_json("show", "bikes")["metadata"] == {"classes": 12}


@pytest.mark.slow
def test_adding_the_content_of_an_old_version_reuses_its_number(bikes: GitRepo) -> None:
    v0 = bikes.tag_commit("artifacts/bikes/v0")
    bikes.write({"data/bikes/img0.txt": "changed\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes")
    bikes.commit("v1")
    bikes.write({"data/bikes/img0.txt": "bike 0\n"})
    out = bikes.ga("add", "data/bikes", "--name", "bikes").stdout
    assert "same content as v0" in out
    assert bikes.tag_commit("artifacts/bikes/latest") == v0
    bikes.commit("back to v0")
    bikes.ga("ls")
    assert "artifacts/bikes/v2" not in bikes.tags()
    assert bikes.ga_json("show", "bikes")["version"] == "v0"


@pytest.mark.slow
def test_two_artifacts_are_numbered_independently(repo: GitRepo) -> None:
    repo.write({"data/a/x.txt": "a", "models/m.pt": "m"})
    repo.ga("add", "data/a", "--name", "a", "--type", "dataset")
    repo.ga("add", "models/m.pt", "--name", "m", "--type", "model")
    repo.commit("both")
    repo.ga("ls")
    assert repo.tags() == [
        "artifacts/a/latest",
        "artifacts/a/v0",
        "artifacts/m/latest",
        "artifacts/m/v0",
    ]


# ---------------------------------------------------------------- aliases


@pytest.mark.slow
def test_alias_points_at_a_version_and_moves_on_re_alias(bikes: GitRepo) -> None:
    v0 = bikes.tag_commit("artifacts/bikes/v0")
    bikes.ga("alias", "bikes:v0", "production")
    assert bikes.tag_commit("artifacts/bikes/production") == v0
    bikes.write({"data/bikes/img1.txt": "v1\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes")
    v1 = bikes.commit("v1")
    bikes.ga("alias", "bikes:v1", "production")
    assert bikes.tag_commit("artifacts/bikes/production") == v1
    assert bikes.git("cat-file", "-t", "refs/tags/artifacts/bikes/production").strip() == "commit"
    assert bikes.ga_json("show", "bikes:production")["version"] == "v1"
    assert bikes.ga_json("show", "bikes:v0")["aliases"] == []


@pytest.mark.slow
def test_alias_delete_removes_the_tag_in_both_spellings(bikes: GitRepo) -> None:
    bikes.ga("alias", "bikes:v0", "best")
    bikes.ga("alias", "bikes:v0", "prod")
    bikes.ga("alias", "--delete", "bikes", "best")
    bikes.ga("alias", "--delete", "bikes:prod")
    assert bikes.tags() == ["artifacts/bikes/latest", "artifacts/bikes/v0"]


@pytest.mark.slow
def test_alias_given_to_add_is_set_once_the_version_is_committed(bikes: GitRepo) -> None:
    bikes.write({"data/bikes/img2.txt": "v1\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes", "--alias", "best-ap50")
    bikes.ga("alias", "bikes", "staging")  # the staged, not yet committed, version
    assert "artifacts/bikes/staging" not in bikes.tags()
    v1 = bikes.commit("v1")
    bikes.ga("ls")
    assert bikes.tag_commit("artifacts/bikes/best-ap50") == v1
    assert bikes.tag_commit("artifacts/bikes/staging") == v1
    assert bikes.ga_json("show", "bikes:best-ap50")["version"] == "v1"


def test_alias_given_to_add_of_an_existing_version_moves_at_once(bikes: GitRepo) -> None:
    bikes.ga("add", "data/bikes", "--name", "bikes", "--alias", "stable")
    assert bikes.tag_commit("artifacts/bikes/stable") == bikes.tag_commit("artifacts/bikes/v0")


@pytest.mark.parametrize("alias", ["v1", "v0", "v01"])
@pytest.mark.slow
def test_version_like_aliases_are_refused_by_the_cli(bikes: GitRepo, alias: str) -> None:
    before = bikes.git("for-each-ref")
    err = stderr_error_line(bikes.ga("alias", "bikes:v0", alias, rc=None))
    assert alias in err
    err = stderr_error_line(
        bikes.ga("add", "data/bikes", "--name", "bikes", "--alias", alias, rc=None)
    )
    assert alias in err
    assert bikes.git("for-each-ref") == before


@pytest.mark.slow
def test_latest_is_kept_by_the_tool_not_by_hand(bikes: GitRepo) -> None:
    v0 = bikes.tag_commit("artifacts/bikes/v0")
    bikes.write({"data/bikes/img0.txt": "changed\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes")
    assert bikes.tag_commit("artifacts/bikes/latest") == v0  # not committed yet
    v1 = bikes.commit("v1")
    bikes.ga("status")
    assert bikes.tag_commit("artifacts/bikes/latest") == v1


# ---------------------------------------------------------------- specs


@pytest.fixture
def two_versions(bikes: GitRepo) -> tuple[GitRepo, dict[str, str]]:
    """bikes v0 (alias `best`) and v1 (latest), with their digests and commits."""
    info = {"d0": bikes.manifest("bikes")["digest"], "c0": bikes.head()}
    bikes.ga("alias", "bikes:v0", "best")
    bikes.write({"data/bikes/img0.txt": "v1\n"})
    age_files(bikes.root / "data")
    bikes.ga("add", "data/bikes", "--name", "bikes")
    info["c1"] = bikes.commit("v1")
    info["d1"] = bikes.manifest("bikes")["digest"]
    bikes.ga("status")
    return bikes, info


@pytest.mark.slow
def test_every_spec_form_resolves_to_its_version(
    two_versions: tuple[GitRepo, dict[str, str]],
) -> None:
    repo, info = two_versions
    hex0 = info["d0"].removeprefix("sha256:")
    cases = {
        "bikes:v0": "v0",
        "bikes:v1": "v1",
        "bikes:latest": "v1",
        "bikes:best": "v0",
        f"bikes:{hex0[:8]}": "v0",
        f"bikes:{hex0}": "v0",
        f"bikes:{info['d1']}": "v1",
        f"bikes:{info['d1'][7:19]}": "v1",
        "HEAD~1:bikes": "v0",
        f"{info['c0']}:bikes": "v0",
        f"{info['c0'][:10]}:bikes": "v0",
        "main:bikes": "v1",
        "bikes": "v1",
    }
    project = Project.open(repo.root)
    try:
        for spec, version in cases.items():
            shown = ops_inspect.show(project, spec)
            assert shown["version"] == version, spec
            assert shown["digest"] == info["d0" if version == "v0" else "d1"], spec
    finally:
        project.close()
    # The command line parses the same spellings.
    for spec in ("bikes:best", f"bikes:{hex0[:8]}", "HEAD~1:bikes", "main:bikes"):
        shown = repo.ga_json("show", spec)
        assert shown["version"] == cases[spec], spec


@pytest.mark.slow
def test_a_digest_prefix_needs_at_least_8_hex_digits(
    two_versions: tuple[GitRepo, dict[str, str]],
) -> None:
    repo, info = two_versions
    err = stderr_error_line(repo.ga("show", "bikes:" + info["d0"][7:14], rc=None))
    assert "bikes" in err


@pytest.mark.parametrize(
    ("spec", "named"),
    [("bikes:v9", "v9"), ("bikes:nosuch", "nosuch"), ("nosuch:v0", "nosuch"), ("nosuch", "nosuch")],
)
def test_unknown_specs_fail_with_one_error_line(bikes: GitRepo, spec: str, named: str) -> None:
    err = stderr_error_line(bikes.ga("show", spec, rc=None))
    assert named in err


def test_unknown_version_error_lists_the_versions_that_exist(bikes: GitRepo) -> None:
    err = stderr_error_line(bikes.ga("show", "bikes:v9", rc=None))
    assert "v0" in err


# ---------------------------------------------------------------- types


def test_a_name_never_changes_type(bikes: GitRepo) -> None:
    err = stderr_error_line(
        bikes.ga("add", "data/bikes", "--name", "bikes", "--type", "model", rc=None)
    )
    assert "dataset" in err and "model" in err
    assert bikes.manifest("bikes")["type"] == "dataset"


def test_a_name_keeps_its_type_after_its_manifest_is_deleted(bikes: GitRepo) -> None:
    bikes.git("rm", "-q", ".artifacts/bikes.yaml")
    bikes.commit("drop bikes")
    err = stderr_error_line(
        bikes.ga("add", "data/bikes", "--name", "bikes", "--type", "model", rc=None)
    )
    assert "dataset" in err
    assert not (bikes.root / ".artifacts" / "bikes.yaml").exists()


def test_a_new_artifact_needs_a_type(repo: GitRepo) -> None:
    repo.write({"data/x/a.txt": "a"})
    err = stderr_error_line(repo.ga("add", "data/x", "--name", "x", rc=None))
    assert "--type" in err
    assert not (repo.root / ".artifacts" / "x.yaml").exists()
