"""Remote URLs and options: what a remote may name and hold, never a credential."""

from __future__ import annotations

import pytest

from gitartifacts.core.redaction import redact
from gitartifacts.errors import UsageError
from gitartifacts.remote.store import RemoteStore
from gitartifacts.remote.urls import parse_url


@pytest.mark.parametrize("name", ["secret", "key", "token", "aws_secret_access_key", "password"])
def test_options_never_hold_credentials(name: str) -> None:
    with pytest.raises(UsageError, match=name) as info:
        RemoteStore("s3://bucket/cache", {name: "hunter2-value"})
    assert "hunter2-value" not in str(info.value)


def test_gcs_token_may_name_a_login_method_but_not_hold_one() -> None:
    assert RemoteStore("gs://b/c", {"token": "anon"}).options == {"token": "anon"}
    with pytest.raises(UsageError):
        RemoteStore("gs://b/c", {"token": "ya29.secret"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/srv/cache/", ("file", "/srv/cache")),
        ("file:///srv/my%20cache", ("file", "/srv/my cache")),
        ("s3://bucket/team/cache/", ("s3", "bucket/team/cache")),
        ("gs://bucket", ("gs", "bucket")),
        ("gcs://bucket/x", ("gs", "bucket/x")),
        ("memory://cache", ("memory", "/cache")),
        ("https://host/cache/", ("https", "https://host/cache")),
    ],
)
def test_parse_url_names_protocol_and_root(url: str, expected: tuple[str, str]) -> None:
    assert parse_url(url) == expected


@pytest.mark.parametrize("url", ["relative/path", "s3://", "ftp://host/x", "file://relative"])
def test_parse_url_refuses_what_it_cannot_store_to(url: str) -> None:
    with pytest.raises(UsageError):
        parse_url(url)


def test_redact_removes_user_and_password() -> None:
    assert redact("https://bob:pa55@host:8080/cache") == "https://host:8080/cache"
    assert redact("s3://bucket/cache") == "s3://bucket/cache"
