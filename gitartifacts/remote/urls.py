"""Remote URLs and the one options-and-secrets policy: parse, check, name in messages.

A remote or reference names a place: an absolute folder, file://, s3://, gs:// (or gcs://),
http(s)://, memory://. Its options are the non-secret ones (endpoint_url, region, profile);
a credential in a URL or an option is refused, and every message names a location through
`redact`, so that no credential can reach a terminal or a log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from gitartifacts.core.redaction import credential_in_url, redact
from gitartifacts.errors import CacheError, GitArtifactsError, UsageError
from gitartifacts.settings import REMOTE_OPTIONS, Remote, s3_endpoint

SCHEMES = ("file", "s3", "gs", "gcs", "memory", "http", "https")
# Option names that hold secrets: they must come from the environment, never from config.
SECRET_OPTIONS = frozenset(
    {
        "key",
        "secret",
        "password",
        "username",
        "token",
        "session_token",
        "access_key",
        "secret_key",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "client_secret",
        "credentials",
    }
)
# The library each protocol needs and the extra that installs it.
EXTRAS = {
    "s3": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "http": ("aiohttp", "http"),
    "https": ("aiohttp", "http"),
}
GCS_TOKEN_METHODS = frozenset({"anon", "google_default", "cloud", "browser"})
_SECRET_RE = re.compile(r"(secret|password|token|credential|access_key|^key$)", re.I)
# Values of region and profile: plain names, never a place for a key.
_PLAIN_VALUE_RE = re.compile(r"^[A-Za-z0-9_.+@=,\-]{1,128}$")
_QUERY_RE = re.compile(r"\?\S*")
_CONNECTION_ERRORS = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ClientConnectorError",
        "ClientConnectionError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
        "FSTimeoutError",
    }
)
_AUTH_ERRORS = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "ProfileNotFound",
        "DefaultCredentialsError",
        "RefreshError",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "ExpiredToken",
    }
)


def parse_url(url: str) -> tuple[str, str]:
    """(protocol, root path as fsspec names it) of a remote URL or absolute path."""
    if url.startswith("/"):
        return "file", _strip_root(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise UsageError(
            f"unsupported remote URL {redact(url)!r}",
            "use an absolute path, file:///path, s3://bucket/prefix or gs://bucket/prefix",
        )
    if scheme == "file":
        path = unquote(urlsplit(url).path)
        if not path.startswith("/"):
            raise UsageError(
                f"remote URL {redact(url)!r} is not absolute", "write file:///abs/path"
            )
        return "file", _strip_root(path)
    if scheme in ("http", "https"):
        return scheme, url.rstrip("/")
    if scheme == "memory":
        return "memory", "/" + rest.strip("/")
    root = rest.strip("/")
    if not root or rest.startswith("/") or "@" in rest.partition("/")[0]:
        raise UsageError(
            f"remote URL {redact(url)!r} names no bucket", f"write {scheme}://bucket/prefix"
        )
    return ("gs" if scheme == "gcs" else scheme), root


def check_options(protocol: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The storage options, refusing any that would hold a credential."""
    opts = dict(options or {})
    for name, value in opts.items():
        if name.lower() not in SECRET_OPTIONS:
            continue
        if protocol == "gs" and name == "token" and value in GCS_TOKEN_METHODS:
            continue
        raise UsageError(
            f"remote option {name!r} would store a credential in configuration",
            "remove it; credentials come from the environment or the AWS/gcloud configuration",
        )
    return opts


def check_no_secrets(url: str, options: dict[str, str]) -> None:
    """Refuse a URL or option that would store a credential in configuration."""
    why = credential_in_url(url)
    if why is not None:
        raise UsageError(
            f"the remote URL carries a credential, as {why}",
            "credentials go in the environment or an AWS/GCP profile, never in configuration",
        )
    for key, value in options.items():
        if key not in REMOTE_OPTIONS or _SECRET_RE.search(key):
            raise UsageError(
                f"option {key!r} looks like a credential"
                if _SECRET_RE.search(key)
                else f"unknown remote option {key!r}",
                "use the environment or an AWS/GCP profile (--profile NAME) instead",
            )
        why = credential_in_url(value) if "://" in value else None
        if why is None and key != "endpoint_url" and not _PLAIN_VALUE_RE.match(value):
            why = "it is not a plain name"
        if why is None and redact(value) != value:
            why = "it holds a key-like string"
        if why is not None:
            raise UsageError(
                f"remote option {key.replace('_', '-')} carries a credential, as {why}",
                "credentials go in the environment or an AWS/GCP profile, never in configuration",
            )


