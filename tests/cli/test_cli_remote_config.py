"""remote add/default/modify like git and DVC, and a missing client library named with the
extra that installs it: the real `git artifacts` command in real repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from helpers import GitRepo, ga_run, stderr_error_line

CONFIG = ".gitartifacts.yaml"


def committed(repo: GitRepo) -> dict[str, object]:
    doc = yaml.safe_load((repo.root / CONFIG).read_text())
    assert isinstance(doc, dict)
    return doc


def remotes(repo: GitRepo) -> dict[str, dict[str, object]]:
    return {r["name"]: r for r in repo.ga_json("remote", "list")}


@pytest.fixture
def two(repo: GitRepo, tmp_path: Path) -> GitRepo:
    """A repository with committed remotes `a` (a folder) and `s3` (an S3 bucket)."""
    repo.ga("remote", "add", "a", str(tmp_path / "a"), "--create")
    repo.ga("remote", "add", "s3", "s3://bucket/prefix", "--endpoint-url", "http://127.0.0.1:9")
    return repo


def test_remote_add_refuses_an_existing_name_and_force_replaces_it(
    two: GitRepo, tmp_path: Path
) -> None:
    before = (two.root / CONFIG).read_bytes()
    line = stderr_error_line(two.ga("remote", "add", "a", str(tmp_path), rc=2))
    assert line == (
        f"error: remote 'a' already exists, at {tmp_path / 'a'} "
        "(pass --force to replace it, or git artifacts remote remove a)"
    )
    assert (two.root / CONFIG).read_bytes() == before
    two.ga("remote", "add", "a", str(tmp_path), "--force")
    assert remotes(two)["a"]["url"] == str(tmp_path)


@pytest.mark.slow
def test_remote_default_sets_prints_and_unsets_the_committed_default(two: GitRepo) -> None:
    assert two.ga("remote", "default").stdout == "no default remote\n"
    assert two.ga("remote", "default", "s3").stdout == "default remote: s3 in .gitartifacts.yaml\n"
    assert committed(two)["default_remote"] == "s3"
    assert two.ga("remote", "default").stdout == "s3\t.gitartifacts.yaml\n"
    assert [r["name"] for r in remotes(two).values() if r["default"]] == ["s3"]
    two.ga("remote", "default", "--unset")
    assert "default_remote" not in committed(two)
    line = stderr_error_line(two.ga("remote", "default", "nope", rc=3))
    assert line == "error: no remote named 'nope' (see git artifacts remote list)"


@pytest.mark.slow
def test_a_local_default_wins_in_this_clone_only_and_is_said_to(
    two: GitRepo, tmp_path: Path
) -> None:
    two.ga("remote", "add", "mine", str(tmp_path / "mine"), "--local", "--create")
    line = stderr_error_line(two.ga("remote", "default", "mine", rc=2))
    assert "remote 'mine' is only in this clone's git config (pass --local" in line
    assert "default_remote" not in committed(two)
    out = two.ga("remote", "default", "mine", "--local").stdout
    assert out == "default remote: mine in git config (this clone)\n"
    assert two.git("config", "artifacts.defaultremote").strip() == "mine"
    out = two.ga("remote", "default", "a").stdout
    assert "note: this clone's git config keeps mine the default here" in out
    assert committed(two)["default_remote"] == "a"
    two.ga("remote", "default", "--local", "--unset")
    assert two.ga("remote", "default").stdout == "a\t.gitartifacts.yaml\n"


@pytest.mark.slow
def test_remote_modify_sets_and_unsets_options_in_the_committed_file(two: GitRepo) -> None:
    out = two.ga("remote", "modify", "s3", "region", "eu-west-1").stdout
    assert out == "remote s3: region = eu-west-1 in .gitartifacts.yaml (commit it)\n"
    two.ga("remote", "modify", "s3", "endpoint-url", "https://s3.example.com")
    spec = committed(two)["remotes"]["s3"]  # type: ignore[index]
    assert spec == {
        "url": "s3://bucket/prefix",
        "endpoint_url": "https://s3.example.com",
        "region": "eu-west-1",
    }
    assert CONFIG in two.staged()
    two.ga("remote", "modify", "s3", "region", "--unset")
    assert "region" not in committed(two)["remotes"]["s3"]  # type: ignore[operator,index]
    line = stderr_error_line(two.ga("remote", "modify", "s3", "region", "--unset", rc=2))
    assert line == (
        "error: remote 's3' has no region in .gitartifacts.yaml (see git artifacts remote list)"
    )


@pytest.mark.slow
def test_remote_modify_local_writes_git_config_and_wins_over_the_committed_file(
    two: GitRepo,
) -> None:
    before = (two.root / CONFIG).read_bytes()
    two.ga("remote", "modify", "s3", "endpoint_url", "http://10.0.0.1:9000", "--local")
    two.ga("remote", "modify", "s3", "profile", "lab", "--local")
    assert (two.root / CONFIG).read_bytes() == before
    assert two.git("config", "artifacts.remote.s3.endpointurl").strip() == "http://10.0.0.1:9000"
    assert remotes(two)["s3"]["options"] == {
        "endpoint_url": "http://10.0.0.1:9000",
        "profile": "lab",
    }
    two.ga("remote", "modify", "s3", "endpoint_url", "--unset", "--local")
    assert remotes(two)["s3"]["options"] == {"endpoint_url": "http://127.0.0.1:9", "profile": "lab"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["s3", "secret_key", "abc"],
            "error: option 'secret_key' is a credential and is never stored in configuration "
            "(credentials come from the environment or an AWS/GCP profile: set option profile)",
        ),
        (
            ["s3", "aws_access_key_id", "AKIA", "--local"],
            "error: option 'aws_access_key_id' is a credential and is never stored",
        ),
        (
            ["s3", "colour", "red"],
            "error: unknown remote option 'colour' (use one of: url, endpoint_url, region, "
            "profile)",
        ),
        (["s3", "url", "relative/place"], "error: remote URL 'relative/place' is a relative path"),
        (["s3", "endpoint_url", "ftp://host"], "is not an http(s) server address"),
        (["s3", "profile", "AKIAIOSFODNN7EXAMPLE/x"], "carries a credential"),
        (["s3", "url", "--unset"], "error: a remote cannot be without a URL"),
        (["s3", "region"], "error: no value for option region (give a VALUE)"),
        (["nope", "region", "x"], "error: no remote named 'nope'"),
    ],
)
def test_remote_modify_refuses_bad_input_in_one_line_and_writes_nothing(
    two: GitRepo, args: list[str], expected: str
) -> None:
    before = two.snapshot()
    config = two.git("config", "--local", "-l")
    # A remote that does not exist is "not found" (3); every other refusal is usage (2).
    line = stderr_error_line(two.ga("remote", "modify", *args, rc=3 if args[0] == "nope" else 2))
    assert line.startswith(expected) or expected in line, line
    assert "abc" not in line and "AKIAIOSFODNN7EXAMPLE" not in line
    assert two.snapshot() == before
    assert two.git("config", "--local", "-l") == config


@pytest.mark.slow
def test_remote_modify_of_a_local_remote_needs_local(two: GitRepo, tmp_path: Path) -> None:
    two.ga("remote", "add", "mine", str(tmp_path / "mine"), "--local", "--create")
    line = stderr_error_line(two.ga("remote", "modify", "mine", "url", str(tmp_path), rc=2))
    assert line == (
        "error: remote 'mine' is only in this clone's git config (pass --local to change it there)"
    )
    two.ga("remote", "modify", "mine", "url", str(tmp_path), "--local")
    assert remotes(two)["mine"]["url"] == str(tmp_path)


# ---------------------------------------------------------------- a missing extra


@pytest.fixture
def without_clients(tmp_path: Path) -> dict[str, str]:
    """An environment in which importing s3fs, gcsfs or aiohttp fails, as in an install
    without the extras."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import sys\nfor name in ('s3fs', 'gcsfs', 'aiohttp'):\n    sys.modules[name] = None\n"
    )
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": f"{shim}{os.pathsep}{path}" if path else str(shim)}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/prefix", "error: s3:// remotes need s3fs (pip install 'gitartifacts[s3]')"),
        ("gs://bucket/prefix", "error: gs:// remotes need gcsfs (pip install 'gitartifacts[gcs]')"),
        (
            "https://example.com/cache",
            "error: https:// remotes need aiohttp (pip install 'gitartifacts[http]')",
        ),
    ],
)
def test_a_missing_client_library_names_the_extra_to_install(
    bikes: GitRepo, without_clients: dict[str, str], url: str, expected: str
) -> None:
    bikes.ga("remote", "add", "r", url, "--default")
    proc = ga_run(bikes, "validate", "--pushed", env=without_clients)
    assert stderr_error_line(proc) == expected
    assert proc.returncode == 2
