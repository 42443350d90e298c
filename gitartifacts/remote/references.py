"""External references: entries that record where an object lives instead of its bytes.

`resolve` turns a URI into entries (a prefix or a folder expands to one entry per object),
each with the digest its source can vouch for: the S3 ETag (`etag:`), the GCS md5 (`md5:`),
the HTTP ETag, the sha256 of a local file, or the URI itself (`uri:`) when checksumming is
off. `fetch` downloads one entry and refuses content that no longer matches it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from gitartifacts.core.manifest import Entry, validate_entry_path
from gitartifacts.core.redaction import credential_in_url, redact
from gitartifacts.errors import GitArtifactsError, NotFoundError, UsageError
from gitartifacts.remote.sources import (
    FETCHERS,
    Check,
    fetch_http,
    resolve_file,
    resolve_gs,
    resolve_http,
    resolve_s3,
    scheme_of,
    single_name,
)
from gitartifacts.remote.urls import check_options, is_connection_error, storage_error

DEFAULT_MAX_OBJECTS = 10_000_000


def resolve(
    uri: str,
    name: str | None = None,
    checksum: bool = True,
    max_objects: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Entry]:
    """Entries (path -> Entry) for what `uri` names, sorted by path.

    A single object becomes one entry named `name` or its base name; a prefix or folder
    expands to its objects, named relative to it under `name`. More than `max_objects`
    objects is an error, never a silent truncation.
    """
    scheme = scheme_of(uri)
    why = credential_in_url(uri)
    if why is not None:
        # The URI is recorded in a committed manifest: a credential in it would be published.
        raise UsageError(
            f"reference {redact(uri)} carries a credential, as {why}",
            "credentials come from the environment or an AWS/GCP profile, never from the URI",
        )
    limit = DEFAULT_MAX_OBJECTS if max_objects is None else max_objects
    opts = check_options(scheme, options)
    with _errors(uri):
        if scheme == "file":
            found = resolve_file(uri, name, checksum, limit)
        elif not checksum:
            found = {single_name(uri, name): Entry(f"uri:{uri}", 0, ref=uri)}
        elif scheme == "s3":
            found = resolve_s3(uri, name, limit, opts)
        elif scheme == "gs":
            found = resolve_gs(uri, name, limit, opts)
        else:
            found = resolve_http(uri, name, opts)
    for path in found:
        validate_entry_path(path)
    return dict(sorted(found.items(), key=lambda item: item[0].encode()))


def fetch(
    entry_path: str,
    entry: Entry,
    dest: str,
    allow_changed: bool = False,
    options: Mapping[str, Any] | None = None,
) -> None:
    """Download a reference entry to `dest`, which appears only once it is complete.

    The source must still hold what the entry recorded (an S3 version or GCS generation is
    fetched exactly); otherwise ConflictError names the entry, unless `allow_changed`.
    """
    if not entry.ref:
        raise UsageError(f"entry {entry_path} is not a reference", "fetch it from the cache")
    scheme = scheme_of(entry.ref)
    opts = check_options(scheme, options)
    check = Check(entry_path, entry, allow_changed)
    fetcher = FETCHERS.get(scheme, fetch_http)
    with _temporary_beside(dest) as tmp:
        with _errors(entry.ref, entry_path):
            fetcher(entry.ref, check, tmp, opts)
        check.size(os.path.getsize(tmp))
        os.replace(tmp, dest)


@contextlib.contextmanager
def _temporary_beside(dest: str) -> Iterator[str]:
    """A temporary path in dest's folder (so the final rename is atomic), removed on failure."""
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".ga-tmp-{uuid.uuid4().hex}")
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def _errors(uri: str, entry_path: str | None = None) -> Iterator[None]:
    """A missing source becomes NotFoundError; access and network failures one line each."""
    try:
        yield
    except GitArtifactsError:
        raise
    except FileNotFoundError as exc:
        if is_connection_error(exc):  # fsspec's HTTP file system reports it as not found
            raise storage_error(exc, uri, GitArtifactsError) from exc
        where = redact(uri)
        what = f"reference {entry_path}: {where}" if entry_path else f"reference {where}"
        raise NotFoundError(
            f"{what} does not exist",
            "check the URI" if entry_path is None else "restore it at its source",
        ) from exc
    except Exception as exc:
        raise storage_error(exc, uri, GitArtifactsError) from exc
