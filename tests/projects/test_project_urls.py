"""The pure rules of source projects: URL checks, spec forms, the URL's owner."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import projects
from gitartifacts.gitmodel.projects import SourceProject


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://user@example.com/acme/vision.git", "https://example.com/acme/vision.git"),
        ("ssh://git@example.com/acme/vision.git", "ssh://git@example.com/acme/vision.git"),
        ("git@example.com:acme/vision.git", "git@example.com:acme/vision.git"),
        ("/abs/vision.git", "/abs/vision.git"),
        ("../vision.git", "/repo/vision.git"),
    ],
)
def test_urls_keep_no_secret_and_paths_become_absolute(url: str, kept: str) -> None:
    assert projects.check_url(url, Path("/repo/b")) == kept


@pytest.mark.parametrize(
    "url",
    [
        "https://bob:hunter2@example.com/x.git",
        "ext::sh -c touch% /tmp/x",
        "-uupload-pack=touch /tmp/x",
        "fd::3",
        "ftp://example.com/x.git",
        "",
        "/path/with\nnewline",
    ],
)
def test_urls_that_hold_a_password_or_run_a_command_are_refused(url: str) -> None:
    with pytest.raises(UsageError) as info:
        projects.check_url(url, Path("/repo"))
    assert "hunter2" not in str(info.value)


def test_the_entity_must_be_the_urls_owner_when_it_has_one() -> None:
    hosted = SourceProject("vision", "git@example.com:acme/vision.git")
    projects.check_entity("acme", hosted)
    with pytest.raises(UsageError, match="belongs to acme"):
        projects.check_entity("someone", hosted)
    projects.check_entity("anyone", SourceProject("vision", "/srv/vision.git"))
    projects.check_entity("anyone", SourceProject("vision", "file:///srv/acme/vision.git"))


def test_specs_of_this_repository_are_not_project_specs(tmp_path: Path) -> None:
    (tmp_path / ".gitartifacts.yaml").write_text("projects:\n  vision:\n    url: /srv/v.git\n")
    for spec in ("bike-model:v0", "registry/models:v1", "origin/main:bike-model", "x"):
        assert projects.parse_spec(tmp_path, spec) is None
    found = projects.parse_spec(tmp_path, "vision/bike-model")
    assert found is not None and found.spec == "bike-model:latest" and found.prefix == "vision/"
    by_url = projects.parse_spec(tmp_path, "/srv/v.git#bike-model:v1")
    assert by_url is not None and by_url.project == SourceProject("/srv/v.git", "/srv/v.git")
    assert by_url.spec == "bike-model:v1" and by_url.prefix == "/srv/v.git#"


def test_a_bad_projects_section_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".gitartifacts.yaml").write_text("projects:\n  ../x:\n    url: /srv/v.git\n")
    with pytest.raises(UsageError):
        projects.parse_spec(tmp_path, "../x/bike-model:v0")
