"""The direct S3 path: where it applies, and that it signs as botocore does."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("root", "options", "env", "applies"),
    [
        ("bucket/cache", {"endpoint_url": "http://127.0.0.1:9"}, {}, True),
        ("bucket", {}, {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}, True),
        ("bucket/cache", {}, {}, False),  # AWS itself: s3fs finds the region and style
        ("bucket/cache", {"endpoint_url": "http://x", "s3_additional_kwargs": {}}, {}, False),
        ("Bucket_Name/cache", {"endpoint_url": "http://127.0.0.1:9"}, {}, False),
        ("bucket/a b", {"endpoint_url": "http://127.0.0.1:9"}, {}, False),
        ("bucket", {"endpoint_url": "http://x"}, {"GITARTIFACTS_S3_DIRECT": "0"}, False),
    ],
)
def test_s3_direct_path_applies_only_where_requests_stay_the_same(
    root: str,
    options: dict[str, Any],
    env: dict[str, str],
    applies: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gitartifacts.remote.s3direct import S3Direct

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "GITARTIFACTS_S3_DIRECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    direct = S3Direct.create(root, options)
    assert (direct is not None) == applies
    if direct is not None:
        assert direct.url("sha256:" + "ab" * 32).endswith(
            "/bucket" + root[6:] + "/sha256/ab/" + "ab" * 31
        )


@pytest.mark.parametrize(
    ("method", "url", "body", "token"),
    [
        ("PUT", "http://127.0.0.1:9000/bucket/cache/sha256/ab/cdef", b"object bytes", None),
        ("PUT", "https://s3.example.com/bucket/sha256/01/23", b"", "session-token/+="),
        ("GET", "https://s3.example.com:8443/bucket/a/b/sha256/ff/00", b"", None),
    ],
)
def test_s3_direct_signature_is_the_one_botocore_computes(
    method: str, url: str, body: bytes, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt
    from urllib.parse import urlsplit

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from gitartifacts.remote.s3direct import Signer, _host

    now = dt.datetime(2026, 11, 21, 23, 59, 58, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    creds = Credentials("AKIDEXAMPLE", "wJalr/XUtnFEMI+K7MDENG", token=token)
    extra = {"if-none-match": "*"} if method == "PUT" else {}
    theirs = AWSRequest(method=method, url=url, data=body, headers=dict(extra))
    botocore.auth.S3SigV4Auth(creds, "s3", "eu-west-1").add_auth(theirs)

    parts = urlsplit(url)
    signer = Signer(creds, "eu-west-1", _host(parts))
    ours = signer.headers(method, parts.path, hashlib.sha256(body).hexdigest(), extra, now)
    assert ours["authorization"] == theirs.headers["Authorization"]
    assert ours["x-amz-date"] == theirs.headers["X-Amz-Date"]
    assert ours.get("x-amz-security-token") == token
    # The derived key is reused within the day and renewed on the next one.
    signer.headers(method, parts.path, "0" * 64, extra, now + dt.timedelta(seconds=1))
    assert list(signer._keys) == [(creds.secret_key, "20261121")]
    signer.headers(method, parts.path, "0" * 64, extra, now + dt.timedelta(seconds=1))
    signer.headers(method, parts.path, "0" * 64, extra, now + dt.timedelta(days=1))
    assert list(signer._keys) == [(creds.secret_key, "20261122")]