def check_location(url: str, options: dict[str, str]) -> None:
    """Refuse a URL that names no place a remote can be: relative paths, unknown schemes,
    S3/GCS URLs without a bucket, query strings; and an endpoint that is not http(s)."""
    if "://" not in url and not os.path.isabs(url):
        raise UsageError(
            f"remote URL {redact(url)!r} is a relative path",
            f"write an absolute path, e.g. {os.path.abspath(url)}",
        )
    parse_url(url)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise UsageError(
            f"remote URL {redact(url)!r} has a query string or fragment",
            "a remote URL names a location only: scheme://bucket/prefix or a folder",
        )
    endpoint = options.get("endpoint_url")
    if endpoint is not None:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname or ep.query or ep.fragment:
            raise UsageError(
                f"endpoint URL {redact(endpoint)!r} is not an http(s) server address",
                "write it as http://host:port or https://host",
            )


def missing_extra(protocol: str, kind: str = "remotes") -> UsageError:
    """The error for a protocol whose client library is not installed: what to install."""
    library, extra = EXTRAS[protocol]
    return UsageError(
        f"{protocol}:// {kind} need {library}", f"pip install 'gitartifacts[{extra}]'"
    )


def folder_of(url: str) -> str | None:
    """The local folder a folder remote's URL names, else None."""
    protocol, root = parse_url(url)
    return root if protocol == "file" else None


def remote_id(remote: Remote) -> str:
    """A stable identity for local indexes of what a remote holds."""
    return remote.url.rstrip("/") + "|" + remote.options.get("endpoint_url", "")


def where(url: str, options: Mapping[str, Any]) -> str:
    """A remote as messages name it: its URL, and the server it is reached at, if named."""
    endpoint = options.get("endpoint_url") or (
        s3_endpoint(os.environ) if url.startswith("s3://") else None
    )
    host = urlsplit(str(endpoint)).netloc.rpartition("@")[2] if endpoint else ""
    return redact(f"{url} ({host})" if host else url)


def storage_error(
    exc: BaseException, url: str, kind: type[GitArtifactsError] = CacheError
) -> GitArtifactsError:
    """One line for a storage failure, naming the location and never a credential."""
    where = redact(url)
    if _is_auth_error(exc):
        return kind(
            f"access to {where} was denied",
            "check the credentials for it (environment variables, AWS profile or gcloud login)",
        )
    if is_connection_error(exc):
        return kind(
            f"cannot reach {where}",
            "check the endpoint URL and the network, and that the server is running",
        )
    if isinstance(exc, FileNotFoundError):
        return kind(f"{where} does not exist", "check the URL and that the bucket exists")
    return kind(f"storage error at {where}: {_describe(exc)}", "retry, or check the location")


def is_connection_error(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception that caused it, is a failure to reach a server."""
    while exc is not None:
        if isinstance(exc, ConnectionError | TimeoutError):
            return True
        if any(cls.__name__ in _CONNECTION_ERRORS for cls in type(exc).__mro__):
            return True
        exc = exc.__cause__
    return False


def _describe(exc: BaseException) -> str:
    # Query strings may carry signatures or tokens: keep them out of messages.
    text = _QUERY_RE.sub("", str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    return redact(f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__)


def _strip_root(path: str) -> str:
    return path.rstrip("/") or "/"


def _is_auth_error(exc: BaseException) -> bool:
    if isinstance(exc, PermissionError):
        return True
    if any(cls.__name__ in _AUTH_ERRORS for cls in type(exc).__mro__):
        return True
    # gcsfs reports HTTP 401/403 as a plain OSError or HttpError.
    text = str(exc)
    return text.startswith("Forbidden") or getattr(exc, "code", None) in (401, 403)
